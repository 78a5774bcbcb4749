// Unit tests of the decoder's token output (JsonToken) and the token helpers
// (core/json_tokens.hpp); the grouped scan built on them is tested in scan_test.cpp. Every
// hetu is a synthetic test hetu (individual number 900–999).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/json_tokens.hpp"
#include "core/tietoryhma.hpp"
#include "core/vtj_json.hpp"

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
    R"( {"turvakiellonAlaisetKentat": ["katunimi"], "tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "postinumero": "00100"},)"
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
                         R"({"turvakiellonAlaisetKentat": [], "tietoryhma": "B"}]}]})";
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
                       R"({"voimassaolevatTiedot": [], "tietoryhma": "B"}, {"tietoryhma": "A"}]}]})";
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
    EXPECT_EQ(vtj::tokens_to_json(second.data(), second.data() + second.size()), R"({"tietoryhma":"B"})");
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

TEST(JsonTokens, WithheldWholeAndTheObjectsOfAnArrayMember)
{
    std::string body = R"({"perustiedot": [{"henkilotunnus": "010192-921W", "tietoryhmat": [)"
                       R"({"tietoryhma": "TURVAKIELTO", "muutosattribuutti": "MUUTETTU", "turvakiellonAlaisetKentat": []},)"
                       R"( {"tietoryhma": "TURVAKIELTO", "x": {"voimassaolevatTiedot": [{"no": 1}]}, "voimassaolevatTiedot": )"
                       R"([{"a": 1}, {"tietoryhma": "T", "turvakiellonAlaisetKentat": ["b"]}, {"c": [{"d": 2}]}]},)"
                       R"( {"tietoryhma": "A", "voimassaolevatTiedot": []}]}]})";
    vtj::JsonDecoder decoder;
    vtj::PerustiedotPage page;
    decoder.decode_perustiedot(body, page, "POST /perustiedot", true);
    const JsonToken *t = page.tokens.data();
    auto range = [&](std::size_t i) { return std::make_pair(t + page.rows[i].tokens_begin, t + page.rows[i].tokens_end); };
    EXPECT_TRUE(vtj::withheld_whole(range(0).first, range(0).second));
    EXPECT_FALSE(vtj::withheld_whole(range(1).first, range(1).second));
    EXPECT_FALSE(vtj::withheld_whole(range(2).first, range(2).second));  // no marker
    std::vector<std::string> seen;
    vtj::for_each_object_in(range(1).first, range(1).second, "voimassaolevatTiedot", [&](const JsonToken *b, const JsonToken *e) {
        seen.push_back(vtj::tokens_to_json(b, e) + (vtj::withheld_whole(b, e) ? " withheld" : ""));
    });
    EXPECT_EQ(seen, (std::vector<std::string>{R"({"a":1})", R"({"tietoryhma":"T","turvakiellonAlaisetKentat":["b"]} withheld)",
                                              R"({"c":[{"d":2}]})"}));
    seen.clear();
    vtj::for_each_object_in(range(2).first, range(2).second, "voimassaolevatTiedot",
                            [&](const JsonToken *, const JsonToken *) { seen.push_back("x"); });
    EXPECT_TRUE(seen.empty());
}

}  // namespace
