// The scan orchestration (core/scan.cpp) against a scripted interface: batching, paging,
// window resolution, the upper bound, the runaway guards, the hetu recheck and the grouped scan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/hetu.hpp"
#include "core/json_tokens.hpp"
#include "core/scan.hpp"
#include "test_http_server.hpp"

namespace {

using vtj_test::Reply;
using vtj_test::ReceivedRequest;
using vtj_test::TestHttpServer;

// n valid test hetus (individual numbers 900–999).
std::vector<std::string> make_hetus(int n)
{
    std::vector<std::string> out;
    for (int i = 0; out.size() < static_cast<std::size_t>(n); ++i) {
        const int day = 1 + i % 28, month = 1 + (i / 28) % 12, nnn = 900 + (i / 336) % 100;
        char digits[10];
        snprintf(digits, sizeof digits, "%02d%02d85%03d", day, month, nnn);
        std::string h(digits, 6);
        h += '-';
        h += std::string(digits + 6, 3);
        h += vtj::hetu_check_char(digits);
        out.push_back(h);
    }
    return out;
}

// The hetus of a request body ["…","…"] (test bodies are simple).
std::vector<std::string> hetus_of(const std::string &body)
{
    std::vector<std::string> out;
    std::size_t p = body.find("\"hetulista\":[");
    if (p == std::string::npos)
        return out;
    p += 13;
    while (p < body.size() && body[p] == '"') {
        std::size_t e = body.find('"', p + 1);
        out.push_back(body.substr(p + 1, e - p - 1));
        p = e + 1;
        if (body[p] == ',')
            ++p;
    }
    return out;
}

long long bookmark_of(const std::string &body)
{
    std::size_t p = body.find("\"viimeisinKirjausavain\":");
    return p == std::string::npos ? -1 : std::stoll(body.substr(p + 24));
}

std::string person(const std::string &hetu)
{
    return "{\"henkilotunnus\":\"" + hetu +
           "\",\"tietoryhmat\":[{\"tietoryhma\":\"HENKILON_NIMI\",\"etunimi\":\"Äyli\"},"
           "{\"tietoryhma\":\"KOTIKUNTA\",\"kuntakoodi\":\"091\"}]}";
}

vtj::HttpConfig config()
{
    vtj::HttpConfig c;
    c.auth = vtj::AuthScheme::None;
    c.max_retries = 0;
    c.max_parallel = 3;
    return c;
}

TEST(Scan, PerustiedotBatchesStreamsAndChecksHetus)
{
    const auto hetus = make_hetus(2500);
    const std::string stranger = make_hetus(2600).back();
    TestHttpServer server([&](const ReceivedRequest &r) {
        Reply reply;
        std::string body = "{\"perustiedot\":[";
        bool first = true;
        for (const auto &h : hetus_of(r.body)) {
            body += (first ? "" : ",") + person(h);
            first = false;
        }
        body += "," + person(stranger);  // a person nobody asked for: must be dropped
        body += "],\"ajanTasalla\":true}";
        reply.body = body;
        return reply;
    });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Perustiedot;
    spec.base_url = server.url("/api/v1/");
    spec.hetus = hetus;
    spec.batch_size = 1000;
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    std::size_t rows = 0;
    std::int64_t last = 0;
    while (scan.next(row)) {
        ++rows;
        EXPECT_GT(row.jarjestys, last);
        last = row.jarjestys;
        EXPECT_NE(row.group->hetu, stranger);
    }
    EXPECT_EQ(rows, 2 * hetus.size());
    EXPECT_EQ(scan.stats().rows_dropped, 2u * 3u);
    std::vector<std::size_t> sizes;
    for (const auto &r : server.requests()) {
        EXPECT_EQ(r.target, "/api/v1/perustiedot");
        sizes.push_back(hetus_of(r.body).size());
    }
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<std::size_t>{500, 1000, 1000}));
}

TEST(Scan, EmptyHetuListSendsNothing)
{
    TestHttpServer server([](const ReceivedRequest &) { return Reply{}; });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.has_start_day = true;
    spec.start_day = "2026-01-01";
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    EXPECT_FALSE(scan.next(row));
    EXPECT_EQ(server.request_count(), 0);
}

// A change interface with `per_page` change records per page for each hetu, up to `total`.
struct Pager {
    int total = 5;
    int per_page = 2;
    long long base = 1000;
    Reply operator()(const ReceivedRequest &r) const
    {
        Reply reply;
        if (r.method == "GET") {
            reply.body = "{\"viimeisinKirjausavain\":" + std::to_string(base) + "}";
            return reply;
        }
        const long long after = bookmark_of(r.body);
        const auto hs = hetus_of(r.body);
        // change k (1..total) has bookmark base + k
        std::string changes;
        long long last = after;
        int n = 0;
        for (long long k = after - base + 1; k <= total && n < per_page; ++k, ++n) {
            for (const auto &h : hs) {
                if (!changes.empty())
                    changes += ",";
                changes += "{\"henkilotunnus\":\"" + h + "\",\"muutospv\":\"2026-01-0" + std::to_string(k) +
                           "T10:00:00.000Z\",\"tietoryhmat\":[{\"tietoryhma\":\"KOTIKUNTA\",\"muutosattribuutti\":\"LISATTY\"}]}";
            }
            last = base + k;
        }
        const bool done = last >= base + total;
        reply.body = "{\"viimeisinKirjausavain\":" + std::to_string(done ? base + total + 50 : last) +
                     ",\"muutokset\":[" + changes + "],\"ajanTasalla\":" + (done ? "true" : "false") + "}";
        return reply;
    }
};

TEST(Scan, MuutoksetPagesUntilUpToDateFromTheDaysBookmark)
{
    const auto hetus = make_hetus(7);
    Pager pager;
    TestHttpServer server([&](const ReceivedRequest &r) { return pager(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.hetus = hetus;
    spec.batch_size = 3;
    spec.has_start_day = true;
    spec.start_day = "2026-01-01";
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    std::size_t rows = 0;
    while (scan.next(row)) {
        ++rows;
        EXPECT_GT(row.page_bookmark, 1000);
    }
    EXPECT_EQ(rows, hetus.size() * 5);
    EXPECT_TRUE(scan.stats().complete);
    EXPECT_EQ(scan.stats().final_bookmark, 1000 + 5 + 50);
    EXPECT_EQ(scan.stats().window_start, 1000);
    const auto reqs = server.requests();
    ASSERT_FALSE(reqs.empty());
    EXPECT_EQ(reqs.front().method, "GET");
    EXPECT_EQ(reqs.front().target, "/api/v1/kirjausavain/2026-01-01");
    // 3 batches × 3 pages each + the GET
    EXPECT_EQ(reqs.size(), 1u + 3u * 3u);
    for (std::size_t i = 1; i < reqs.size(); ++i)
        EXPECT_LE(hetus_of(reqs[i].body).size(), 3u);
}

TEST(Scan, LaterOfBookmarkAndDayWins)
{
    Pager pager;
    TestHttpServer server([&](const ReceivedRequest &r) { return pager(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.hetus = make_hetus(1);
    spec.has_start_day = true;
    spec.start_day = "2026-01-01";
    spec.has_start_bookmark = true;
    spec.start_bookmark = 1003;
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    std::size_t rows = 0;
    while (scan.next(row))
        ++rows;
    EXPECT_EQ(rows, 2u);  // changes 4 and 5
    EXPECT_EQ(bookmark_of(server.requests()[1].body), 1003);
}

TEST(Scan, UpperBoundStopsPagingEarly)
{
    Pager pager;
    pager.total = 9;
    pager.per_page = 1;
    TestHttpServer server([&](const ReceivedRequest &r) { return pager(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.hetus = make_hetus(1);
    spec.has_start_bookmark = true;
    spec.start_bookmark = 1000;
    spec.has_upper = true;
    vtj::parse_instant("2026-01-03T12:00:00Z", spec.upper_unix_us);
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    while (scan.next(row)) {
    }
    // pages for changes 1, 2, 3 and the first page wholly beyond the bound (4), then stop
    EXPECT_EQ(server.request_count(), 4);
    EXPECT_FALSE(scan.stats().complete);
}

TEST(Scan, BookmarkThatDoesNotAdvanceIsAnError)
{
    TestHttpServer server([](const ReceivedRequest &r) {
        Reply reply;
        reply.body = "{\"viimeisinKirjausavain\":" + std::to_string(bookmark_of(r.body)) +
                     ",\"muutokset\":[],\"ajanTasalla\":false}";
        return reply;
    });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.hetus = make_hetus(1);
    spec.has_start_bookmark = true;
    spec.start_bookmark = 77;
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    try {
        scan.next(row);
        FAIL() << "expected an error";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), vtj::ErrorKind::RunawayPaging);
    }
    EXPECT_EQ(server.request_count(), 1);
}

TEST(Scan, MaxPagesGuard)
{
    Pager pager;
    pager.total = 50;
    pager.per_page = 1;
    TestHttpServer server([&](const ReceivedRequest &r) { return pager(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.hetus = make_hetus(1);
    spec.has_start_bookmark = true;
    spec.start_bookmark = 1000;
    spec.max_pages = 5;
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    std::size_t rows = 0;
    try {
        while (scan.next(row))
            ++rows;
        FAIL() << "expected an error";
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), vtj::ErrorKind::RunawayPaging);
        EXPECT_NE(std::string(e.hint()).find("max_pages"), std::string::npos);
    }
    EXPECT_EQ(server.request_count(), 5);
}

// ---- grouped scans (ScanSpec::grouped) ----------------------------------------------------------------------------

struct GroupedRow {
    std::string hetu, tietoryhma, tiedot;
    bool censored;
    std::vector<std::string> fields;
    std::int64_t jarjestys;
    bool person_censored;
    std::string person_turvakielto;  // "-" when none
};

std::vector<GroupedRow> run_grouped(const std::string &answer_a, const std::string &answer_b, vtj::ScanStats *stats = nullptr,
                                    std::vector<std::vector<std::string>> filters = {})
{
    // Two batches of one hetu each; each batch gets its own answer.
    vtj_test::TestHttpServer server([&](const vtj_test::ReceivedRequest &r) {
        vtj_test::Reply reply;
        reply.body = r.body.find("010192-921W") != std::string::npos ? answer_a : answer_b;
        return reply;
    });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Perustiedot;
    spec.base_url = server.url("/api/v1");
    spec.hetus = {"150327-977K", "010192-921W"};
    spec.batch_size = 1;
    spec.parallel = 1;
    spec.grouped = true;
    spec.group_filters = filters;
    vtj::Scan scan(http, spec);
    std::vector<GroupedRow> out;
    vtj::ScanRow row;
    while (scan.next(row)) {
        GroupedRow g{std::string(row.group->hetu), std::string(row.group->tietoryhma),
                     vtj::tokens_to_json(row.tiedot->data(), row.tiedot->data() + row.tiedot->size()), row.censored,
                     {}, row.jarjestys, row.person_censored, "-"};
        if (row.person_turvakielto)
            g.person_turvakielto = vtj::tokens_to_json(row.person_turvakielto->data(),
                                                       row.person_turvakielto->data() + row.person_turvakielto->size());
        if (row.censored_fields)
            for (auto f : *row.censored_fields)
                g.fields.emplace_back(f);
        EXPECT_EQ(row.censored, row.censored_fields != nullptr);
        out.push_back(g);
    }
    if (stats)
        *stats = scan.stats();
    return out;
}

TEST(ScanGrouped, OneRowPerPersonAndGroupInTheInterfacesOrder)
{
    const std::string a =
        R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
        R"({"tietoryhma": "OSOITE", "katu": "A 1"}, {"tietoryhma": "NIMI", "etunimi": "Säde"},)"
        R"( {"tietoryhma": "OSOITE", "katu": "B 2", "muutosattribuutti": "x"},)"
        R"( {"tietoryhma": "OSOITE", "turvakiellonAlaisetKentat": ["katu"]},)"
        R"( {"tietoryhma": "OSOITE", "katu": "C 3", "turvakiellonAlaisetKentat": ["postinumero", "katu"]},)"
        R"( {"tietoryhma": "KUOLINPAIVA", "turvakiellonAlaisetKentat": []}]},)"
        R"( {"henkilotunnus": "150327-977K", "tietoryhmat": [{"tietoryhma": "NIMI", "etunimi": "Vieras"}]}]})";
    const std::string b =
        R"({"perustiedot": [{"henkilotunnus": "150327-977K", "tietoryhmat": [)"
        R"({"tietoryhma": "NIMI", "etunimi": "Oma"}, {"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"},)"
        R"( {"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": false, "muutosattribuutti": "x"}]}]})";
    vtj::ScanStats stats;
    const auto rows = run_grouped(a, b, &stats);
    ASSERT_EQ(rows.size(), 6u);
    // per page: by hetu, then by group name; the records of a group in the interface's order
    const std::size_t a0 = rows[0].hetu == "010192-921W" ? 0 : 3;
    const auto &kuolinpaiva = rows[a0], &nimi = rows[a0 + 1], &osoite = rows[a0 + 2];
    EXPECT_EQ(kuolinpaiva.tietoryhma, "KUOLINPAIVA");
    EXPECT_EQ(kuolinpaiva.tiedot, "[]");  // the only record was withheld whole
    EXPECT_TRUE(kuolinpaiva.censored);
    EXPECT_TRUE(kuolinpaiva.fields.empty());
    EXPECT_EQ(nimi.tietoryhma, "NIMI");
    EXPECT_EQ(nimi.tiedot, R"([{"tietoryhma":"NIMI","etunimi":"Säde"}])");
    EXPECT_FALSE(nimi.censored);
    EXPECT_EQ(osoite.tietoryhma, "OSOITE");
    EXPECT_EQ(osoite.tiedot, R"([{"tietoryhma":"OSOITE","katu":"A 1"},{"tietoryhma":"OSOITE","katu":"B 2"},)"
                             R"({"tietoryhma":"OSOITE","katu":"C 3","turvakiellonAlaisetKentat":["postinumero","katu"]}])");
    EXPECT_TRUE(osoite.censored);
    EXPECT_EQ(osoite.fields, (std::vector<std::string>{"katu", "postinumero"}));
    const std::size_t b0 = rows[0].hetu == "150327-977K" ? 0 : 3;
    const auto &oma_kunta = rows[b0], &oma_nimi = rows[b0 + 1], &oma_tk = rows[b0 + 2];
    EXPECT_EQ(oma_kunta.tietoryhma, "KOTIKUNTA");
    EXPECT_FALSE(oma_kunta.censored);
    EXPECT_EQ(oma_nimi.tiedot, R"([{"tietoryhma":"NIMI","etunimi":"Oma"}])");  // not "Vieras"
    EXPECT_EQ(oma_tk.tietoryhma, "TURVAKIELTO");
    // the person's facts on each of its rows
    for (const auto &r : rows) {
        SCOPED_TRACE(r.hetu + " " + r.tietoryhma);
        if (r.hetu == "010192-921W") {
            EXPECT_TRUE(r.person_censored);  // OSOITE
            EXPECT_EQ(r.person_turvakielto, "-");
        } else {
            EXPECT_FALSE(r.person_censored);
            EXPECT_EQ(r.person_turvakielto, R"([{"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":false}])");
        }
    }
    for (std::size_t i = 1; i < rows.size(); ++i)
        EXPECT_GT(rows[i].jarjestys, rows[i - 1].jarjestys);
    // the person of the other batch, answered in this one, is dropped
    EXPECT_EQ(stats.rows_dropped, 1u);
}

TEST(ScanGrouped, PushedGroupSetsFilterRowsButNotThePersonsFacts)
{
    const std::string a = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                          R"({"tietoryhma": "NIMI", "etunimi": "Säde"}, {"tietoryhma": "OSOITE", "turvakiellonAlaisetKentat": ["katu"]}]}]})";
    const std::string b = R"({"perustiedot": [{"henkilotunnus": "150327-977K", "tietoryhmat": [)"
                          R"({"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": true}, {"tietoryhma": "NIMI", "etunimi": "Oma"},)"
                          R"( {"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"}]}]})";
    vtj::ScanStats stats;
    const auto rows = run_grouped(a, b, &stats, {{"NIMI", "KOTIKUNTA", "NIMI"}, {"NIMI", "OSOITE"}});
    ASSERT_EQ(rows.size(), 2u);  // NIMI of each: KOTIKUNTA is not in the second set
    for (const auto &r : rows) {
        EXPECT_EQ(r.tietoryhma, "NIMI");
        if (r.hetu == "010192-921W") {
            EXPECT_TRUE(r.person_censored);  // from OSOITE, which is not returned
        } else {
            EXPECT_FALSE(r.person_censored);
            EXPECT_EQ(r.person_turvakielto, R"([{"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true}])");
        }
    }
    EXPECT_EQ(stats.rows_filtered, 3u);
    EXPECT_TRUE(run_grouped(a, b, nullptr, {{}}).empty());  // an empty set: no group
}

TEST(ScanGrouped, OnlyForBasicData)
{
    vtj::HttpClient http(config());
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.grouped = true;
    EXPECT_THROW(vtj::Scan(http, spec), vtj::Error);
}

}  // namespace
