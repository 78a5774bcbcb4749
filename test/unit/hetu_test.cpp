#include <gtest/gtest.h>

#include <string>

#include "core/hetu.hpp"

namespace {

TEST(Hetu, DocumentedExampleIsValid) { EXPECT_TRUE(vtj::hetu_valid("131052-308T")); }

TEST(Hetu, EveryOtherCheckCharacterIsInvalid)
{
    const std::string alphabet = "0123456789ABCDEFHJKLMNPRSTUVWXYZGIOQ";
    for (char c : alphabet) {
        std::string h = "131052-308";
        h += c;
        EXPECT_EQ(vtj::hetu_valid(h), c == 'T') << h;
    }
}

TEST(Hetu, CheckCharacterIgnoresTheCenturyMarker)
{
    // docs/interface.md#hetu-format-and-checksum: DVV's examples for the 2023 markers.
    EXPECT_TRUE(vtj::hetu_valid("010594Y9032"));
    EXPECT_TRUE(vtj::hetu_valid("010516B903X"));
    EXPECT_TRUE(vtj::hetu_valid("020503F9037"));
    EXPECT_EQ(vtj::hetu_check_char("010594903"), '2');
}

TEST(Hetu, AllCenturyMarkers)
{
    for (char m : std::string("+-YXWVUABCDEF")) {
        std::string h = "010190";
        h += m;
        h += "999";
        h += vtj::hetu_check_char("010190999");
        EXPECT_TRUE(vtj::hetu_valid(h)) << h;
    }
    for (char m : std::string("GZabc*/ ")) {
        std::string h = "010190";
        h += m;
        h += "999";
        h += vtj::hetu_check_char("010190999");
        EXPECT_FALSE(vtj::hetu_valid(h)) << h;
    }
}

std::string with_check(const std::string &date, char marker, const std::string &nnn)
{
    return date + marker + nnn + vtj::hetu_check_char(date + nnn);
}

TEST(Hetu, CalendarDates)
{
    EXPECT_TRUE(vtj::hetu_valid(with_check("290200", 'A', "900")));   // 2000 is a leap year
    EXPECT_FALSE(vtj::hetu_valid(with_check("290200", '-', "900")));  // 1900 is not
    EXPECT_TRUE(vtj::hetu_valid(with_check("290296", '-', "900")));
    EXPECT_FALSE(vtj::hetu_valid(with_check("300296", '-', "900")));
    EXPECT_FALSE(vtj::hetu_valid(with_check("310490", '-', "900")));
    EXPECT_TRUE(vtj::hetu_valid(with_check("310190", '-', "900")));
    EXPECT_FALSE(vtj::hetu_valid(with_check("000190", '-', "900")));
    EXPECT_FALSE(vtj::hetu_valid(with_check("011390", '-', "900")));
    EXPECT_FALSE(vtj::hetu_valid(with_check("290200", '+', "900")));  // 1800 not leap
}

TEST(Hetu, StrictForm)
{
    EXPECT_FALSE(vtj::hetu_valid(""));
    EXPECT_FALSE(vtj::hetu_valid(" 131052-308T"));
    EXPECT_FALSE(vtj::hetu_valid("131052-308T "));
    EXPECT_FALSE(vtj::hetu_valid("131052-308t"));
    EXPECT_FALSE(vtj::hetu_valid("131052a308T"));
    EXPECT_FALSE(vtj::hetu_valid("131052-308"));
    EXPECT_FALSE(vtj::hetu_valid("131052-3080T"));
    EXPECT_FALSE(vtj::hetu_valid(std::string("131052-308T\0", 12)));
}

TEST(Hetu, InvalidPositionsNeverPrintValues)
{
    std::vector<std::string> list = {"131052-308T", "bad", "131052-308T", "131052-308U"};
    auto pos = vtj::invalid_hetu_positions(list);
    ASSERT_EQ(pos, (std::vector<std::size_t>{2, 4}));
    std::string msg = vtj::describe_invalid_positions(pos, list.size());
    EXPECT_EQ(msg, "2 of 4 hetus are invalid, at positions 2, 4");
    EXPECT_EQ(msg.find("308U"), std::string::npos);
}

TEST(Hetu, InvalidPositionsAreCapped)
{
    std::vector<std::size_t> pos;
    for (std::size_t i = 1; i <= 30; ++i)
        pos.push_back(i);
    std::string msg = vtj::describe_invalid_positions(pos, 30, 3);
    EXPECT_EQ(msg, "30 of 30 hetus are invalid, at positions 1, 2, 3, …");
}

}  // namespace
