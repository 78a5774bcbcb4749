// The scan orchestration (core/scan.cpp) against a scripted interface: batching, paging,
// window resolution, the upper bound, the runaway guards, the hetu recheck and the grouped scan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dates.hpp"
#include "core/error.hpp"
#include "core/hetu.hpp"
#include "core/json_tokens.hpp"
#include "core/scan.hpp"
#include "test_hetus.hpp"
#include "test_http_server.hpp"

namespace {

using vtj_test::Reply;
using vtj_test::ReceivedRequest;
using vtj_test::TestHttpServer;

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

TEST(Scan, PerustiedotBatchesAndStreams)
{
    const auto hetus = make_hetus(2500);
    TestHttpServer server([&](const ReceivedRequest &r) {
        Reply reply;
        std::string body = "{\"perustiedot\":[";
        bool first = true;
        for (const auto &h : hetus_of(r.body)) {
            body += (first ? "" : ",") + person(h);
            first = false;
        }
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
    }
    EXPECT_EQ(rows, 2 * hetus.size());
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
        R"( {"tietoryhma": "KUOLINPAIVA", "turvakiellonAlaisetKentat": []}]}]})";
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
    EXPECT_EQ(oma_nimi.tiedot, R"([{"tietoryhma":"NIMI","etunimi":"Oma"}])");
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


// ---- answers that do not fit the request ------------------------------------------------------------------------

// The error of running `spec` to its end (nullopt when it ended without one), the rows returned before it.
struct Outcome {
    std::optional<vtj::Error> error;
    std::vector<std::string> rows;  // "hetu tietoryhma"
    vtj::ScanStats stats;
};

Outcome run_scan(vtj::HttpClient &http, vtj::ScanSpec spec)
{
    Outcome out;
    vtj::Scan scan(http, std::move(spec));
    vtj::ScanRow row;
    try {
        while (scan.next(row))
            out.rows.push_back(std::string(row.group->hetu) + " " + std::string(row.group->tietoryhma));
    } catch (const vtj::Error &e) {
        out.error = e;
    }
    out.stats = scan.stats();
    return out;
}

void expect_no_hetu(const vtj::Error &e, const std::vector<std::string> &hetus)
{
    for (const auto &h : hetus)
        for (const std::string &t : {std::string(e.what()), e.detail(), e.hint()})
            EXPECT_EQ(t.find(h), std::string::npos) << t;
}

std::string change(const std::string &hetu, const std::string &groups = R"({"tietoryhma":"KOTIKUNTA","muutosattribuutti":"LISATTY"})",
                   const std::string &time = "2026-01-02T10:00:00.000Z")
{
    return R"({"henkilotunnus":")" + hetu + R"(","muutospv":")" + time + R"(","tietoryhmat":[)" + groups + "]}";
}

std::string page(long long bookmark, const std::vector<std::string> &changes, bool up_to_date)
{
    std::string body = "{\"viimeisinKirjausavain\":" + std::to_string(bookmark) + ",\"muutokset\":[";
    for (std::size_t i = 0; i < changes.size(); ++i)
        body += (i ? "," : "") + changes[i];
    return body + "],\"ajanTasalla\":" + (up_to_date ? "true" : "false") + "}";
}

vtj::ScanSpec muutokset_spec(const TestHttpServer &server, const std::vector<std::string> &hetus, long long start = 1000)
{
    vtj::ScanSpec spec;
    spec.endpoint = vtj::Endpoint::Muutokset;
    spec.base_url = server.url("/api/v1");
    spec.hetus = hetus;
    spec.has_start_bookmark = true;
    spec.start_bookmark = start;
    return spec;
}

TEST(ScanRefuses, AChangeOfAHetuTheBatchDidNotAskFor)
{
    const auto hetus = make_hetus(4);
    const std::vector<std::string> asked(hetus.begin(), hetus.begin() + 3);
    const std::string foreign = hetus[3];
    std::string garbled = asked[1];
    garbled.back() = garbled.back() == 'A' ? 'B' : 'A';
    for (const std::string &stranger : {foreign, garbled, asked[0] + " ", std::string("")}) {
        for (bool empty_record : {false, true}) {
            SCOPED_TRACE(stranger + (empty_record ? " (no groups)" : ""));
            TestHttpServer server([&](const ReceivedRequest &r) {
                Reply reply;
                const long long after = bookmark_of(r.body);
                if (after == 1000)  // page 1: fine
                    reply.body = page(1001, {change(asked[0]), change(asked[1])}, false);
                else
                    reply.body = page(1002, {change(asked[2]), empty_record ? change(stranger, "") : change(stranger)}, true);
                return reply;
            });
            vtj::HttpClient http(config());
            Outcome o = run_scan(http, muutokset_spec(server, asked));
            ASSERT_TRUE(o.error);
            EXPECT_EQ(o.error->kind(), vtj::ErrorKind::BadResponse);
            EXPECT_STREQ(o.error->what(), "the change interface answered a change of a person the request did not ask for");
            EXPECT_NE(o.error->detail().find("Change record 1 (counting from 0) of page 2 of batch 1 of 1 (3 hetus)"), std::string::npos)
                << o.error->detail();
            expect_no_hetu(*o.error, hetus);
            EXPECT_EQ(o.rows.size(), 2u);  // page 1's rows; nothing of page 2
            EXPECT_FALSE(o.stats.complete);
        }
    }
}

TEST(ScanRefuses, AChangeAskedByAnotherBatch)
{
    const auto hetus = make_hetus(4);
    TestHttpServer server([&](const ReceivedRequest &r) {
        Reply reply;
        const auto hs = hetus_of(r.body);
        // each batch is answered with a change of the other batch's first hetu
        const std::string other = std::find(hs.begin(), hs.end(), hetus[0]) != hs.end() ? hetus[3] : hetus[0];
        reply.body = page(1001, {change(other)}, true);
        return reply;
    });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.batch_size = 2;
    Outcome o = run_scan(http, spec);
    ASSERT_TRUE(o.error);
    EXPECT_EQ(o.error->kind(), vtj::ErrorKind::BadResponse);
    EXPECT_TRUE(o.rows.empty());
}

std::string basic(const std::string &hetu) { return R"({"henkilotunnus":")" + hetu + R"(","tietoryhmat":[{"tietoryhma":"NIMI"}]})"; }

TEST(ScanRefuses, BasicDataOfAPersonNotAskedOrTwice)
{
    const auto hetus = make_hetus(5);
    const std::vector<std::string> asked(hetus.begin(), hetus.begin() + 4);
    for (bool grouped : {false, true}) {
        for (int variant = 0; variant < 3; ++variant) {
            SCOPED_TRACE(std::to_string(variant) + (grouped ? " grouped" : ""));
            TestHttpServer server([&](const ReceivedRequest &r) {
                Reply reply;
                const auto hs = hetus_of(r.body);
                std::string body = R"({"perustiedot":[)" + basic(hs[0]) + "," + basic(hs[1]);
                if (hs[0] == asked[2]) {  // the second batch
                    if (variant == 0)
                        body += "," + basic(hetus[4]);  // not asked
                    else if (variant == 1)
                        body += "," + basic(hs[0]);  // twice
                    else
                        body += "," + basic(asked[0]);  // asked by the first batch
                }
                reply.body = body + "]}";
                return reply;
            });
            vtj::HttpClient http(config());
            vtj::ScanSpec spec;
            spec.base_url = server.url("/api/v1");
            spec.hetus = asked;
            spec.batch_size = 2;
            spec.parallel = 1;
            spec.grouped = grouped;
            Outcome o = run_scan(http, spec);
            ASSERT_TRUE(o.error);
            EXPECT_EQ(o.error->kind(), vtj::ErrorKind::BadResponse);
            EXPECT_STREQ(o.error->what(), variant == 1 ? "the interface answered the basic data of one person twice"
                                                       : "the interface answered basic data of a person the request did not ask for");
            EXPECT_NE(o.error->detail().find("Person 2 (counting from 0) of the answer to batch 2 of 2 (2 hetus)"), std::string::npos)
                << o.error->detail();
            expect_no_hetu(*o.error, hetus);
            EXPECT_EQ(o.rows.size(), 2u);  // the first batch only
        }
    }
}

// ---- bookmarks the interface cannot have issued ---------------------------------------------------------------

TEST(ScanRefuses, ABookmarkBelowTheRequestsAlsoWhenUpToDate)
{
    const auto hetus = make_hetus(1);
    struct Case {
        long long first, second;
        bool second_up_to_date;
        std::size_t rows_before;
    };
    // below the window start at once (with ajanTasalla true: today 0 rows and no error), and backwards on page 2
    for (const Case &k : {Case{999, 0, true, 0}, Case{1, 0, true, 0}, Case{1005, 1004, false, 1}, Case{1005, 1003, true, 1}}) {
        SCOPED_TRACE(std::to_string(k.first) + " " + std::to_string(k.second));
        TestHttpServer server([&](const ReceivedRequest &r) {
            Reply reply;
            if (bookmark_of(r.body) == 1000)
                reply.body = k.second ? page(k.first, {change(hetus[0])}, false) : page(k.first, {}, true);
            else
                reply.body = page(k.second, {}, k.second_up_to_date);
            return reply;
        });
        vtj::HttpClient http(config());
        Outcome o = run_scan(http, muutokset_spec(server, hetus));
        ASSERT_TRUE(o.error);
        EXPECT_EQ(o.error->kind(), vtj::ErrorKind::BadResponse);
        EXPECT_STREQ(o.error->what(), "the change interface answered a bookmark below the one it was asked for");
        EXPECT_EQ(o.rows.size(), k.rows_before);
        EXPECT_FALSE(o.stats.complete);
    }
    // The request's own bookmark with ajanTasalla true is an empty window: complete.
    TestHttpServer server([](const ReceivedRequest &) { return Reply{200, {}, page(1000, {}, true)}; });
    vtj::HttpClient http(config());
    Outcome o = run_scan(http, muutokset_spec(server, hetus));
    EXPECT_FALSE(o.error);
    EXPECT_TRUE(o.stats.complete);
    EXPECT_EQ(o.stats.final_bookmark, 1000);
}

// The interface of a present check: GET /kirjausavain/{day} answers `present` (or `status`).
struct Present {
    long long final_bookmark = 1010;
    long long present = 1010;
    int status = 200;
    Reply operator()(const ReceivedRequest &r) const
    {
        if (r.method == "GET") {
            Reply reply{status, {}, "{\"viimeisinKirjausavain\":" + std::to_string(present) + "}"};
            if (status != 200)
                reply.body = R"({"status":404,"error":"Not Found","message":"no such day"})";
            return reply;
        }
        return Reply{200, {}, page(final_bookmark, {change(hetus_of(r.body).at(0))}, true)};
    }
};

TEST(ScanPresent, AFinalBookmarkBeyondThePresentIsRefused)
{
    const auto hetus = make_hetus(3);
    Present p;
    p.final_bookmark = 1011;
    TestHttpServer server([&](const ReceivedRequest &r) { return p(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.batch_size = 1;
    spec.present_day = "2026-12-03";
    Outcome o = run_scan(http, spec);
    ASSERT_TRUE(o.error);
    EXPECT_EQ(o.error->kind(), vtj::ErrorKind::BadResponse);
    EXPECT_STREQ(o.error->what(), "the change interface answered a bookmark beyond the present");
    EXPECT_NE(o.error->detail().find("ended at bookmark 1011, but GET /kirjausavain/2026-12-03"), std::string::npos) << o.error->detail();
    EXPECT_FALSE(o.stats.complete);
    EXPECT_EQ(o.rows.size(), 3u);  // streamed before the end; the statement fails all the same
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 4u);
    EXPECT_EQ(reqs.back().method, "GET");  // after every batch
    EXPECT_EQ(reqs.back().target, "/api/v1/kirjausavain/2026-12-03");
}

TEST(ScanPresent, WithinThePresentTheScanIsComplete)
{
    const auto hetus = make_hetus(2);
    Present p;  // final == present
    TestHttpServer server([&](const ReceivedRequest &r) { return p(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.present_day = "2026-12-03";
    Outcome o = run_scan(http, spec);
    EXPECT_FALSE(o.error);
    EXPECT_TRUE(o.stats.complete);
    EXPECT_EQ(o.stats.present_check, vtj::PresentCheck::Passed);
    EXPECT_TRUE(o.stats.present_asked);
    EXPECT_EQ(o.stats.present_bookmark, 1010);
    // No present_day: no check, no request.
    server.stop();
    TestHttpServer quiet([&](const ReceivedRequest &r) { return p(r); });
    vtj::HttpClient http2(config());
    Outcome o2 = run_scan(http2, muutokset_spec(quiet, hetus));
    EXPECT_EQ(o2.stats.present_check, vtj::PresentCheck::NotRun);
    EXPECT_EQ(quiet.request_count(), 1);
}

TEST(ScanPresent, AnInterfaceThatRefusesFutureDatesLeavesTheCheckUndone)
{
    const auto hetus = make_hetus(1);
    for (int status : {400, 404, 422}) {
        SCOPED_TRACE(status);
        Present p;
        p.final_bookmark = 99999;  // would be refused if the check ran
        p.status = status;
        TestHttpServer server([&](const ReceivedRequest &r) { return p(r); });
        vtj::HttpClient http(config());
        vtj::ScanSpec spec = muutokset_spec(server, hetus);
        spec.present_day = "2026-12-03";
        Outcome o = run_scan(http, spec);
        EXPECT_FALSE(o.error) << (o.error ? o.error->what() : "");
        EXPECT_TRUE(o.stats.complete);
        EXPECT_EQ(o.stats.present_check, vtj::PresentCheck::NotAvailable);
        EXPECT_EQ(o.stats.final_bookmark, 99999);
    }
    // Any other failure of that request fails the scan.
    Present p;
    p.status = 500;
    TestHttpServer server([&](const ReceivedRequest &r) { return p(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.present_day = "2026-12-03";
    Outcome o = run_scan(http, spec);
    ASSERT_TRUE(o.error);
    EXPECT_EQ(o.error->kind(), vtj::ErrorKind::HttpStatus);
    EXPECT_FALSE(o.stats.complete);
}

TEST(ScanPresent, AKnownBoundSavesTheRequestUntilABookmarkPassesIt)
{
    const auto hetus = make_hetus(1);
    Present p;
    TestHttpServer server([&](const ReceivedRequest &r) { return p(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.present_day = "2026-12-03";
    spec.has_known_present = true;
    spec.known_present = 1010;
    Outcome o = run_scan(http, spec);
    EXPECT_EQ(o.stats.present_check, vtj::PresentCheck::Passed);
    EXPECT_FALSE(o.stats.present_asked);
    EXPECT_EQ(server.request_count(), 1);
    spec.known_present = 1009;  // the present moved on since: ask again
    o = run_scan(http, spec);
    EXPECT_FALSE(o.error);
    EXPECT_TRUE(o.stats.present_asked);
    EXPECT_EQ(o.stats.present_bookmark, 1010);
}

// ---- per-person protection facts of a change scan ----------------------------------------------------------------

const char kTurvakieltoOn[] =
    R"({"tietoryhma":"TURVAKIELTO","muutosattribuutti":"LISATTY","turvakieltoAktiivinen":true,)"
    R"("voimassaolevatTiedot":[{"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true,"turvaLoppuPv":{"arvo":"2030-01-01"}},)"
    R"({"tietoryhma":"TURVAKIELTO","turvakiellonAlaisetKentat":["x"]}]})";
const char kTurvakieltoWithheld[] = R"({"tietoryhma":"TURVAKIELTO","muutosattribuutti":"MUUTETTU","turvakiellonAlaisetKentat":[]})";
const char kOsoite[] = R"({"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","muutosattribuutti":"LISATTY","katunimi":{"fi":"Katu"}})";
const char kOsoiteWithheld[] = R"({"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","muutosattribuutti":"MUUTETTU","turvakiellonAlaisetKentat":["katunimi"]})";

// One batch of three persons over three pages: A's address comes before A's turvakielto,
// B's withheld group is on the last page, C has nothing.
struct ThreePages {
    std::vector<std::string> h;  // A, B, C in sorted order
    Reply operator()(const ReceivedRequest &r) const
    {
        const long long after = bookmark_of(r.body);
        Reply reply;
        if (after == 1000)
            reply.body = page(1001, {change(h[0], kOsoite), change(h[2])}, false);
        else if (after == 1001)
            reply.body = page(1002, {change(h[1]), change(h[0], std::string(kTurvakieltoOn) + "," + kTurvakieltoWithheld)}, false);
        else if (after == 1002)
            reply.body = page(1003, {change(h[1], kOsoiteWithheld), change(h[2])}, true);
        else
            reply.body = page(after, {}, true);
        return reply;
    }
};

const std::string kWantTurvakielto =
    R"([{"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true},)"
    R"({"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true,"turvaLoppuPv":{"arvo":"2030-01-01"}}])";

TEST(ScanPersonFacts, EveryRowCarriesItsPersonsFactsOverTheWholeBatch)
{
    ThreePages pages{make_hetus(3)};
    std::sort(pages.h.begin(), pages.h.end());
    TestHttpServer server([&](const ReceivedRequest &r) { return pages(r); });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, pages.h);
    spec.person_facts = true;
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    struct Got {
        std::string hetu, tietoryhma;
        std::int64_t bookmark, jarjestys;
        bool censored;
        std::string turvakielto;
    };
    std::vector<Got> got;
    int requests_at_first_row = -1;
    while (scan.next(row)) {
        if (requests_at_first_row < 0)
            requests_at_first_row = server.request_count();
        EXPECT_TRUE(row.has_person_facts);
        ASSERT_NE(row.tokens, nullptr);  // person facts need the tokens
        got.push_back({std::string(row.group->hetu), std::string(row.group->tietoryhma), row.page_bookmark, row.jarjestys,
                       row.person_censored,
                       row.person_turvakielto ? vtj::tokens_to_json(row.person_turvakielto->data(),
                                                                    row.person_turvakielto->data() + row.person_turvakielto->size())
                                              : "-"});
    }
    EXPECT_EQ(requests_at_first_row, 3);  // the batch's pages were all read before its first row
    ASSERT_EQ(got.size(), 7u);
    // the interface's order, page by page; jarjestys increases
    const std::vector<std::pair<int, std::string>> order = {{0, "VAKINAINEN_KOTIMAINEN_OSOITE"}, {2, "KOTIKUNTA"}, {1, "KOTIKUNTA"},
                                                            {0, "TURVAKIELTO"}, {0, "TURVAKIELTO"}, {1, "VAKINAINEN_KOTIMAINEN_OSOITE"},
                                                            {2, "KOTIKUNTA"}};
    for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(got[i].hetu, pages.h[order[i].first]);
        EXPECT_EQ(got[i].tietoryhma, order[i].second);
        if (i) {
            EXPECT_GT(got[i].jarjestys, got[i - 1].jarjestys);
        }
        const int who = order[i].first;
        // A: a withheld TURVAKIELTO object; B: a withheld address on the last page; C: nothing
        EXPECT_EQ(got[i].censored, who != 2);
        EXPECT_EQ(got[i].turvakielto, who == 0 ? kWantTurvakielto : "-");
    }
    EXPECT_EQ(got[0].bookmark, 1001);
    EXPECT_EQ(got[6].bookmark, 1003);
    EXPECT_TRUE(scan.stats().complete);
}

TEST(ScanPersonFacts, WithoutThemTheScanStreamsAsBefore)
{
    ThreePages pages{make_hetus(3)};
    std::sort(pages.h.begin(), pages.h.end());
    TestHttpServer server([&](const ReceivedRequest &r) { return pages(r); });
    vtj::HttpClient http(config());
    vtj::Scan scan(http, muutokset_spec(server, pages.h));
    vtj::ScanRow row;
    ASSERT_TRUE(scan.next(row));
    EXPECT_LE(server.request_count(), 2);  // the first page (and the pipelined second), not all three
    EXPECT_FALSE(row.has_person_facts);
    std::size_t n = 1;
    while (scan.next(row))
        ++n;
    EXPECT_EQ(n, 7u);
}

TEST(ScanPersonFacts, ABatchStoppedByTheUpperBoundIsComplete)
{
    const auto hetus = make_hetus(1);
    TestHttpServer server([&](const ReceivedRequest &r) {
        const long long after = bookmark_of(r.body);
        Reply reply;
        if (after == 1000)
            reply.body = page(1001, {change(hetus[0], kOsoite, "2026-01-01T10:00:00Z")}, false);
        else
            reply.body = page(after + 1, {change(hetus[0], kTurvakieltoOn, "2026-03-01T10:00:00Z")}, false);
        return reply;
    });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.person_facts = true;
    spec.has_upper = true;
    vtj::parse_instant("2026-02-01T00:00:00Z", spec.upper_unix_us);
    vtj::Scan scan(http, spec);
    vtj::ScanRow row;
    std::vector<std::string> tk;
    while (scan.next(row))
        tk.push_back(row.person_turvakielto ? "tk" : "-");
    // the page beyond the bound stopped the batch; its TURVAKIELTO counts for the row before it
    EXPECT_EQ(tk, (std::vector<std::string>{"tk", "tk"}));
    EXPECT_EQ(server.request_count(), 2);
    EXPECT_FALSE(scan.stats().complete);  // not up to date, so no bookmark to save
}

TEST(ScanPersonFacts, MemoryIsBoundedByTheBatchesInFlight)
{
    // 8 batches of one hetu, 4 pages each, 2 in flight: at most 3 batches' pages are held.
    const auto hetus = make_hetus(8);
    TestHttpServer server([&](const ReceivedRequest &r) {
        const long long after = bookmark_of(r.body);
        const bool last = after >= 1003;
        return Reply{200, {}, page(after + 1, {change(hetus_of(r.body).at(0))}, last)};
    });
    vtj::HttpClient http(config());
    vtj::ScanSpec spec = muutokset_spec(server, hetus);
    spec.person_facts = true;
    spec.batch_size = 1;
    spec.parallel = 2;
    Outcome o = run_scan(http, spec);
    EXPECT_FALSE(o.error);
    EXPECT_EQ(o.rows.size(), 32u);
    EXPECT_EQ(o.stats.pages, 32u);
    EXPECT_GE(o.stats.pages_held_peak, 4u);
    EXPECT_LE(o.stats.pages_held_peak, 3u * 4u);
}

// What on_protection was told, per hetu: "censored|turvakielto records".
std::map<std::string, std::string> reported_during(TestHttpServer &server, vtj::ScanSpec spec, Outcome *outcome)
{
    std::map<std::string, std::string> told;
    spec.on_protection = [&told](std::string_view hetu, const vtj::PersonProtection &p) {
        std::string &t = told[std::string(hetu)];
        t += p.censored ? "C" : "-";
        t += p.has_turvakielto ? "T" : "-";
        for (const auto &rec : p.records)
            t += vtj::tokens_to_json(p.turvakielto.data() + rec.first, p.turvakielto.data() + rec.second);
        t += "|";
    };
    vtj::HttpClient http(config());
    *outcome = run_scan(http, std::move(spec));
    (void)server;
    return told;
}

TEST(ScanProtection, EachPageIsReportedBeforeItsRowsAndSurvivesALaterFailure)
{
    ThreePages pages{make_hetus(3)};
    std::sort(pages.h.begin(), pages.h.end());
    for (int fail : {0, 1, 2, 3}) {  // page 3 is: as scripted, malformed, of a stranger, beyond the present
        for (bool facts : {false, true}) {
            SCOPED_TRACE(std::to_string(fail) + (facts ? " person_facts" : ""));
            const std::string stranger = make_hetus(4).back();
            TestHttpServer server([&](const ReceivedRequest &r) {
                if (r.method == "GET")
                    return Reply{200, {}, R"({"viimeisinKirjausavain":1002})"};
                Reply reply = pages(r);
                if (bookmark_of(r.body) == 1002 && fail == 1)
                    reply.body = reply.body.substr(0, reply.body.size() / 2);
                if (bookmark_of(r.body) == 1002 && fail == 2)
                    reply.body = page(1003, {change(pages.h[1], kOsoiteWithheld), change(stranger, kTurvakieltoOn)}, true);
                return reply;
            });
            vtj::ScanSpec spec = muutokset_spec(server, pages.h);
            spec.person_facts = facts;
            if (fail == 3)
                spec.present_day = "2026-12-03";
            Outcome o;
            const auto told = reported_during(server, spec, &o);
            EXPECT_EQ(o.error.has_value(), fail != 0);
            const std::string a = "-T" + std::string(R"({"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true})") +
                                  R"({"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true,"turvaLoppuPv":{"arvo":"2030-01-01"}})" + "|";
            // page 1 had A's address (nothing to tell), page 2 A's turvakielto (the withheld object too)
            ASSERT_TRUE(told.count(pages.h[0]));
            EXPECT_EQ(told.at(pages.h[0]), "CT" + a.substr(2));
            EXPECT_FALSE(told.count(pages.h[2]));  // C: nothing, ever
            // page 3: B's withheld address, told unless the page could not be read
            if (fail == 1) {
                EXPECT_FALSE(told.count(pages.h[1]));
            } else {
                EXPECT_EQ(told.at(pages.h[1]), "C-|");
            }
            EXPECT_FALSE(told.count(stranger));  // never a person not asked for
            if (facts && fail) {
                EXPECT_TRUE(o.rows.empty() || fail == 3);
            }  // nothing returned before the batch was complete
        }
    }
}

}  // namespace
