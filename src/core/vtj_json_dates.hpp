// Internal to the JSON decoder (not part of the vtj_json.hpp contract): calendar arithmetic and
// the lenient reading of a date object's "arvo" under its "tarkkuus".
#pragma once

#include <cstdint>
#include <string_view>

namespace vtj::json_detail {

// Days since 1970-01-01 of a proleptic Gregorian date; month 1–12, day 1–31 (not checked).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept;

enum class DatePrecision { Day, Month, Year };

// "tarkkuus": "PAIVA" → Day, "KUUKAUSI" → Month, "VUOSI" → Year; anything else → Day.
DatePrecision date_precision(std::string_view tarkkuus) noexcept;

// "YYYY", "YYYY-MM" or "YYYY-MM-DD". Components below the precision are ignored (they may be
// "00": {"arvo": "1965-00-00", "tarkkuus": "VUOSI"}); the result is the first day of the
// month or year. With Day precision this is parse_date.
bool parse_date_with_precision(std::string_view text, DatePrecision precision, std::int32_t &days) noexcept;

}  // namespace vtj::json_detail
