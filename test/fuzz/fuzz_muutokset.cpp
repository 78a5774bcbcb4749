// libFuzzer target: JsonDecoder::decode_muutokset (a POST /muutokset page), with the
// properties of fuzz_json.hpp, and the page's top level against the reference reading:
// viimeisinKirjausavain and ajanTasalla as sent, one record per element of "muutokset".
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_json.hpp"

namespace {

// A page decoded into the page object first, so that the input's decode reuses its storage.
const std::string kPrevious =
    R"({"viimeisinKirjausavain":5446600123,"muutokset":[{"henkilotunnus":"010101-999R","muutospv":"2026-01-02T10:00:00.000Z",)"
    R"("tietoryhmat":[{"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","muutosattribuutti":"MUUTETTU","turvakiellonAlaisetKentat":)"
    R"(["katunimi","postinumero","postitoimipaikka","rakennusnumero"]},{"tietoryhma":"HENKILON_NIMI","muutosattribuutti":"LISATTY",)"
    R"("etunimet":"\u00c4yli \"A\"","alkupv":{"arvo":"1990-05","tarkkuus":"KUUKAUSI"}}]}],"ajanTasalla":false})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using Page = vtj::MuutoksetPage;
    const auto ref = fuzz::fuzz_page<Page>(
        data, size, kPrevious,
        [](vtj::JsonDecoder &d, std::string &body, Page &page, bool tokens) {
            d.decode_muutokset(body, page, "POST /muutokset", tokens);
        },
        [](const std::string &, const Page &page) {
            for (const vtj::GroupRow &r : page.rows)
                FUZZ_CHECK(r.record_index < page.records);
        });
    if (ref.empty())
        return 0;
    // The top level as the reference reads it (each key is there exactly once, or the page was
    // refused).
    using K = vtj::JsonToken::Kind;
    std::string body(reinterpret_cast<const char *>(data), size);
    vtj::JsonDecoder decoder;
    Page page;
    decoder.decode_muutokset(body, page, "POST /muutokset");
    int bookmarks = 0, lists = 0, flags = 0;
    for (const auto &m : fuzz::top_members(ref)) {
        const fuzz::RefToken &v = ref[m.second];
        if (m.first == "viimeisinKirjausavain") {
            ++bookmarks;
            long long n = 0;
            FUZZ_CHECK(fuzz::int64_literal(v, n) && n == page.bookmark);
        } else if (m.first == "ajanTasalla") {
            ++flags;
            FUZZ_CHECK((v.kind == K::True || v.kind == K::False) && page.ajan_tasalla == (v.kind == K::True));
        } else if (m.first == "muutokset") {
            ++lists;
            FUZZ_CHECK(v.kind == K::BeginArray);
            // Elements of the array: count the values at its first level.
            std::size_t records = 0;
            long depth = 0;
            for (std::size_t i = m.second; i < ref.size(); ++i) {
                const K k = ref[i].kind;
                if (depth == 1 && k != K::EndArray)
                    records += k == K::BeginObject;
                if (k == K::BeginObject || k == K::BeginArray)
                    ++depth;
                else if (k == K::EndObject || k == K::EndArray)
                    --depth;
                if (depth == 0)
                    break;
            }
            FUZZ_CHECK(records == page.records);
        }
    }
    FUZZ_CHECK(bookmarks == 1 && lists == 1 && flags == 1);
    return 0;
}
