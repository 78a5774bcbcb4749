// libFuzzer target: the scan of core/scan.cpp (batching, paging, the hetu recheck, record rows
// with tokens and the grouped basic-data rows) over answers the input supplies. Scan needs an
// HttpClient; this target links fake_http.cpp in place of the libcurl one, which answers each
// request with the next page of the input, so the scan runs without any HTTP.
//
// Input: one flag byte, then the answer bodies separated by NUL bytes (JSON has none).
//   bit 0 /muutokset (else /perustiedot)   bit 1 grouped (perustiedot)   bit 2 with tokens
//   bits 3-4 batch size 1, 2, 3, 1000      bit 5 ask for every other hetu found only
//   bit 6 a group filter                   bit 7 muutokset: an upper bound; else a second filter
// The hetus asked for are those the answers hold (found by decoding them), so rows survive the
// recheck; bit 5 makes some answers carry persons that were not asked for.
//
// Properties: only vtj::Error escapes; every row is of a hetu asked for, of the batch's page;
// jarjestys counts up by one; a record row's tokens are one object matching its raw text; a
// grouped row's tiedot is an array of objects without change keys, valid JSON when written out,
// its censored flag and fields agree, its group passes every filter, a person's rows are
// together with strictly increasing groups and the same person-level facts; requests are JSON.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json_tokens.hpp"
#include "core/scan.hpp"
#include "fake_http.hpp"
#include "fuzz_json.hpp"

namespace {

using K = vtj::JsonToken::Kind;

void check_tiedot(const std::vector<vtj::JsonToken> &t)
{
    FUZZ_CHECK(t.size() >= 2 && t.front().kind == K::BeginArray && t.back().kind == K::EndArray);
    FUZZ_CHECK(fuzz::balanced_value(t.data(), t.data() + t.size()));
    std::vector<fuzz::RefToken> back;
    FUZZ_CHECK(fuzz::RefJson::read(vtj::tokens_to_json(t.data(), t.data() + t.size()), &back));
    FUZZ_CHECK(back == fuzz::as_ref(t.data(), t.data() + t.size()));
    long depth = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (depth == 1 && t[i].kind != K::EndArray)
            FUZZ_CHECK(t[i].kind == K::BeginObject);  // elements are objects
        if (depth == 2 && t[i].kind == K::Key)
            FUZZ_CHECK(t[i].text != "muutosattribuutti" && t[i].text != "voimassaolevatTiedot");
        if (t[i].kind == K::BeginObject || t[i].kind == K::BeginArray)
            ++depth;
        else if (t[i].kind == K::EndObject || t[i].kind == K::EndArray)
            --depth;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::uint8_t flags = data[0];
    std::vector<std::string> pages;
    {
        const std::string rest(reinterpret_cast<const char *>(data) + 1, size - 1);
        std::size_t from = 0;
        while (pages.size() < 8) {
            const std::size_t nul = rest.find('\0', from);
            pages.push_back(rest.substr(from, nul == std::string::npos ? std::string::npos : nul - from));
            if (nul == std::string::npos)
                break;
            from = nul + 1;
        }
    }

    vtj::ScanSpec spec;
    spec.endpoint = (flags & 1) ? vtj::Endpoint::Muutokset : vtj::Endpoint::Perustiedot;
    spec.base_url = "http://fake.invalid/api/v1/";
    spec.grouped = !(flags & 1) && (flags & 2);
    spec.with_tokens = (flags & 4) != 0;
    static const std::size_t kBatch[] = {1, 2, 3, 1000};
    spec.batch_size = kBatch[(flags >> 3) & 3];
    spec.parallel = 2;
    spec.max_pages = 6;
    if (flags & 64)
        spec.group_filters.push_back({"HENKILON_NIMI", "TURVAKIELTO", "KOTIKUNTA", "VAKINAINEN_KOTIMAINEN_OSOITE"});
    if (spec.endpoint == vtj::Endpoint::Muutokset) {
        spec.has_start_bookmark = true;
        spec.start_bookmark = 0;
        if (flags & 128) {
            spec.has_upper = true;
            spec.upper_unix_us = 1700000000000000;  // 2023-11-14
        }
    } else if (flags & 128) {
        spec.group_filters.push_back({"TURVAKIELTO", "KOTIKUNTA", "SUKUPUOLI"});
    }

    // The hetus the answers hold.
    std::set<std::string> found;
    {
        vtj::JsonDecoder decoder;
        for (const std::string &p : pages) {
            std::string body = p;
            try {
                if (spec.endpoint == vtj::Endpoint::Muutokset) {
                    vtj::MuutoksetPage page;
                    decoder.decode_muutokset(body, page, "POST /muutokset");
                    for (const auto &r : page.rows)
                        found.insert(std::string(r.hetu));
                } else {
                    vtj::PerustiedotPage page;
                    decoder.decode_perustiedot(body, page, "POST /perustiedot");
                    for (auto h : page.person_hetus)
                        found.insert(std::string(h));
                }
            } catch (const vtj::Error &) {
            }
        }
    }
    std::set<std::string> asked;
    std::size_t k = 0;
    for (const std::string &h : found)
        if (!(flags & 32) || k++ % 2 == 0)
            asked.insert(h);
    if (asked.empty())
        asked.insert("010101-999R");  // so that the scan asks at all
    spec.hetus.assign(asked.begin(), asked.end());

    fuzz::FakeAnswers::get().reset(pages);
    vtj::HttpClient http(vtj::HttpConfig{});
    std::vector<std::vector<std::string>> filters = spec.group_filters;
    const bool grouped = spec.grouped, with_tokens = spec.with_tokens;
    try {
        vtj::Scan scan(http, std::move(spec));
        vtj::ScanRow row;
        std::int64_t last_jarjestys = 0;
        std::string person;             // grouped: the current person
        bool have_person = false;
        std::string last_group;
        bool person_censored = false;
        std::set<std::string> finished;  // grouped: persons whose rows have ended
        std::size_t rows = 0;
        while (rows < 100000 && scan.next(row)) {
            ++rows;
            FUZZ_CHECK(row.group != nullptr);
            const std::string hetu(row.group->hetu);
            FUZZ_CHECK(asked.count(hetu) == 1);
            FUZZ_CHECK(row.jarjestys == last_jarjestys + 1);
            last_jarjestys = row.jarjestys;
            if (!grouped) {
                FUZZ_CHECK(row.tiedot == nullptr);
                FUZZ_CHECK(!row.group->raw.empty() && row.group->raw.front() == '{');
                if (with_tokens) {
                    FUZZ_CHECK(row.tokens != nullptr);
                    const vtj::JsonToken *b = row.tokens + row.group->tokens_begin,
                                         *e = row.tokens + row.group->tokens_end;
                    FUZZ_CHECK(fuzz::balanced_value(b, e) && b->kind == K::BeginObject);
                    std::vector<fuzz::RefToken> ref;
                    FUZZ_CHECK(fuzz::RefJson::read(row.group->raw, &ref));
                    FUZZ_CHECK(fuzz::as_ref(b, e) == ref);
                } else {
                    FUZZ_CHECK(row.tokens == nullptr);
                }
                continue;
            }
            FUZZ_CHECK(row.tiedot != nullptr);
            check_tiedot(*row.tiedot);
            FUZZ_CHECK(row.censored == (row.censored_fields != nullptr));
            if (row.censored_fields) {
                std::set<std::string_view> once(row.censored_fields->begin(), row.censored_fields->end());
                FUZZ_CHECK(once.size() == row.censored_fields->size());
            }
            FUZZ_CHECK(!row.censored || row.person_censored);
            if (row.person_turvakielto)
                check_tiedot(*row.person_turvakielto);
            const std::string group(row.group->tietoryhma);
            for (const auto &set : filters)
                FUZZ_CHECK(std::find(set.begin(), set.end(), group) != set.end());
            if (have_person && hetu == person) {
                FUZZ_CHECK(group > last_group);
                FUZZ_CHECK(row.person_censored == person_censored);
            } else {
                FUZZ_CHECK(finished.count(hetu) == 0);
                if (have_person)
                    finished.insert(person);
                person = hetu;
                have_person = true;
            }
            last_group = group;
            person_censored = row.person_censored;
        }
    } catch (const vtj::Error &e) {
        FUZZ_CHECK(fuzz::hetu_free(e.what()) && fuzz::hetu_free(e.detail()) && fuzz::hetu_free(e.hint()));
    }
    for (const std::string &req : fuzz::FakeAnswers::get().requests)
        FUZZ_CHECK(fuzz::RefJson::read(req, nullptr));
    return 0;
}
