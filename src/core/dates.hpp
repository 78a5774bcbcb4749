// Dates and instants of both interfaces: ISO-8601 text to the Unix-epoch days and
// microseconds the core works in, the calendar arithmetic behind it, and the lenient reading
// of a change-interface date object's "arvo" under its "tarkkuus". PostgreSQL-free.
#pragma once

#include <cstdint>
#include <string_view>

namespace vtj {

// ISO-8601 instant ("2019-09-24T21:00:00.000Z", "…+02:00", with or without fraction) to
// microseconds since the Unix epoch; false when unreadable.
bool parse_instant(std::string_view text, std::int64_t &unix_us) noexcept;
// "YYYY-MM-DD" (or "YYYY-MM", "YYYY") to days since the Unix epoch; false when unreadable.
bool parse_date(std::string_view text, std::int32_t &days) noexcept;

}  // namespace vtj

// Used by the decoders only (vtj_json.cpp, kysely_xml.cpp).
namespace vtj::dates_detail {

// Days since 1970-01-01 of a proleptic Gregorian date; month 1–12, day 1–31 (not checked).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept;

enum class DatePrecision { Day, Month, Year };

// "tarkkuus": "PAIVA" → Day, "KUUKAUSI" → Month, "VUOSI" → Year; anything else → Day.
DatePrecision date_precision(std::string_view tarkkuus) noexcept;

// "YYYY", "YYYY-MM" or "YYYY-MM-DD". Components below the precision are ignored (they may be
// "00": {"arvo": "1965-00-00", "tarkkuus": "VUOSI"}); the result is the first day of the
// month or year. With Day precision this is parse_date.
bool parse_date_with_precision(std::string_view text, DatePrecision precision, std::int32_t &days) noexcept;

}  // namespace vtj::dates_detail
