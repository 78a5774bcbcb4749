// Unit tests of the VTJ-muutosrajapinta JSON decoder and request encoders (core/vtj_json.hpp).
// Fixtures are modelled on docs/interface.md (endpoints, the change record, perustiedot vs muutokset); every hetu is a synthetic
// test hetu (individual number 900–999).
#include <gtest/gtest.h>

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/dates.hpp"
#include "core/error.hpp"
#include "core/vtj_json.hpp"
#include "core/vtj_json_request.hpp"

namespace {

using vtj::GroupRow;
using vtj::JsonDecoder;
using vtj::MuutoksetPage;
using vtj::PerustiedotPage;

// ---- a /muutokset page, built from pieces so that `raw` can be compared exactly ----------------

const std::string kKorjattava =
    R"({"tietoryhma": "KUOLINPAIVA", "muutosattribuutti": "KORJATTAVA", "kuollut": true, )"
    R"("kuolinpv": {"arvo": "2020-09-30", "tarkkuus": "PAIVA"}})";
const std::string kKorjattu = R"({"tietoryhma":"KUOLINPAIVA","muutosattribuutti":"KORJATTU","kuollut":false})";
const std::string kPoistettu =
    "{\n        \"muutosattribuutti\": \"POISTETTU\",\n        \"tietoryhma\": \"KOTIKUNTA\",\n"
    "        \"kuntakoodi\": \"091\",\n"
    "        \"kuntaanMuuttopv\": {\"tarkkuus\": \"PAIVA\", \"arvo\": \"2019-01-01\"},\n"
    "        \"alkupv\": {\"tarkkuus\": \"PAIVA\", \"arvo\": \"2019-01-01\"},\n"
    "        \"loppupv\": {\"arvo\": \"2019-09-24\", \"tarkkuus\": \"PAIVA\"},\n"
    "        \"voimassaolevatTiedot\": [{\"tietoryhma\": \"KOTIKUNTA\", \"kuntakoodi\": \"837\", "
    "\"alkupv\": {\"arvo\": \"2015-06-01\", \"tarkkuus\": \"PAIVA\"}}]\n      }";
const std::string kLisatieto =
    R"({"tietoryhma": "HENKILON_NIMI", "muutosattribuutti": "LISATIETO", "etunimi": "Päivi Ölli", )"
    R"("sukunimi": "Åkerblom", "alkupv": {"tarkkuus": "KUUKAUSI", "arvo": "1965-11-01"}})";
const std::string kCensored =
    R"({"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "MUUTETTU", )"
    R"("turvakiellonAlaisetKentat": ["katunimi", "katunumero", "huoneistonumero", "postinumero", "kuntakoodi"]})";
const std::string kUnknown =
    R"({"tietoryhma": "JOKU_MUU", "muutosattribuutti": "LISATTY", "uusiKentta": {"sisakkain": [{"a": 1}, []], )"
    R"("tyhja": {}}, "luku": -12.5e-3, "tosi": true, "ei": null, "alkupv": {"arvo": "1987", "tarkkuus": "VUOSI"}, )"
    R"("loppupv": {"arvo": "1990-00-00", "tarkkuus": "VUOSI"}, "asuinpaikantunnus": "900000041C1F028 "})";
const std::string kEscaped =
    R"({"tietoryhma": "HENKILON_NIMI", "muutosattribuutti": "MUUTETTU", "etunimi": "Eet\u00e4 \"Ekku\"", )"
    R"("sukunimi": "Back\\slash", "alkupv": "2001-02-03", "loppupv": {"arvo": "kesällä", "tarkkuus": "PAIVA"}})";
const std::string kEscapedNames =
    R"({"tietoryhma": "SAHKOPOSTI\u004fSOITE", "muutosattribuutti": "MUUTETT\u0055", )"
    R"("turvakiellonAlaisetKentat": ["sahkoposti\u006fsoite", "lajikoodi"]})";

std::string muutokset_body()
{
    return "{\n  \"viimeisinKirjausavain\": 5446623423,\n  \"muutokset\": [\n"
           "    {\"henkilotunnus\": \"040180-9998\", \"muutospv\": \"2020-10-01T04:38:04.394Z\", \"tietoryhmat\": [" +
           kKorjattava + ", " + kKorjattu +
           "]},\n"
           "    {\"muutospv\": \"2019-09-24T21:00:00.000Z\", \"tietoryhmat\": [\n      " +
           kPoistettu + " ,\n      " + kLisatieto +
           "\n    ], \"henkilotunnus\": \"020180-999Y\"},\n"
           "    {\"henkilotunnus\": \"030180-999L\", \"muutospv\": \"2021-03-15T10:20:30+02:00\", "
           "\"jokuUusiKentta\": {\"x\": [1, 2.5e3, null, \"\\u00e4\"]}, \"tietoryhmat\": [" +
           kCensored + "," + kUnknown +
           "]},\n"
           "    {\"henkilotunnus\": \"010188-916P\", \"muutospv\": \"2021-05-06T07:08:09.010Z\", \"tietoryhmat\": [" + kEscaped +
           ", " + kEscapedNames +
           "]},\n"
           "    {\"henkilotunnus\": \"010192\\u002d921W\", \"tietoryhmat\": [], \"muutospv\": \"2021-05-06T07:08:09Z\"}\n"
           "  ],\n  \"ajanTasalla\": false,\n  \"uusiYlatasonKentta\": {\"ohitetaan\": [true, false]}\n}";
}

const std::vector<std::string> kBodyHetus = {"040180-9998", "020180-999Y", "030180-999L", "010188-916P",
                                             "010192-921W", "010121A962W", "150327-977K"};

bool points_into(std::string_view view, const std::string &body)
{
    return view.data() >= body.data() && view.data() + view.size() <= body.data() + body.size();
}

TEST(JsonMuutokset, DecodesEveryGroupInOrder)
{
    std::string body = muutokset_body();
    const std::string original = body;
    JsonDecoder decoder;
    MuutoksetPage page;
    decoder.decode_muutokset(body, page, "POST /muutokset");
    EXPECT_EQ(body, original);  // contents unchanged (only the capacity may grow)

    EXPECT_EQ(page.bookmark, 5446623423LL);  // beyond 2^32
    EXPECT_FALSE(page.ajan_tasalla);
    EXPECT_EQ(page.records, 5u);
    ASSERT_EQ(page.rows.size(), 8u);

    const std::vector<std::string> raws = {kKorjattava, kKorjattu, kPoistettu, kLisatieto,
                                           kCensored,   kUnknown,  kEscaped,   kEscapedNames};
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> positions = {{0, 0}, {0, 1}, {1, 0}, {1, 1},
                                                                            {2, 0}, {2, 1}, {3, 0}, {3, 1}};
    for (std::size_t i = 0; i < page.rows.size(); ++i) {
        const GroupRow &r = page.rows[i];
        EXPECT_EQ(r.raw, raws[i]) << i;
        EXPECT_TRUE(points_into(r.raw, body)) << i;
        EXPECT_EQ(r.record_index, positions[i].first) << i;
        EXPECT_EQ(r.group_index, positions[i].second) << i;
    }

    // KORJATTAVA immediately followed by KORJATTU of the same group.
    EXPECT_EQ(page.rows[0].hetu, "040180-9998");
    EXPECT_TRUE(points_into(page.rows[0].hetu, body));
    EXPECT_EQ(page.rows[0].tietoryhma, "KUOLINPAIVA");
    EXPECT_EQ(page.rows[0].muutosattribuutti, "KORJATTAVA");
    EXPECT_EQ(page.rows[1].muutosattribuutti, "KORJATTU");
    EXPECT_TRUE(page.rows[0].has_muutospv);
    EXPECT_EQ(page.rows[0].muutospv_unix_us, 1601527084394000LL);
    EXPECT_FALSE(page.rows[0].alkupv.present);  // kuolinpv is not alkupv
    EXPECT_FALSE(page.rows[1].has_censored);

    // POISTETTU with voimassaolevatTiedot; hetu given after tietoryhmat; key order varies.
    const GroupRow &poistettu = page.rows[2];
    EXPECT_EQ(poistettu.hetu, "020180-999Y");
    EXPECT_EQ(page.rows[3].hetu, "020180-999Y");
    EXPECT_EQ(poistettu.muutospv_unix_us, 1569358800000000LL);
    EXPECT_EQ(poistettu.tietoryhma, "KOTIKUNTA");
    EXPECT_EQ(poistettu.muutosattribuutti, "POISTETTU");
    EXPECT_TRUE(poistettu.alkupv.present);
    EXPECT_EQ(poistettu.alkupv.days_since_unix_epoch, 17897);  // 2019-01-01
    EXPECT_TRUE(poistettu.loppupv.present);
    EXPECT_EQ(poistettu.loppupv.days_since_unix_epoch, 18163);  // 2019-09-24
    EXPECT_NE(poistettu.raw.find("voimassaolevatTiedot"), std::string_view::npos);

    // LISATIETO with Finnish characters and a KUUKAUSI date.
    EXPECT_EQ(page.rows[3].muutosattribuutti, "LISATIETO");
    EXPECT_EQ(page.rows[3].alkupv.days_since_unix_epoch, -1522);  // 1965-11-01

    // Censored group.
    const GroupRow &censored = page.rows[4];
    EXPECT_EQ(censored.hetu, "030180-999L");
    EXPECT_EQ(censored.muutospv_unix_us, 1615796430000000LL);  // +02:00
    EXPECT_TRUE(censored.has_censored);
    EXPECT_EQ(censored.censored_fields,
              (std::vector<std::string_view>{"katunimi", "katunumero", "huoneistonumero", "postinumero", "kuntakoodi"}));
    for (auto f : censored.censored_fields)
        EXPECT_TRUE(points_into(f, body));

    // Unknown group type with unknown fields: kept whole, VUOSI dates.
    const GroupRow &unknown = page.rows[5];
    EXPECT_EQ(unknown.tietoryhma, "JOKU_MUU");
    EXPECT_EQ(unknown.alkupv.days_since_unix_epoch, 6209);  // 1987-01-01
    EXPECT_TRUE(unknown.loppupv.present);                   // "1990-00-00" under VUOSI
    EXPECT_EQ(unknown.loppupv.days_since_unix_epoch, 7305);  // 1990-01-01
    EXPECT_FALSE(unknown.has_censored);

    // Escapes: raw keeps the original text.
    const GroupRow &escaped = page.rows[6];
    EXPECT_EQ(escaped.hetu, "010188-916P");
    EXPECT_TRUE(escaped.has_muutospv);
    EXPECT_EQ(escaped.muutospv_unix_us, 1620284889010000LL);
    EXPECT_NE(escaped.raw.find(R"("Eet\u00e4 \"Ekku\"")"), std::string_view::npos);
    EXPECT_NE(escaped.raw.find(R"("Back\\slash")"), std::string_view::npos);
    EXPECT_TRUE(escaped.alkupv.present);  // a plain string date
    EXPECT_EQ(escaped.alkupv.days_since_unix_epoch, 11356);
    EXPECT_FALSE(escaped.loppupv.present);  // "kesällä" is unreadable

    const GroupRow &names = page.rows[7];
    EXPECT_EQ(names.tietoryhma, "SAHKOPOSTIOSOITE");
    EXPECT_FALSE(points_into(names.tietoryhma, body));  // unescaped copy in the arena
    EXPECT_EQ(names.muutosattribuutti, "MUUTETTU");
    EXPECT_EQ(names.censored_fields, (std::vector<std::string_view>{"sahkopostiosoite", "lajikoodi"}));
}

TEST(JsonMuutokset, EmptyListAndUpToDate)
{
    std::string body = R"({"viimeisinKirjausavain":3494393,"muutokset":[],"ajanTasalla":true})";
    JsonDecoder decoder;
    MuutoksetPage page;
    page.rows.resize(3);  // stale rows are dropped
    decoder.decode_muutokset(body, page, "POST /muutokset");
    EXPECT_EQ(page.bookmark, 3494393);
    EXPECT_TRUE(page.ajan_tasalla);
    EXPECT_EQ(page.records, 0u);
    EXPECT_TRUE(page.rows.empty());
}

TEST(JsonMuutokset, FieldOrderAndWhitespaceDoNotMatter)
{
    std::string body = " \r\n\t{ \"ajanTasalla\" : true ,\"muutokset\" : [ { \"tietoryhmat\" : [ {\"tietoryhma\":\"A\"} "
                       "\n ] , \"muutospv\" :\"2019-09-24T21:00:00Z\", \"henkilotunnus\" : \"010594Y9032\" } ] , \"viimeisinKirjausavain\" : 1 } \n ";
    JsonDecoder decoder;
    MuutoksetPage page;
    decoder.decode_muutokset(body, page, "POST /muutokset");
    EXPECT_EQ(page.bookmark, 1);
    EXPECT_TRUE(page.ajan_tasalla);
    ASSERT_EQ(page.rows.size(), 1u);
    EXPECT_EQ(page.rows[0].raw, R"({"tietoryhma":"A"})");
    EXPECT_EQ(page.rows[0].hetu, "010594Y9032");
    EXPECT_EQ(page.rows[0].muutospv_unix_us, 1569358800000000LL);
    EXPECT_TRUE(page.rows[0].muutosattribuutti.empty());
    // Escaped keys are keys all the same.
    body = R"({"viimeisinKirjausavain":2,"ajanTasalla":true,"muutok\u0073et":[{"henkilotunnu\u0073":"010594Y9032",)"
           R"("muutos\u0070v":"2019-09-24T21:00:00Z","tietoryhma\u0074":[{"tietoryhm\u0061":"B","turvakiellon\u0041laisetKentat":["x"]}]}]})";
    decoder.decode_muutokset(body, page, "POST /muutokset");
    ASSERT_EQ(page.rows.size(), 1u);
    EXPECT_EQ(page.rows[0].tietoryhma, "B");
    EXPECT_TRUE(page.rows[0].has_censored);
    EXPECT_EQ(page.rows[0].hetu, "010594Y9032");
}

TEST(JsonMuutokset, CensoredKeyCensorsAnyListOfNames)
{
    // The key's presence is what counts: an empty list censors the group too.
    std::string body = R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"010516B903X",)"
                       R"("muutospv":"2019-09-24T21:00:00Z","tietoryhmat":[{"tietoryhma":"KOTIKUNTA","turvakiellonAlaisetKentat":[]},)"
                       R"({"tietoryhma":"KOTIKUNTA","turvakiellonAlaisetKentat":["kuntakoodi","kuntaanMuuttopv"]},)"
                       R"({"tietoryhma":"","muutosattribuutti":""}]}]})";
    JsonDecoder decoder;
    MuutoksetPage page;
    decoder.decode_muutokset(body, page, "POST /muutokset");
    ASSERT_EQ(page.rows.size(), 3u);
    EXPECT_TRUE(page.rows[0].has_censored);
    EXPECT_TRUE(page.rows[0].censored_fields.empty());
    EXPECT_TRUE(page.rows[0].withheld_only);
    EXPECT_TRUE(page.rows[1].has_censored);
    EXPECT_EQ(page.rows[1].censored_fields, (std::vector<std::string_view>{"kuntakoodi", "kuntaanMuuttopv"}));
    EXPECT_FALSE(page.rows[2].has_censored);
    EXPECT_TRUE(page.rows[2].tietoryhma.empty());  // an empty string is a string
    EXPECT_TRUE(page.rows[2].muutosattribuutti.empty());
}

TEST(JsonMuutokset, DateForms)
{
    auto alkupv = [](const std::string &date_json) {
        std::string body = R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"020503F9037",)"
                           R"("muutospv":"2019-09-24T21:00:00Z","tietoryhmat":[{"tietoryhma":"X","alkupv":)" +
                           date_json + "}]}]}";
        JsonDecoder decoder;
        MuutoksetPage page;
        decoder.decode_muutokset(body, page, "POST /muutokset");
        return page.rows.at(0).alkupv;
    };
    auto days = [&](const std::string &date_json) {
        const vtj::OptionalDate d = alkupv(date_json);
        return d.present ? d.days_since_unix_epoch : INT32_MIN;
    };
    EXPECT_EQ(days(R"({"arvo":"2000-02-29","tarkkuus":"PAIVA"})"), 11016);
    EXPECT_EQ(days(R"({"tarkkuus":"PAIVA","arvo":"2000-02-29"})"), 11016);
    EXPECT_EQ(days(R"({"arvo":"2000-02-29"})"), 11016);
    EXPECT_EQ(days(R"("2000-02-29")"), 11016);
    EXPECT_EQ(days(R"({"arvo":"1965-11-01","tarkkuus":"KUUKAUSI"})"), -1522);
    EXPECT_EQ(days(R"({"arvo":"1965-11-17","tarkkuus":"KUUKAUSI"})"), -1522);
    EXPECT_EQ(days(R"({"arvo":"1965-11-00","tarkkuus":"KUUKAUSI"})"), -1522);
    EXPECT_EQ(days(R"({"arvo":"1965-11","tarkkuus":"KUUKAUSI"})"), -1522);
    EXPECT_EQ(days(R"({"arvo":"1987","tarkkuus":"VUOSI"})"), 6209);
    EXPECT_EQ(days(R"({"arvo":"1987-06-15","tarkkuus":"VUOSI"})"), 6209);
    EXPECT_EQ(days(R"({"arvo":"1987-00-00","tarkkuus":"VUOSI"})"), 6209);
    EXPECT_EQ(days(R"({"arvo":"1965-11","tarkkuus":"PAIVA"})"), -1522);
    EXPECT_EQ(days(R"({"arvo":"2000-02-29","tarkkuus":"PAIVA","lisatieto":{"x":[1]}})"), 11016);
    EXPECT_EQ(days(R"({"arvo":"2000-02-29","tarkkuus":"TUNTEMATON"})"), 11016);
    EXPECT_EQ(days(R"({"arvo":"2000-\u0030\u0032-29"})"), 11016);  // escaped arvo
    // Unreadable: not present, not an error.
    EXPECT_EQ(days(R"({"arvo":"1965-11-00","tarkkuus":"PAIVA"})"), INT32_MIN);
    EXPECT_EQ(days(R"({"arvo":"2001-02-29","tarkkuus":"PAIVA"})"), INT32_MIN);
    EXPECT_EQ(days(R"({"arvo":"1965-13","tarkkuus":"KUUKAUSI"})"), INT32_MIN);
    EXPECT_EQ(days(R"({"arvo":"65-11-01"})"), INT32_MIN);
    EXPECT_EQ(days(R"({"arvo":null,"tarkkuus":"PAIVA"})"), INT32_MIN);
    EXPECT_EQ(days(R"({"arvo":19651101})"), INT32_MIN);
    EXPECT_EQ(days(R"({"tarkkuus":"PAIVA"})"), INT32_MIN);
    EXPECT_EQ(days(R"({})"), INT32_MIN);
    EXPECT_EQ(days("null"), INT32_MIN);
    EXPECT_EQ(days("[\"2000-02-29\"]"), INT32_MIN);
    EXPECT_EQ(days("20000229"), INT32_MIN);
}

// ---- /perustiedot --------------------------------------------------------------------------

TEST(JsonPerustiedot, SeveralPersonsAndAnEmptyOne)
{
    std::string body =
        R"({"perustiedot": [)"
        R"({"henkilotunnus": "010192-921W", "tietoryhmat": [{"tietoryhma": "SUKUPUOLI", "sukupuoli": "NAINEN"}, )"
        R"({"tietoryhma": "HENKILON_NIMI", "etunimi": "Säde", "sukunimi": "Öhman", "alkupv": {"arvo": "2012-03-04", "tarkkuus": "PAIVA"}}]}, )"
        R"({"henkilotunnus": "010121A962W", "tietoryhmat": []}, )"
        R"({"tietoryhmat": [{"tietoryhma": "KOTIKUNTA", "turvakiellonAlaisetKentat": ["kuntakoodi"]}], "henkilotunnus": "150327-977K", "uusi": 1})"
        R"(], "poimintapv": "2024-08-20"})";
    JsonDecoder decoder;
    PerustiedotPage page;
    page.ajan_tasalla = false;
    decoder.decode_perustiedot(body, page, "POST /perustiedot");
    EXPECT_TRUE(page.ajan_tasalla);  // missing: default true
    EXPECT_EQ(page.persons, 3u);
    EXPECT_EQ(page.person_hetus, (std::vector<std::string_view>{"010192-921W", "010121A962W", "150327-977K"}));
    ASSERT_EQ(page.rows.size(), 3u);
    EXPECT_EQ(page.rows[0].hetu, "010192-921W");
    EXPECT_EQ(page.rows[0].tietoryhma, "SUKUPUOLI");
    EXPECT_TRUE(page.rows[0].muutosattribuutti.empty());
    EXPECT_FALSE(page.rows[0].has_muutospv);
    EXPECT_EQ(page.rows[1].group_index, 1u);
    EXPECT_EQ(page.rows[1].alkupv.days_since_unix_epoch, 15403);  // 2012-03-04
    EXPECT_EQ(page.rows[1].raw,
              R"({"tietoryhma": "HENKILON_NIMI", "etunimi": "Säde", "sukunimi": "Öhman", "alkupv": {"arvo": "2012-03-04", "tarkkuus": "PAIVA"}})");
    EXPECT_EQ(page.rows[2].hetu, "150327-977K");
    EXPECT_EQ(page.rows[2].record_index, 2u);
    EXPECT_EQ(page.rows[2].group_index, 0u);
    EXPECT_TRUE(page.rows[2].has_censored);
}

TEST(JsonPerustiedot, AjanTasallaFalseAndMuutospvIgnored)
{
    std::string body = R"({"ajanTasalla": false, "perustiedot": [{"henkilotunnus": "010594Y9032", )"
                       R"("muutospv": "2019-09-24T21:00:00.000Z", "tietoryhmat": [{"tietoryhma": "A"}]}]})";
    JsonDecoder decoder;
    PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot");
    EXPECT_FALSE(page.ajan_tasalla);
    ASSERT_EQ(page.rows.size(), 1u);
    EXPECT_FALSE(page.rows[0].has_muutospv);
}

// A page says whether any of its strings can hold U+0000, so that the PostgreSQL side looks at
// the tokens of its rows only then (jsonb refuses U+0000).
TEST(JsonNul, OnlyTheEscapeOrARawNulMakesOne)
{
    EXPECT_FALSE(vtj::body_may_hold_nul(R"({"a": "\u00e4\u0001 \u0100 0000"})"));
    EXPECT_TRUE(vtj::body_may_hold_nul(R"({"a": "x\u0000"})"));
    EXPECT_TRUE(vtj::body_may_hold_nul(R"({"k\u0000": 1})"));
    EXPECT_TRUE(vtj::body_may_hold_nul(std::string_view("{\"a\": \"x\0\"}", 11)));
    EXPECT_TRUE(vtj::body_may_hold_nul(R"({"a": "\\u0000"})"));  // a backslash and text: true errs on the safe side
    EXPECT_FALSE(vtj::body_may_hold_nul(""));
}

TEST(JsonNul, DecodedPagesCarryTheFlag)
{
    JsonDecoder decoder;
    PerustiedotPage page;
    std::string plain = R"({"perustiedot": [{"henkilotunnus": "010594Y9032", "tietoryhmat": [{"tietoryhma": "A", "x": "\u00e4"}]}]})";
    decoder.decode_perustiedot(plain, page, "POST /perustiedot", true);
    EXPECT_FALSE(page.may_hold_nul);
    std::string nul = R"({"perustiedot": [{"henkilotunnus": "010594Y9032", "tietoryhmat": [{"tietoryhma": "A", "x\u0000": "y"}]}]})";
    decoder.decode_perustiedot(nul, page, "POST /perustiedot", true);
    EXPECT_TRUE(page.may_hold_nul);
    EXPECT_TRUE(vtj::tokens_hold_nul(page.tokens.data(), page.tokens.data() + page.tokens.size()));
    MuutoksetPage changes;
    std::string change = R"({"viimeisinKirjausavain": 7, "ajanTasalla": true, "muutokset": [{"henkilotunnus": "010594Y9032", )"
                         R"("muutospv": "2020-10-01T04:38:04.394Z", "tietoryhmat": [{"tietoryhma": "A", "muutosattribuutti": "LISATTY", "x": "a\u0000"}]}]})";
    decoder.decode_muutokset(change, changes, "POST /muutokset", true);
    EXPECT_TRUE(changes.may_hold_nul);
    std::string clean = R"({"viimeisinKirjausavain": 7, "ajanTasalla": true, "muutokset": []})";
    decoder.decode_muutokset(clean, changes, "POST /muutokset", true);
    EXPECT_FALSE(changes.may_hold_nul);
}

TEST(JsonKirjausavain, Decodes)
{
    JsonDecoder decoder;
    std::string body = R"({"viimeisinKirjausavain": 5446623423})";
    EXPECT_EQ(decoder.decode_kirjausavain(body, "GET /kirjausavain"), 5446623423LL);
    body = R"({"muuKentta": [1, {"a": null}], "viimeisinKirjausavain": 4611686018427387904})";
    EXPECT_EQ(decoder.decode_kirjausavain(body, "GET /kirjausavain"), 4611686018427387904LL);  // 2^62
    body = R"({"viimeisinKirjausavain": 1})";
    EXPECT_EQ(decoder.decode_kirjausavain(body, "GET /kirjausavain"), 1);
}

// ---- reuse ---------------------------------------------------------------------------------

TEST(JsonReuse, EarlierPagesStayValidWhileTheirBodiesLive)
{
    JsonDecoder decoder;
    std::vector<std::string> bodies;
    std::vector<MuutoksetPage> pages(20);
    for (int i = 0; i < 20; ++i) {
        const std::string hetu = "0101" + std::to_string(10 + i) + "-9" + std::to_string(10 + i) + "X";
        bodies.push_back(R"({"viimeisinKirjausavain":)" + std::to_string(1000 + i) + R"(,"muutokset":[{"henkilotunnus":")" +
                         hetu + R"(","muutospv":"2019-09-24T21:00:00Z","tietoryhmat":[{"tietoryhma":"R\u00c4)" + std::to_string(i) +
                         R"(","turvakiellonAlaisetKentat":["k\u00e4)" + std::to_string(i) + R"("]}]}],"ajanTasalla":false})");
    }
    for (int i = 0; i < 20; ++i)
        decoder.decode_muutokset(bodies[i], pages[i], "POST /muutokset");
    std::vector<MuutoksetPage> moved = std::move(pages);  // moving pages keeps rows valid
    for (int i = 0; i < 20; ++i) {
        const std::string hetu = "0101" + std::to_string(10 + i) + "-9" + std::to_string(10 + i) + "X";
        ASSERT_EQ(moved[i].rows.size(), 1u);
        EXPECT_EQ(moved[i].bookmark, 1000 + i);
        EXPECT_EQ(moved[i].rows[0].hetu, hetu);
        EXPECT_EQ(moved[i].rows[0].tietoryhma, "RÄ" + std::to_string(i));
        EXPECT_EQ(moved[i].rows[0].censored_fields.at(0), "kä" + std::to_string(i));
        EXPECT_TRUE(points_into(moved[i].rows[0].raw, bodies[i]));
    }
}

TEST(JsonReuse, DecodingIntoTheSamePageReplacesIt)
{
    JsonDecoder decoder;
    MuutoksetPage page;
    std::string first = muutokset_body();
    decoder.decode_muutokset(first, page, "POST /muutokset");
    ASSERT_EQ(page.rows.size(), 8u);
    std::string second = R"({"viimeisinKirjausavain":7,"muutokset":[{"henkilotunnus":"040180-9998","muutospv":"2019-09-24T21:00:00Z","tietoryhmat":)"
                         R"([{"tietoryhma":"A"},{"tietoryhma":"B"},{"tietoryhma":"C"},{"tietoryhma":"D"},{"tietoryhma":"E"}]}],"ajanTasalla":true})";
    decoder.decode_muutokset(second, page, "POST /muutokset");
    ASSERT_EQ(page.rows.size(), 5u);
    EXPECT_TRUE(page.unescaped.empty());
    for (const GroupRow &r : page.rows) {
        EXPECT_FALSE(r.has_censored);  // no leftovers from the first page's censored rows
        EXPECT_TRUE(r.censored_fields.empty());
        EXPECT_FALSE(r.alkupv.present);
        EXPECT_TRUE(r.muutosattribuutti.empty());
        EXPECT_TRUE(points_into(r.raw, second));
    }
    EXPECT_EQ(page.rows[4].tietoryhma, "E");
}

// ---- errors --------------------------------------------------------------------------------

// Decodes `body` as /muutokset and returns the error; fails the test if there is none or if
// any text of it contains a hetu of the body.
vtj::Error muutokset_error(std::string body)
{
    JsonDecoder decoder;
    MuutoksetPage page;
    try {
        decoder.decode_muutokset(body, page, "POST /muutokset");
    } catch (const vtj::Error &e) {
        EXPECT_EQ(e.kind(), vtj::ErrorKind::BadResponse);
        for (const std::string &hetu : kBodyHetus) {
            EXPECT_EQ(std::string(e.what()).find(hetu), std::string::npos) << e.what();
            EXPECT_EQ(e.detail().find(hetu), std::string::npos) << e.detail();
            EXPECT_EQ(e.hint().find(hetu), std::string::npos) << e.hint();
        }
        EXPECT_TRUE(page.rows.empty());
        return e;
    }
    ADD_FAILURE() << "no error for: " << body;
    return vtj::Error(vtj::ErrorKind::Internal, "");
}

std::string msg(const vtj::Error &e) { return e.what(); }

const std::string kRecord = R"({"henkilotunnus":"040180-9998","muutospv":"2020-10-01T04:38:04.394Z","tietoryhmat":[{"tietoryhma":"A"}]})";

TEST(JsonErrors, InvalidJson)
{
    const std::vector<std::string> bodies = {
        "",
        "   ",
        "<html><title>502 Bad Gateway</title></html>",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":tru})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true} x)",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true}{})",
        R"({"viimeisinKirjausavain":1 "muutokset":[],"ajanTasalla":true})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,"x":[1 2]})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,"x":01})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,"x":"\q"})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,"x":"\ud800"})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,"x":nul})",
        R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":true,"x\q":1})",
        "{\"viimeisinKirjausavain\":1,\"muutokset\":[],\"ajanTasalla\":true,\"x\":\"a\tb\"}",
        "{\"viimeisinKirjausavain\":1,\"muutokset\":[],\"ajanTasalla\":true,\"x\":\"\xff\"}",
        // Inside a group, in parts the decoder does not read (they would reach `raw`).
        R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"A","x":{"y":[1,,2]}}]}]})",
        R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"A","x":-}]}]})",
        R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"A","x":1.}]}]})",
        R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"A","x":truex}]}]})",
        R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"A" "x":1}]}]})",
        R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"A","alkupv":{"arvo":"2000-01-01",}}]}]})",
    };
    for (const std::string &body : bodies) {
        const vtj::Error e = muutokset_error(body);
        EXPECT_NE(msg(e).find("the response to POST /muutokset is not valid JSON"), std::string::npos)
            << msg(e) << " for " << body;
    }
}

TEST(JsonErrors, EveryTruncationFails)
{
    const std::string body = R"({"viimeisinKirjausavain":5446623423,"muutokset":[)" + kRecord + "," + kRecord +
                             R"(],"ajanTasalla":false})";
    {
        std::string whole = body;
        JsonDecoder decoder;
        MuutoksetPage page;
        decoder.decode_muutokset(whole, page, "POST /muutokset");
        ASSERT_EQ(page.rows.size(), 2u);
    }
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
        const vtj::Error e = muutokset_error(body.substr(0, cut));
        EXPECT_NE(msg(e).find("POST /muutokset"), std::string::npos) << cut;
    }
    // A bigger body cut mid-way in a few places, decoded with one decoder.
    std::string big = muutokset_body();
    JsonDecoder decoder;
    for (std::size_t cut : {big.size() / 5, big.size() / 3, big.size() / 2, big.size() - 2, big.size() - 1}) {
        std::string part = big.substr(0, cut);
        MuutoksetPage page;
        EXPECT_THROW(decoder.decode_muutokset(part, page, "POST /muutokset"), vtj::Error) << cut;
    }
}

TEST(JsonErrors, MissingOrIllTypedTopLevelFields)
{
    EXPECT_EQ(msg(muutokset_error(R"({"muutokset":[],"ajanTasalla":true})")),
              R"(the response to POST /muutokset has no "viimeisinKirjausavain")");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true})")),
              R"(the response to POST /muutokset has no "muutokset")");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"muutokset":[]})")),
              R"(the response to POST /muutokset has no "ajanTasalla")");
    for (const char *bookmark : {R"("5446623423")", "1.5", "1.0", "1e3", "null", "true", "[1]",
                                 "9223372036854775808", "-9223372036854775809"}) {
        const vtj::Error e = muutokset_error(std::string(R"({"viimeisinKirjausavain":)") + bookmark +
                                             R"(,"muutokset":[],"ajanTasalla":true})");
        EXPECT_EQ(msg(e), R"(the response to POST /muutokset has an invalid "viimeisinKirjausavain")") << bookmark;
    }
    EXPECT_NE(muutokset_error(R"({"viimeisinKirjausavain":"1","muutokset":[],"ajanTasalla":true})").detail().find("string"),
              std::string::npos);
    for (const char *list : {"{}", "null", R"("[]")", "1"})
        EXPECT_EQ(msg(muutokset_error(std::string(R"({"viimeisinKirjausavain":1,"muutokset":)") + list +
                                      R"(,"ajanTasalla":true})")),
                  R"(the response to POST /muutokset has an invalid "muutokset")")
            << list;
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"muutokset":[],"ajanTasalla":"true"})")),
              R"(the response to POST /muutokset has an invalid "ajanTasalla")");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"viimeisinKirjausavain":2,"muutokset":[],"ajanTasalla":true})")),
              R"(the response to POST /muutokset has "viimeisinKirjausavain" more than once)");
    EXPECT_EQ(msg(muutokset_error(R"([{"viimeisinKirjausavain":1}])")),
              "the response to POST /muutokset is not a JSON object");
    EXPECT_EQ(msg(muutokset_error(R"("040180-9998")")), "the response to POST /muutokset is not a JSON object");
}

TEST(JsonErrors, BrokenRecordNamesTheIndexNotTheHetu)
{
    // evaka's mock "rikkinainen_tietue": a change record without tietoryhmat.
    const vtj::Error e = muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[)" + kRecord +
                                         R"(,{"henkilotunnus":"020180-999Y","muutospv":"2020-10-01T04:38:04.394Z"}]})");
    EXPECT_EQ(msg(e), R"(change record 1 (counting from 0) in the response to POST /muutokset has no "tietoryhmat")");

    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"020180-999Y","tietoryhmat":null}]})")),
              R"(change record 0 (counting from 0) in the response to POST /muutokset has an invalid "tietoryhmat")");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"tietoryhmat":[]}]})")),
              R"(change record 0 (counting from 0) in the response to POST /muutokset has no "henkilotunnus")");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":null,"tietoryhmat":[]}]})")),
              R"(change record 0 (counting from 0) in the response to POST /muutokset has an invalid "henkilotunnus")");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":["020180-999Y"]})")),
              R"(change record 0 (counting from 0) in the response to POST /muutokset is not a JSON object)");
}

TEST(JsonErrors, GroupNotAnObject)
{
    const vtj::Error e = muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[)" + kRecord +
                                         R"(,{"henkilotunnus":"030180-999L","tietoryhmat":[{"tietoryhma":"A"},"020180-999Y"]}]})");
    EXPECT_EQ(msg(e), "group 1 of change record 1 (counting from 0) in the response to POST /muutokset is not a JSON object");
    EXPECT_EQ(e.detail(), "found a string");
    EXPECT_EQ(msg(muutokset_error(R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"030180-999L","tietoryhmat":[{"tietoryhma":5}]}]})")),
              R"(group 0 of change record 0 (counting from 0) in the response to POST /muutokset has an invalid "tietoryhma")");
}

TEST(JsonErrors, TooDeep)
{
    std::string deep = R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"030180-999L","tietoryhmat":[{"x":)";
    deep += std::string(300, '[') + std::string(300, ']') + "}]}]}";
    EXPECT_NE(msg(muutokset_error(deep)).find("levels deep"), std::string::npos);
}

TEST(JsonErrors, PerustiedotAndKirjausavain)
{
    JsonDecoder decoder;
    PerustiedotPage page;
    std::string body = R"({"ajanTasalla":true})";
    try {
        decoder.decode_perustiedot(body, page, "POST /perustiedot");
        ADD_FAILURE();
    } catch (const vtj::Error &e) {
        EXPECT_EQ(msg(e), R"(the response to POST /perustiedot has no "perustiedot")");
    }
    body = R"({"perustiedot":[{"henkilotunnus":"010192-921W"}]})";
    try {
        decoder.decode_perustiedot(body, page, "POST /perustiedot");
        ADD_FAILURE();
    } catch (const vtj::Error &e) {
        EXPECT_EQ(msg(e), R"(person 0 (counting from 0) in the response to POST /perustiedot has no "tietoryhmat")");
        EXPECT_EQ(std::string(e.what()).find("010192-921W"), std::string::npos);
        EXPECT_TRUE(page.person_hetus.empty());
    }
    for (std::string bad : {std::string(R"({"viimeisinKirjausavain":"5446623423"})"), std::string("{}"),
                            std::string(R"({"viimeisinKirjausavain":5446623423)"), std::string("5446623423")}) {
        EXPECT_THROW(decoder.decode_kirjausavain(bad, "GET /kirjausavain/2024-01-01"), vtj::Error) << bad;
    }
    // The decoder still works after errors.
    body = R"({"perustiedot":[],"ajanTasalla":false})";
    decoder.decode_perustiedot(body, page, "POST /perustiedot");
    EXPECT_FALSE(page.ajan_tasalla);
    EXPECT_EQ(page.persons, 0u);
}

TEST(JsonErrors, DetailGivesPositionNotContent)
{
    const vtj::Error e = muutokset_error(R"({"viimeisinKirjausavain":1,"muutokset":[{"henkilotunnus":"040180-9998",)"
                                         R"("tietoryhmat":[{"tietoryhma":"A","x":[1 2]}]}],"ajanTasalla":true})");
    EXPECT_NE(e.detail().find("simdjson: "), std::string::npos) << e.detail();
    EXPECT_NE(e.detail().find("byte"), std::string::npos) << e.detail();
}

TEST(JsonErrors, MutationsNeverPassInvalidJson)
{
    // Differential check against simdjson's fully validating DOM parser: whatever the decoder
    // accepts must be valid JSON, each row's raw must be a JSON object, and the only exception
    // is vtj::Error.
    const std::string original = muutokset_body();
    static const char kAlphabet[] = "{}[],:\"\\ 0129eE.-+tfnulxa\x01\xff";
    const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);
    // VTJ_JSON_MUTATIONS=N runs N mutations (and a seed of its own) instead of the quick default.
    const char *const env = std::getenv("VTJ_JSON_MUTATIONS");
    const int mutations = env != nullptr ? std::atoi(env) : 6000;
    std::uint32_t seed = env != nullptr ? std::uint32_t(std::time(nullptr)) : 12345u;
    auto next = [&seed]() {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 8) & 0xffffff;
    };
    JsonDecoder decoder;
    simdjson::dom::parser dom;
    int accepted = 0;
    for (int i = 0; i < mutations; ++i) {
        std::string body = original;
        for (int edits = 1 + next() % 2; edits > 0; --edits) {
            const std::size_t at = next() % body.size();
            const char c = alphabet[next() % alphabet.size()];
            switch (next() % 3) {
            case 0: body[at] = c; break;
            case 1: body.insert(body.begin() + std::ptrdiff_t(at), c); break;
            default: body.erase(at, 1 + next() % 3);
            }
        }
        const simdjson::padded_string padded(body);
        simdjson::dom::element element;
        const bool valid = dom.parse(padded).get(element) == simdjson::SUCCESS;
        MuutoksetPage page;
        try {
            decoder.decode_muutokset(body, page, "POST /muutokset");
        } catch (const vtj::Error &e) {
            EXPECT_EQ(e.kind(), vtj::ErrorKind::BadResponse);
            continue;
        } catch (...) {
            ADD_FAILURE() << "not a vtj::Error for mutation " << i;
            continue;
        }
        ++accepted;
        if (!valid) {
            std::size_t d = 0;
            while (d < body.size() && d < original.size() && body[d] == original[d])
                ++d;
            const std::size_t from = d < 40 ? 0 : d - 40;
            ADD_FAILURE() << "accepted invalid JSON, first change at byte " << d << ": …" << body.substr(from, 80) << "…";
        }
        for (const GroupRow &r : page.rows) {
            const simdjson::padded_string raw(r.raw);
            simdjson::dom::object object;
            EXPECT_EQ(dom.parse(raw).get(object), simdjson::SUCCESS) << r.raw;
        }
    }
    if (env == nullptr) {
        EXPECT_GT(accepted, 100);  // the mutations do not all break the body
    }
}

// ---- the interface's shapes: what does not fit is refused, never guessed --------------------

// A /muutokset body of one change record with these groups (a JSON array's contents).
std::string one_record(const std::string &groups, const std::string &muutospv = R"("muutospv":"2020-10-01T04:38:04.394Z",)")
{
    return R"({"viimeisinKirjausavain":1,"ajanTasalla":true,"muutokset":[{"henkilotunnus":"040180-9998",)" + muutospv +
           R"("tietoryhmat":[)" + groups + "]}]}";
}

TEST(JsonShape, GroupObjectsOfAnotherShapeAreRefused)
{
    const std::string place = "group 1 of change record 0 (counting from 0) in the response to POST /muutokset";
    const std::string ok = R"({"tietoryhma":"A","muutosattribuutti":"LISATTY"},)";
    struct Case {
        const char *group, *message, *detail;
    };
    const Case cases[] = {
        {R"({"muutosattribuutti":"LISATTY","x":1})", " has no \"tietoryhma\"", ""},
        {R"({"tietoryhma":null})", " has an invalid \"tietoryhma\"", "expected a string, found null"},
        {R"({"tietoryhma":7})", " has an invalid \"tietoryhma\"", "expected a string, found a number"},
        {R"({"tietoryhma":["A"]})", " has an invalid \"tietoryhma\"", "expected a string, found an array"},
        {R"({"tietoryhma":"A","muutosattribuutti":null})", " has an invalid \"muutosattribuutti\"", "expected a string, found null"},
        {R"({"tietoryhma":"A","muutosattribuutti":{"x":1}})", " has an invalid \"muutosattribuutti\"", "expected a string, found an object"},
        {R"({"tietoryhma":"A","voimassaolevatTiedot":null})", " has an invalid \"voimassaolevatTiedot\"",
         "expected an array of objects, found null"},
        {R"({"tietoryhma":"A","voimassaolevatTiedot":{"tietoryhma":"A"}})", " has an invalid \"voimassaolevatTiedot\"",
         "expected an array of objects, found an object"},
        {R"({"tietoryhma":"A","voimassaolevatTiedot":[{"tietoryhma":"A"},"020180-999Y"]})", " has an invalid \"voimassaolevatTiedot\"",
         "expected an array of objects, found a string at index 1"},
        {R"({"tietoryhma":"A","turvakiellonAlaisetKentat":null})", " has an invalid \"turvakiellonAlaisetKentat\"",
         "expected an array of strings, found null"},
        {R"({"tietoryhma":"A","turvakiellonAlaisetKentat":"katunimi"})", " has an invalid \"turvakiellonAlaisetKentat\"",
         "expected an array of strings, found a string"},
        {R"({"tietoryhma":"A","turvakiellonAlaisetKentat":["katunimi",7]})", " has an invalid \"turvakiellonAlaisetKentat\"",
         "expected an array of strings, found a number at index 1"},
        {R"({"tietoryhma":"A","turvakiellonAlaisetKentat":["katunimi",{"x":"020180-999Y"}]})",
         " has an invalid \"turvakiellonAlaisetKentat\"", "expected an array of strings, found an object at index 1"},
    };
    for (const Case &k : cases) {
        SCOPED_TRACE(k.group);
        const vtj::Error e = muutokset_error(one_record(ok + k.group));
        EXPECT_EQ(msg(e), place + k.message);
        if (k.detail[0]) {
            EXPECT_EQ(e.detail(), k.detail);
        }
        // the same in /perustiedot
        std::string body = R"({"perustiedot":[{"henkilotunnus":"040180-9998","tietoryhmat":[)" + ok + k.group + "]}]}";
        JsonDecoder decoder;
        PerustiedotPage page;
        EXPECT_THROW(decoder.decode_perustiedot(body, page, "POST /perustiedot"), vtj::Error);
    }
    // What fits, with unknown fields and group types, is read (DVV adds fields over time).
    std::string body = one_record(ok + R"({"tietoryhma":"UUSI_RYHMA","uusi":{"a":[null]},"voimassaolevatTiedot":[],)"
                                       R"("turvakiellonAlaisetKentat":[]},{"tietoryhma":"B","voimassaolevatTiedot":[{},{"y":2}]})");
    JsonDecoder decoder;
    MuutoksetPage page;
    decoder.decode_muutokset(body, page, "POST /muutokset");
    EXPECT_EQ(page.rows.size(), 3u);
}

TEST(JsonShape, MuutospvIsRequiredAndMustBeAnInstant)
{
    const std::string place = "change record 0 (counting from 0) in the response to POST /muutokset";
    const std::string g = R"({"tietoryhma":"A"})";
    EXPECT_EQ(msg(muutokset_error(one_record(g, ""))), place + " has no \"muutospv\"");
    for (const char *bad : {R"("muutospv":null,)", R"("muutospv":1601527084394,)", R"("muutospv":"ei päivämäärä",)",
                            R"("muutospv":"2020-10-01",)", R"("muutospv":"2020-13-01T04:38:04Z",)", R"("muutospv":{"arvo":"x"},)"}) {
        SCOPED_TRACE(bad);
        const vtj::Error e = muutokset_error(one_record(g, bad));
        EXPECT_EQ(msg(e), place + " has an unreadable \"muutospv\"");
        EXPECT_EQ(e.detail().find("ei päivämäärä"), std::string::npos);
    }
    EXPECT_EQ(msg(muutokset_error(one_record(g, R"("muutospv":"2020-10-01T04:38:04Z","muutospv":"2020-10-01T04:38:04Z",)"))),
              place + " has \"muutospv\" more than once");
    // An empty change record still needs its time.
    EXPECT_EQ(msg(muutokset_error(one_record("", ""))), place + " has no \"muutospv\"");
}

TEST(JsonShape, DuplicateKeysInsideAGroupAreRefusedByPath)
{
    const std::string place = "group 0 of change record 0 (counting from 0) in the response to POST /muutokset";
    struct Case {
        const char *group, *path;
    };
    const Case cases[] = {
        // jsonb would keep the last: this person would count as unprotected
        {R"({"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen": true, "turvakieltoAktiivinen": false})", "turvakieltoAktiivinen"},
        {R"({"tietoryhma":"A","tietoryhma":"B"})", "tietoryhma"},
        {R"({"tietoryhma":"A","muutosattribuutti":"LISATTY","muutosattribuutti":"POISTETTU"})", "muutosattribuutti"},
        {R"({"tietoryhma":"A","turvakiellonAlaisetKentat":[],"turvakiellonAlaisetKentat":["x"]})", "turvakiellonAlaisetKentat"},
        {R"({"tietoryhma":"TURVAKIELTO","voimassaolevatTiedot":[{"a":1},{"turvakieltoAktiivinen":true,"turvakieltoAktiivinen":false}]})",
         "voimassaolevatTiedot[1].turvakieltoAktiivinen"},
        {R"({"tietoryhma":"A","alkupv":{"arvo":"2020-01-01","arvo":"2021-01-01"}})", "alkupv.arvo"},
        {R"({"tietoryhma":"A","x":{"y":[[{"z":1,"\u007a":2}]]}})", "x.y[0][0].z"},  // an escaped twin is the same key
        {R"({"tietoryhma":"A","x":{"040180-9998":1,"040180-9998":2}})", "x.(a key of 11 bytes)"},
        {R"({"tietoryhma":"A","x":{"":1,"":2}})", "x.(a key of 0 bytes)"},
    };
    for (const Case &k : cases) {
        SCOPED_TRACE(k.group);
        const vtj::Error e = muutokset_error(one_record(k.group));
        EXPECT_EQ(msg(e), place + " has the key \"" + k.path + "\" more than once");
        EXPECT_EQ(e.detail().find("true"), std::string::npos);
        EXPECT_EQ(e.detail().find("false"), std::string::npos);
    }
    // A large object: the check does not stop at the first keys.
    std::string big = R"({"tietoryhma":"A")";
    for (int i = 0; i < 200; ++i)
        big += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
    EXPECT_NO_THROW({
        std::string body = one_record(big + "}");
        JsonDecoder d;
        MuutoksetPage p;
        d.decode_muutokset(body, p, "POST /muutokset");
    });
    EXPECT_EQ(msg(muutokset_error(one_record(big + R"(,"k3":0})"))), place + " has the key \"k3\" more than once");
    EXPECT_EQ(msg(muutokset_error(one_record(big + R"(,"k199":0})"))), place + " has the key \"k199\" more than once");
    // The same key in different objects, or at different depths, is no duplicate.
    std::string body = one_record(R"({"tietoryhma":"A","a":{"a":{"a":1}},"b":[{"x":1},{"x":2}]},{"tietoryhma":"A"})");
    JsonDecoder decoder;
    MuutoksetPage page;
    decoder.decode_muutokset(body, page, "POST /muutokset");
    EXPECT_EQ(page.rows.size(), 2u);
    // /perustiedot the same.
    std::string p = R"({"perustiedot":[{"henkilotunnus":"040180-9998","tietoryhmat":[{"tietoryhma":"TURVAKIELTO",)"
                    R"("turvakieltoAktiivinen":true,"turvakieltoAktiivinen":false}]}]})";
    PerustiedotPage pp;
    try {
        decoder.decode_perustiedot(p, pp, "POST /perustiedot");
        ADD_FAILURE();
    } catch (const vtj::Error &e) {
        EXPECT_EQ(msg(e), "group 0 of person 0 (counting from 0) in the response to POST /perustiedot has the key "
                          "\"turvakieltoAktiivinen\" more than once");
    }
}

TEST(JsonShape, BookmarksTheInterfaceCannotHaveIssuedAreRefused)
{
    auto page = [](const std::string &b) {
        return R"({"viimeisinKirjausavain":)" + b + R"(,"muutokset":[],"ajanTasalla":true})";
    };
    for (const char *bad : {"9223372036854775807", "4611686018427387905", "0", "-0", "-1", "-5446623423", "1.5",
                            "5446623423.0", "1e3", "5446623423e0", R"("5446623423")", "null", "true", "9223372036854775808"}) {
        SCOPED_TRACE(bad);
        const vtj::Error e = muutokset_error(page(bad));
        EXPECT_EQ(msg(e), R"(the response to POST /muutokset has an invalid "viimeisinKirjausavain")");
        EXPECT_NE(e.detail().find("from 1 to 2^62"), std::string::npos) << e.detail();
        JsonDecoder decoder;
        std::string k = std::string(R"({"viimeisinKirjausavain":)") + bad + "}";
        EXPECT_THROW(decoder.decode_kirjausavain(k, "GET /kirjausavain"), vtj::Error);
    }
    for (const char *good : {"1", "5446623423", "4611686018427387904"}) {
        std::string body = page(good);
        JsonDecoder decoder;
        MuutoksetPage p;
        decoder.decode_muutokset(body, p, "POST /muutokset");
        EXPECT_EQ(std::to_string(p.bookmark), good);
    }
}

// ---- dates and instants ----------------------------------------------------------------------

std::int64_t instant(std::string_view s)
{
    std::int64_t us = 0;
    return vtj::parse_instant(s, us) ? us : INT64_MIN;
}

TEST(JsonInstant, Forms)
{
    EXPECT_EQ(instant("2019-09-24T21:00:00.000Z"), 1569358800000000LL);
    EXPECT_EQ(instant("2019-09-24T21:00:00Z"), 1569358800000000LL);
    EXPECT_EQ(instant("2019-09-25T00:00:00+03:00"), 1569358800000000LL);
    EXPECT_EQ(instant("2019-09-25T00:00:00+0300"), 1569358800000000LL);
    EXPECT_EQ(instant("2019-09-25T00:00:00+03"), 1569358800000000LL);
    EXPECT_EQ(instant("2024-02-29T12:00:00-01:30"), 1709213400000000LL);
    EXPECT_EQ(instant("2024-02-29T12:00:00-0130"), 1709213400000000LL);
    EXPECT_EQ(instant("2020-10-01T04:38:04.394Z"), 1601527084394000LL);
    EXPECT_EQ(instant("2020-10-01T04:38:04.3Z"), 1601527084300000LL);
    EXPECT_EQ(instant("2020-10-01T04:38:04.123456Z"), 1601527084123456LL);
    EXPECT_EQ(instant("2020-10-01T04:38:04.1234564Z"), 1601527084123456LL);   // nanoseconds: rounded
    EXPECT_EQ(instant("2020-10-01T04:38:04.123456789Z"), 1601527084123457LL);
    EXPECT_EQ(instant("1969-12-31T23:59:59.999999Z"), -1);
    EXPECT_EQ(instant("1969-12-31T23:59:59.9999999Z"), 0);  // rounds up across the second
    EXPECT_EQ(instant("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(instant("2000-03-01T00:00:00Z"), 951868800000000LL);
    EXPECT_EQ(instant("2000-03-01t00:00:00z"), 951868800000000LL);
    EXPECT_EQ(instant("2016-12-31T23:59:60Z"), instant("2017-01-01T00:00:00Z"));  // leap second
}

TEST(JsonInstant, Garbage)
{
    for (const char *s : {"", "2019", "2019-09-24", "2019-09-24T21:00:00", "2019-09-24 21:00:00Z",
                          "2019-09-24T21:00Z", "2019-09-24T21:00:00.Z", "2019-09-24T21:00:00.1234567890Z",
                          "2019-09-24T24:00:00Z", "2019-09-24T21:60:00Z", "2019-09-24T21:00:61Z",
                          "2019-02-29T21:00:00Z", "2019-13-01T21:00:00Z", "2019-00-01T21:00:00Z",
                          "2019-09-00T21:00:00Z", "2019-09-31T21:00:00Z", "0000-01-01T00:00:00Z",
                          "2019-09-24T21:00:00+24:00", "2019-09-24T21:00:00+02:60", "2019-09-24T21:00:00+2",
                          "2019-09-24T21:00:00+02:", "2019-09-24T21:00:00+02:000", "2019-09-24T21:00:00ZZ",
                          "2019-09-24T21:00:00Z ", " 2019-09-24T21:00:00Z", "2019-9-24T21:00:00Z",
                          "+2019-09-24T21:00:00Z", "2019-09-24T21:00:00.000GMT", "２０１９-09-24T21:00:00Z"})
        EXPECT_EQ(instant(s), INT64_MIN) << s;
}

TEST(JsonDates, ParseDate)
{
    std::int32_t d = 0;
    EXPECT_TRUE(vtj::parse_date("1970-01-01", d));
    EXPECT_EQ(d, 0);
    EXPECT_TRUE(vtj::parse_date("2000-02-29", d));
    EXPECT_EQ(d, 11016);
    EXPECT_TRUE(vtj::parse_date("1600-02-29", d));
    EXPECT_EQ(d, -135081);
    EXPECT_TRUE(vtj::parse_date("2024-02-29", d));
    EXPECT_EQ(d, 19782);
    EXPECT_TRUE(vtj::parse_date("0001-01-01", d));
    EXPECT_EQ(d, -719162);
    EXPECT_TRUE(vtj::parse_date("9999-12-31", d));
    EXPECT_EQ(d, 2932896);
    EXPECT_TRUE(vtj::parse_date("1965-11", d));
    EXPECT_EQ(d, -1522);
    EXPECT_TRUE(vtj::parse_date("1987", d));
    EXPECT_EQ(d, 6209);
    for (const char *s : {"", "1900-02-29", "2100-02-29", "2019-02-29", "2019-04-31", "2019-13-01", "2019-00-10",
                          "2019-01-00", "2019-01-32", "0000-01-01", "19-01-01", "2019-1-01", "2019-01-1",
                          "2019/01/01", "2019-01-01T00:00:00Z", "2019-01-01 ", "20190101", "2019-", "2019-01-",
                          "abcd-ef-gh", "-2019-01-01"})
        EXPECT_FALSE(vtj::parse_date(s, d)) << s;
}

TEST(JsonDates, AgreesWithTimegmForTwoCenturies)
{
    // An independent implementation (the C library) for every day of 1900–2100.
    for (int y = 1900; y <= 2100; ++y)
        for (int m = 1; m <= 12; ++m)
            for (int day = 1; day <= 31; ++day) {
                std::tm tm{};
                tm.tm_year = y - 1900;
                tm.tm_mon = m - 1;
                tm.tm_mday = day;
                const std::time_t t = timegm(&tm);
                const bool real = tm.tm_mday == day;  // timegm normalises 31 April to 1 May
                char text[16];
                std::snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, day);
                std::int32_t days = 0;
                ASSERT_EQ(vtj::parse_date(text, days), real) << text;
                if (real) {
                    ASSERT_EQ(std::int64_t(days) * 86400, std::int64_t(t)) << text;
                }
            }
}

// ---- requests ------------------------------------------------------------------------------

TEST(JsonRequest, Muutokset)
{
    const std::vector<std::string> hetus = {"010579-9999", "020180-999Y", "030180-999L", "040180-9998"};
    EXPECT_EQ(vtj::muutokset_request(100000021, hetus, 0, 2),
              R"({"viimeisinKirjausavain":100000021,"hetulista":["010579-9999","020180-999Y"]})");
    EXPECT_EQ(vtj::muutokset_request(5446623423LL, hetus, 3, 4),
              R"({"viimeisinKirjausavain":5446623423,"hetulista":["040180-9998"]})");
    EXPECT_EQ(vtj::muutokset_request(-1, hetus, 2, 2), R"({"viimeisinKirjausavain":-1,"hetulista":[]})");
    EXPECT_EQ(vtj::muutokset_request(1, hetus, 3, 99), R"({"viimeisinKirjausavain":1,"hetulista":["040180-9998"]})");
}

TEST(JsonRequest, Perustiedot)
{
    const std::vector<std::string> hetus = {"010188-916P", "010192-921W"};
    EXPECT_EQ(vtj::perustiedot_request(hetus, 0, 2, {}), R"({"hetulista":["010188-916P","010192-921W"]})");
    EXPECT_EQ(vtj::perustiedot_request(hetus, 1, 2, {"HENKILON_NIMI", "HUOLTAJA"}),
              R"({"hetulista":["010192-921W"],"tietoryhmat":["HENKILON_NIMI","HUOLTAJA"]})");
}

TEST(JsonRequest, EscapesAndRoundTrips)
{
    std::vector<std::string> hetus = {"a\"b", "c\\d", std::string("e\x01\n\tf", 5), "ä€😀", ""};
    for (int i = 0; i < 1000; ++i)
        hetus.push_back("0101" + std::to_string(10 + i % 90) + "-9" + std::to_string(100 + i % 900).substr(1) + "X");
    const std::string muutokset = vtj::muutokset_request(INT64_MIN, hetus, 0, hetus.size());
    const std::string perustiedot = vtj::perustiedot_request(hetus, 0, hetus.size(), {"X\"Y"});
    EXPECT_EQ(muutokset.find('\n'), std::string::npos);
    EXPECT_NE(muutokset.find(R"("a\"b","c\\d","e\u0001\n\tf")"), std::string::npos) << muutokset.substr(0, 200);

    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    const simdjson::padded_string padded_muutokset(muutokset);
    ASSERT_EQ(parser.parse(padded_muutokset).get(doc), simdjson::SUCCESS);
    std::int64_t bookmark = 0;
    ASSERT_EQ(doc["viimeisinKirjausavain"].get_int64().get(bookmark), simdjson::SUCCESS);
    EXPECT_EQ(bookmark, INT64_MIN);
    simdjson::dom::array list;
    ASSERT_EQ(doc["hetulista"].get_array().get(list), simdjson::SUCCESS);
    ASSERT_EQ(list.size(), hetus.size());
    std::size_t i = 0;
    for (auto element : list) {
        std::string_view s;
        ASSERT_EQ(element.get_string().get(s), simdjson::SUCCESS);
        EXPECT_EQ(s, hetus[i]) << i;
        ++i;
    }

    const simdjson::padded_string padded_perustiedot(perustiedot);
    ASSERT_EQ(parser.parse(padded_perustiedot).get(doc), simdjson::SUCCESS);
    ASSERT_EQ(doc["hetulista"].get_array().get(list), simdjson::SUCCESS);
    EXPECT_EQ(list.size(), hetus.size());
    std::string_view group;
    ASSERT_EQ(doc["tietoryhmat"].at(0).get_string().get(group), simdjson::SUCCESS);
    EXPECT_EQ(group, "X\"Y");
}

// ---- rate ----------------------------------------------------------------------------------

// A synthetic /perustiedot page: `persons` persons, 16 groups each, shaped like the sandbox's.
std::string synthetic_perustiedot(int persons)
{
    std::string body = "{\"perustiedot\":[";
    body.reserve(std::size_t(persons) * 4000);
    for (int p = 0; p < persons; ++p) {
        char hetu[16];
        std::snprintf(hetu, sizeof hetu, "%02d%02d%02d-%03dX", 1 + p % 28, 1 + p % 12, p % 100, 900 + p % 100);
        const bool protected_person = p % 50 == 0;
        if (p)
            body += ',';
        body += "{\"henkilotunnus\":\"";
        body += hetu;
        body += "\",\"tietoryhmat\":[";
        body += R"({"tietoryhma":"HENKILON_NIMI","etunimi":"Matti Juhani","sukunimi":"Meikäläinen","etunimiUTF8":"Matti Juhani","sukunimiUTF8":"Meikäläinen","alkupv":{"arvo":"1980-01-04","tarkkuus":"PAIVA"}},)";
        body += R"({"tietoryhma":"SUKUPUOLI","sukupuoli":"MIES"},)";
        body += R"({"tietoryhma":"SYNTYMAPAIVA","syntymapv":{"arvo":"1980-01-04","tarkkuus":"PAIVA"}},)";
        body += R"({"tietoryhma":"HENKILOTUNNUS_KORJAUS","voimassaolo":"AKTIIVI","muutettuHenkilotunnus":")";
        body += hetu;
        body += R"(","aktiivinenHenkilotunnus":")";
        body += hetu;
        body += R"(","edellisetHenkilotunnukset":[]},)";
        body += R"({"tietoryhma":"AIDINKIELI","kielikoodi":"fi","kielikoodiISO6392":"fin","alkupv":{"arvo":"1980-01-04","tarkkuus":"PAIVA"}},)";
        body += R"({"tietoryhma":"ASIOINTIKIELI","kielikoodi":"fi","kielikoodiISO6392":"fin","alkupv":{"arvo":"1980-01-04","tarkkuus":"PAIVA"}},)";
        body += R"({"tietoryhma":"KANSALAISUUS","henkilonKansalaisuudet":[{"kansalaisuuskoodi":"246","voimassaolo":"AKTIIVI","saamispv":{"arvo":"1980-01-04","tarkkuus":"PAIVA"}}]},)";
        body += R"({"tietoryhma":"SIVIILISAATY","siviilisaaty":"NAIMATON"},)";
        body += R"({"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":)";
        body += protected_person ? "true" : "false";
        body += "},";
        if (protected_person) {
            body += R"({"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","turvakiellonAlaisetKentat":["katunimi","katunumero","huoneistokirjain","huoneistonumero","jakokirjain","postinumero","postitoimipaikka","rakennustunnus","osoitenumero","kuntakoodi"]},)";
            body += R"({"tietoryhma":"KOTIKUNTA","turvakiellonAlaisetKentat":["kuntakoodi","kuntaanMuuttopv"]},)";
            body += R"({"tietoryhma":"VAKINAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS","turvakiellonAlaisetKentat":["rakennustunnus","osoitenumero","kuntakoodi","asuinpaikantunnus"]},)";
        } else {
            body += R"({"tietoryhma":"VAKINAINEN_KOTIMAINEN_OSOITE","katunimi":{"fi":"Mikkolantie","sv":"Mickelsvägen"},"katunumero":"6a-6b","huoneistonumero":"003","postinumero":"00100","postitoimipaikka":{"fi":"HELSINKI","sv":"HELSINGFORS"},"rakennustunnus":"100012345R","osoitenumero":1,"kuntakoodi":"091","alkupv":{"arvo":"2015-06-01","tarkkuus":"PAIVA"}},)";
            body += R"({"tietoryhma":"KOTIKUNTA","kuntakoodi":"091","kuntaanMuuttopv":{"arvo":"2015-06-01","tarkkuus":"PAIVA"},"kuntaanMuuttoPv":{"arvo":"2015-06-01","tarkkuus":"PAIVA"}},)";
            body += R"({"tietoryhma":"VAKINAINEN_KOTIMAINEN_ASUINPAIKKATUNNUS","rakennustunnus":"100012345R","osoitenumero":1,"kuntakoodi":"091","alkupv":{"arvo":"2015-06-01","tarkkuus":"PAIVA"},"asuinpaikantunnus":"900000041C1F028 "},)";
        }
        body += R"({"tietoryhma":"EDELLINEN_KOTIKUNTA","kuntakoodi":"837","kuntaanMuuttopv":{"arvo":"2001-08-01","tarkkuus":"PAIVA"},"kunnastaPoisMuuttopv":{"arvo":"2015-05-31","tarkkuus":"PAIVA"}},)";
        body += R"({"tietoryhma":"KUOLINPAIVA","kuollut":false},)";
        body += R"({"tietoryhma":"HUOLTAJA","huoltaja":{"henkilotunnus":"010150-998E","etunimet":"Maija","sukunimi":"Meikäläinen","syntymapv":{"arvo":"1950-01-01","tarkkuus":"PAIVA"}},"huoltajanLaji":"LAKISAATEINEN_HUOLTAJA","huoltajanRooli":"AITI","huoltosuhteenAlkupv":{"arvo":"1980-01-04","tarkkuus":"PAIVA"},"oikeudet":[]},)";
        body += R"({"tietoryhma":"SAHKOPOSTIOSOITE","sahkopostiosoite":"matti.meikalainen@example.fi","lajikoodi":"MAISTRAATTI","alkupv":{"arvo":"2019-01-01","tarkkuus":"PAIVA"}}]})";
    }
    body += "],\"ajanTasalla\":true}";
    return body;
}

TEST(JsonRate, PerustiedotPageOf1000Persons)
{
    std::string body = synthetic_perustiedot(1000);
    JsonDecoder decoder;
    PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot");
    ASSERT_EQ(page.persons, 1000u);
    ASSERT_EQ(page.rows.size(), 16000u);
    std::size_t censored = 0;
    for (const GroupRow &r : page.rows)
        censored += r.has_censored;
    EXPECT_EQ(censored, 60u);

    // Printing only: no assertion on time (builds and machines differ).
    std::size_t rows = 0;
    int iterations = 0;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::duration<double> elapsed{};
    do {
        PerustiedotPage fresh;  // a new page each time, like a scan's batches
        decoder.decode_perustiedot(body, fresh, "POST /perustiedot");
        rows += fresh.rows.size();
        ++iterations;
        elapsed = std::chrono::steady_clock::now() - start;
    } while (elapsed.count() < 0.5 && iterations < 1000);
    const double seconds = elapsed.count();
    std::printf("[ rate     ] perustiedot decode: %d pages of %zu bytes, %.0f group rows/s, %.0f MB/s\n", iterations,
                body.size(), double(rows) / seconds, double(body.size()) * iterations / seconds / 1e6);
}

}  // namespace
