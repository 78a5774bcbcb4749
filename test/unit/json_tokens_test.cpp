// Unit tests of the decoder's token output (JsonToken), the token helpers (core/json_tokens.hpp)
// and the grouped basic-data scan built on them (ScanSpec::grouped). Every hetu is a synthetic
// test hetu (individual number 900–999).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json_tokens.hpp"
#include "core/scan.hpp"
#include "core/vtj_json.hpp"
#include "test_http_server.hpp"

namespace {

using vtj::JsonToken;

// The text of row i's tokens.
std::string group_json(const vtj::PerustiedotPage &page, std::size_t i)
{
    const JsonToken *t = page.tokens.data();
    return vtj::tokens_to_json(t + page.rows.at(i).tokens_begin, t + page.rows.at(i).tokens_end);
}

// Whitespace outside strings removed (the fixtures below have no escapes).
std::string compact(std::string_view s)
{
    std::string out;
    bool in_string = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char ch = s[i];
        if (in_string) {
            out += ch;
            if (ch == '\\') {
                out += s[++i];
            } else if (ch == '"') {
                in_string = false;
            }
        } else if (ch == '"') {
            in_string = true;
            out += ch;
        } else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') {
            out += ch;
        }
    }
    return out;
}

const char kPage[] =
    R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
    R"({"tietoryhma": "HENKILON_NIMI", "etunimi": "Säde", "sukunimi": "Öhman", "alkupv": {"arvo": "2012-03-04", "tarkkuus": "PAIVA"}},)"
    R"( {"tietoryhma": "JOKU", "luku": -12.5e-3, "kokonais": 7, "tosi": true, "ei": false, "tyhja": null,)"
    R"(  "sisakkain": {"a": [1, [], {}, [{"b": "c"}]], "loppupv": "2020-01-01"}, "lista": []},)"
    R"( {"tietoryhma": "KOTIKUNTA", "turvakiellonAlaisetKentat": ["kuntakoodi", "kuntaanMuuttopv"]},)"
    R"( {"turvakiellonAlaisetKentat": "ei lista", "tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "postinumero": "00100"},)"
    R"( {"muutosattribuutti": "LISATTY", "tietoryhma": "SUKUPUOLI", "alkupv": "2001-02-03", "loppupv": 5}]}]})";

TEST(JsonTokens, EveryGroupRoundTripsThroughItsTokens)
{
    std::string body = kPage;
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot", true);
    ASSERT_EQ(page.rows.size(), 5u);
    for (std::size_t i = 0; i < page.rows.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_LT(page.rows[i].tokens_begin, page.rows[i].tokens_end);
        EXPECT_EQ(group_json(page, i), compact(page.rows[i].raw));
    }
    // consecutive and covering: the page's tokens are the groups' tokens
    EXPECT_EQ(page.rows.front().tokens_begin, 0u);
    for (std::size_t i = 1; i < page.rows.size(); ++i)
        EXPECT_EQ(page.rows[i].tokens_begin, page.rows[i - 1].tokens_end);
    EXPECT_EQ(page.rows.back().tokens_end, page.tokens.size());
    // the other fields are read as without tokens
    EXPECT_EQ(page.rows[0].alkupv.days_since_unix_epoch, 15403);
    EXPECT_TRUE(page.rows[2].has_censored);
    EXPECT_EQ(page.rows[2].censored_fields, (std::vector<std::string_view>{"kuntakoodi", "kuntaanMuuttopv"}));
    EXPECT_EQ(page.rows[4].muutosattribuutti, "LISATTY");
}

TEST(JsonTokens, MuutoksetGroupsRoundTripToo)
{
    std::string body = R"({"viimeisinKirjausavain": 7, "muutokset": [{"henkilotunnus": "010192-921W", "muutospv": )"
                       R"("2020-10-01T04:38:04.394Z", "tietoryhmat": [{"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "MUUTETTU",)"
                       R"( "kuntakoodi": "091", "voimassaolevatTiedot": [{"kuntakoodi": "837", "alkupv": {"arvo": "2015-06-01"}}]},)"
                       R"( {"tietoryhma": "KUOLINPAIVA", "kuollut": true, "luku": 1.5e3}]}], "ajanTasalla": true})";
    vtj::JsonDecoder decoder;
    vtj::MuutoksetPage page;
    decoder.decode_muutokset(body, page, "POST /muutokset", true);
    ASSERT_EQ(page.rows.size(), 2u);
    const JsonToken *t = page.tokens.data();
    for (const auto &r : page.rows)
        EXPECT_EQ(vtj::tokens_to_json(t + r.tokens_begin, t + r.tokens_end), compact(r.raw));
    decoder.decode_muutokset(body, page, "POST /muutokset");
    EXPECT_TRUE(page.tokens.empty());
}

TEST(JsonTokens, NotKeptUnlessAskedFor)
{
    std::string body = kPage;
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot", true);
    EXPECT_FALSE(page.tokens.empty());
    decoder.decode_perustiedot(body, page, "POST /perustiedot");
    EXPECT_TRUE(page.tokens.empty());
    EXPECT_EQ(page.rows[0].tokens_end, 0u);
}

TEST(JsonTokens, WithheldOnlyIsTheMarkerWithNothingElse)
{
    std::string body = kPage;
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot", true);
    EXPECT_FALSE(page.rows[0].withheld_only);  // no key at all
    EXPECT_TRUE(page.rows[2].withheld_only);   // tietoryhma + turvakiellonAlaisetKentat
    EXPECT_FALSE(page.rows[3].withheld_only);  // a value besides the key
    EXPECT_TRUE(page.rows[3].has_censored);
    std::string marker = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                         R"({"muutosattribuutti": "X", "turvakiellonAlaisetKentat": [], "tietoryhma": "A"}, )"
                         R"({"turvakiellonAlaisetKentat": null}]}]})";
    decoder.decode_perustiedot(marker, page, "POST /perustiedot", true);
    EXPECT_TRUE(page.rows[0].withheld_only);
    EXPECT_TRUE(page.rows[1].withheld_only);
}

TEST(JsonTokens, EscapedStringsAndKeysOutliveTheParser)
{
    // Unescaped copies must not point into the parser, which the next page reuses.
    std::string first = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                        R"({"tietoryhma": "NIMI", "etu\u006eimi": "Eet\u00e4 \"Ekku\"", "s": "a\\b\n\u0001"}]}]})";
    std::string second = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                         R"({"tietoryhma": "NIMI", "etu\u006eimi": "Xxxx \"Xxxx\"", "s": "zzzzzzzzzzzzzzzzzzz"}]}]})";
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage a, b;
    decoder.decode_perustiedot(first, a, "POST /perustiedot", true);
    decoder.decode_perustiedot(second, b, "POST /perustiedot", true);
    EXPECT_EQ(group_json(a, 0), "{\"tietoryhma\":\"NIMI\",\"etunimi\":\"Eetä \\\"Ekku\\\"\",\"s\":\"a\\\\b\\n\\u0001\"}");
    EXPECT_EQ(group_json(b, 0), "{\"tietoryhma\":\"NIMI\",\"etunimi\":\"Xxxx \\\"Xxxx\\\"\",\"s\":\"zzzzzzzzzzzzzzzzzzz\"}");
}

TEST(JsonTokens, StateTokensLeaveOutTheChangeKeysAtTopLevelOnly)
{
    std::string body = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                       R"({"muutosattribuutti": "MUUTETTU", "tietoryhma": "KOTIKUNTA", "kuntakoodi": "091", )"
                       R"("voimassaolevatTiedot": [{"kuntakoodi": "837", "muutosattribuutti": "x"}], )"
                       R"("sisalla": {"muutosattribuutti": "jaa", "voimassaolevatTiedot": {}}}, )"
                       R"({"voimassaolevatTiedot": null}, {"tietoryhma": "A"}]}]})";
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot", true);
    std::vector<JsonToken> out;
    const JsonToken *t = page.tokens.data();
    vtj::append_state_tokens(t + page.rows[0].tokens_begin, t + page.rows[0].tokens_end, out);
    EXPECT_EQ(vtj::tokens_to_json(out.data(), out.data() + out.size()),
              R"({"tietoryhma":"KOTIKUNTA","kuntakoodi":"091","sisalla":{"muutosattribuutti":"jaa","voimassaolevatTiedot":{}}})");
    std::vector<JsonToken> second;
    vtj::append_state_tokens(t + page.rows[1].tokens_begin, t + page.rows[1].tokens_end, second);
    EXPECT_EQ(vtj::tokens_to_json(second.data(), second.data() + second.size()), "{}");
    std::vector<JsonToken> third;
    vtj::append_state_tokens(t + page.rows[2].tokens_begin, t + page.rows[2].tokens_end, third);
    EXPECT_EQ(vtj::tokens_to_json(third.data(), third.data() + third.size()), R"({"tietoryhma":"A"})");
}

TEST(JsonTokens, NulIsFound)
{
    std::string body = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                       R"({"tietoryhma": "A", "x": "a\u0000b"}, {"tietoryhma": "B", "a\u0000": 1}, {"tietoryhma": "C", "y": "\u0001"}]}]})";
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot", true);
    const JsonToken *t = page.tokens.data();
    EXPECT_TRUE(vtj::tokens_hold_nul(t + page.rows[0].tokens_begin, t + page.rows[0].tokens_end));
    EXPECT_TRUE(vtj::tokens_hold_nul(t + page.rows[1].tokens_begin, t + page.rows[1].tokens_end));
    EXPECT_FALSE(vtj::tokens_hold_nul(t + page.rows[2].tokens_begin, t + page.rows[2].tokens_end));
}

// ---- grouped scans ----------------------------------------------------------------------------

vtj::HttpConfig config()
{
    vtj::HttpConfig c;
    c.auth = vtj::AuthScheme::None;
    c.max_retries = 0;
    c.max_parallel = 2;
    return c;
}

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
