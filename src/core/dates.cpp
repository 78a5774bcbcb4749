#include "core/dates.hpp"

namespace vtj {
namespace dates_detail {

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept
{
    // Count years from March, so that the leap day is the last day of the (shifted) year, and
    // split the calendar into 400-year eras of exactly 146097 days.
    const std::int64_t y = month <= 2 ? year - 1 : year;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t year_of_era = y - era * 400;                                  // 0..399
    const unsigned shifted_month = month > 2 ? month - 3 : month + 9;                // Mar = 0
    const std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + (day - 1);      // 0..365
    const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719468 = days from 0000-03-01 to 1970-01-01.
    return era * 146097 + day_of_era - 719468;
}

namespace {

bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) noexcept
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29u : dim[m - 1];
}

// Exactly `n` ASCII digits at text[pos…]; advances pos.
bool digits(std::string_view text, std::size_t &pos, std::size_t n, unsigned &value) noexcept
{
    if (pos > text.size() || text.size() - pos < n)
        return false;
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + unsigned(c - '0');
    }
    pos += n;
    value = v;
    return true;
}

bool take(std::string_view text, std::size_t &pos, char c) noexcept
{
    if (pos < text.size() && text[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

}  // namespace

DatePrecision date_precision(std::string_view tarkkuus) noexcept
{
    if (tarkkuus == "KUUKAUSI")
        return DatePrecision::Month;
    if (tarkkuus == "VUOSI")
        return DatePrecision::Year;
    return DatePrecision::Day;
}

bool parse_date_with_precision(std::string_view text, DatePrecision precision, std::int32_t &days) noexcept
{
    std::size_t pos = 0;
    unsigned year = 0, month = 1, day = 1;
    bool has_month = false, has_day = false;
    if (!digits(text, pos, 4, year))
        return false;
    if (take(text, pos, '-')) {
        if (!digits(text, pos, 2, month))
            return false;
        has_month = true;
        if (take(text, pos, '-')) {
            if (!digits(text, pos, 2, day))
                return false;
            has_day = true;
        }
    }
    if (pos != text.size() || year == 0)  // PostgreSQL has no year 0
        return false;
    if (precision == DatePrecision::Year || !has_month)
        month = 1;
    else if (month < 1 || month > 12)
        return false;
    if (precision != DatePrecision::Day || !has_day)
        day = 1;
    else if (day < 1 || day > days_in_month(year, month))
        return false;
    days = static_cast<std::int32_t>(days_from_civil(year, month, day));
    return true;
}

}  // namespace dates_detail

bool parse_date(std::string_view text, std::int32_t &days) noexcept
{
    return dates_detail::parse_date_with_precision(text, dates_detail::DatePrecision::Day, days);
}

bool parse_instant(std::string_view text, std::int64_t &unix_us) noexcept
{
    using dates_detail::days_from_civil;
    using dates_detail::days_in_month;
    using dates_detail::digits;
    using dates_detail::take;

    std::size_t pos = 0;
    unsigned year, month, day, hour, minute, second;
    if (!digits(text, pos, 4, year) || !take(text, pos, '-') || !digits(text, pos, 2, month) ||
        !take(text, pos, '-') || !digits(text, pos, 2, day))
        return false;
    if (!take(text, pos, 'T') && !take(text, pos, 't'))
        return false;
    if (!digits(text, pos, 2, hour) || !take(text, pos, ':') || !digits(text, pos, 2, minute) ||
        !take(text, pos, ':') || !digits(text, pos, 2, second))
        return false;
    if (year == 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 60)  // 60: a leap second, read as the next second like PostgreSQL
        return false;

    // Fraction: 1–9 digits (Java's Instant prints up to nanoseconds), rounded to microseconds.
    std::int64_t fraction_us = 0;
    if (take(text, pos, '.')) {
        std::int64_t nanos = 0;
        std::size_t n = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (++n > 9)
                return false;
            nanos = nanos * 10 + (text[pos] - '0');
            ++pos;
        }
        if (n == 0)
            return false;
        for (std::size_t i = n; i < 9; ++i)
            nanos *= 10;
        fraction_us = (nanos + 500) / 1000;  // may be 1000000: carries into the seconds below
    }

    // Offset: Z, ±HH, ±HH:MM or ±HHMM. A local time without an offset is not an instant.
    std::int64_t offset_s = 0;
    if (take(text, pos, 'Z') || take(text, pos, 'z')) {
        // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const bool negative = text[pos] == '-';
        ++pos;
        unsigned oh, om = 0;
        if (!digits(text, pos, 2, oh))
            return false;
        if (pos < text.size()) {
            take(text, pos, ':');
            if (!digits(text, pos, 2, om))
                return false;
        }
        if (oh > 23 || om > 59)
            return false;
        offset_s = (negative ? -1 : 1) * std::int64_t(oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (pos != text.size())
        return false;

    const std::int64_t seconds = days_from_civil(year, month, day) * 86400 + std::int64_t(hour) * 3600 +
                                 std::int64_t(minute) * 60 + second - offset_s;
    unix_us = seconds * 1000000 + fraction_us;
    return true;
}

}  // namespace vtj
