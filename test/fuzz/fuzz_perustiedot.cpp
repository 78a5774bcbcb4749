// libFuzzer target: JsonDecoder::decode_perustiedot (a POST /perustiedot page), with the
// properties of fuzz_json.hpp, and: one person per element of "perustiedot", each row carrying
// its person's hetu, ajanTasalla as sent (true when missing).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_json.hpp"

namespace {

const std::string kPrevious =
    R"({"perustiedot":[{"henkilotunnus":"010101-999R","tietoryhmat":[{"tietoryhma":"TURVAKIELTO",)"
    R"("turvakieltoAktiivinen":true},{"tietoryhma":"KOTIKUNTA","turvakiellonAlaisetKentat":["kuntakoodi","kuntaanMuuttopv"]},)"
    R"({"tietoryhma":"HENKILON_NIMI","etunimet":"\u00c5sa \\ \/","sukunimi":"M\u00e4ki","alkupv":"2001-02-03"}]},)"
    R"({"henkilotunnus":"020202A999K","tietoryhmat":[]}],"ajanTasalla":true})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using Page = vtj::PerustiedotPage;
    const auto ref = fuzz::fuzz_page<Page>(
        data, size, kPrevious,
        [](vtj::JsonDecoder &d, std::string &body, Page &page, bool tokens) {
            d.decode_perustiedot(body, page, "POST /perustiedot", tokens);
        },
        [](const std::string &, const Page &page) {
            FUZZ_CHECK(page.person_hetus.size() == page.persons);
            for (const vtj::GroupRow &r : page.rows) {
                FUZZ_CHECK(r.record_index < page.persons);
                FUZZ_CHECK(r.hetu == page.person_hetus[r.record_index]);
                FUZZ_CHECK(!r.has_muutospv);
            }
        });
    if (ref.empty())
        return 0;
    using K = vtj::JsonToken::Kind;
    std::string body(reinterpret_cast<const char *>(data), size);
    vtj::JsonDecoder decoder;
    Page page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot");
    int lists = 0, flags = 0;
    for (const auto &m : fuzz::top_members(ref)) {
        const fuzz::RefToken &v = ref[m.second];
        if (m.first == "ajanTasalla") {
            ++flags;
            FUZZ_CHECK((v.kind == K::True || v.kind == K::False) && page.ajan_tasalla == (v.kind == K::True));
        } else if (m.first == "perustiedot") {
            ++lists;
            FUZZ_CHECK(v.kind == K::BeginArray);
        }
    }
    FUZZ_CHECK(lists == 1 && flags <= 1);
    if (flags == 0)
        FUZZ_CHECK(page.ajan_tasalla);
    return 0;
}
