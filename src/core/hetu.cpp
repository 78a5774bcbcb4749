#include "core/hetu.hpp"

namespace vtj {

namespace {

constexpr char kCheckChars[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int two_digits(std::string_view s, std::size_t at) noexcept { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

// Century of the birth year from the marker; 0 for an unknown marker.
int century_of(char marker) noexcept
{
    switch (marker) {
    case '+':
        return 1800;
    case '-':
    case 'Y':
    case 'X':
    case 'W':
    case 'V':
    case 'U':
        return 1900;
    case 'A':
    case 'B':
    case 'C':
    case 'D':
    case 'E':
    case 'F':
        return 2000;
    default:
        return 0;
    }
}

bool leap_year(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int year, int month) noexcept
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && leap_year(year))
        return 29;
    return days[month - 1];
}

}  // namespace

char hetu_check_char(std::string_view nine_digits) noexcept
{
    unsigned long n = 0;
    for (char c : nine_digits)
        n = n * 10 + static_cast<unsigned long>(c - '0');
    return kCheckChars[n % 31];
}

bool hetu_shaped(std::string_view s) noexcept
{
    if (s.size() != 11)
        return false;
    for (std::size_t i : {0u, 1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u})
        if (!is_digit(s[i]))
            return false;
    return century_of(s[6]) != 0 && (is_digit(s[10]) || (s[10] >= 'A' && s[10] <= 'Y'));
}

bool hetu_valid(std::string_view s) noexcept
{
    if (!hetu_shaped(s))
        return false;
    const int century = century_of(s[6]);
    const int day = two_digits(s, 0), month = two_digits(s, 2), year = century + two_digits(s, 4);
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    char digits[9] = {s[0], s[1], s[2], s[3], s[4], s[5], s[7], s[8], s[9]};
    return s[10] == hetu_check_char(std::string_view(digits, 9));
}

std::string redact_hetus(std::string text)
{
    constexpr std::size_t kLen = 11;
    if (text.size() < kLen)
        return text;
    std::string out;
    std::size_t i = 0;
    std::size_t copied = 0;  // text[copied, i) still to copy
    while (i + kLen <= text.size()) {
        if (hetu_shaped(std::string_view(text).substr(i, kLen))) {
            if (out.empty())
                out.reserve(text.size());
            out.append(text, copied, i - copied);
            out += "[hetu]";
            i += kLen;
            copied = i;
        } else {
            ++i;
        }
    }
    if (copied == 0)
        return text;  // nothing found: no copy
    out.append(text, copied, std::string::npos);
    return out;
}

std::vector<std::size_t> invalid_hetu_positions(const std::vector<std::string> &hetus)
{
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < hetus.size(); ++i)
        if (!hetu_valid(hetus[i]))
            out.push_back(i + 1);
    return out;
}

std::string describe_invalid_positions(const std::vector<std::size_t> &positions, std::size_t total,
                                       std::size_t max_listed)
{
    std::string s = std::to_string(positions.size()) + " of " + std::to_string(total) +
                    (positions.size() == 1 ? " hetu is invalid, at position " : " hetus are invalid, at positions ");
    for (std::size_t i = 0; i < positions.size() && i < max_listed; ++i) {
        if (i)
            s += ", ";
        s += std::to_string(positions[i]);
    }
    if (positions.size() > max_listed)
        s += ", …";
    return s;
}

}  // namespace vtj
