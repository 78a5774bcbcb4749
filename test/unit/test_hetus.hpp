// Valid hetus for the unit tests: n distinct ones (individual numbers 900–999, which DVV keeps
// for tests), in a fixed order.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "core/hetu.hpp"

inline std::vector<std::string> make_hetus(int n)
{
    std::vector<std::string> out;
    for (int i = 0; out.size() < static_cast<std::size_t>(n); ++i) {
        const int day = 1 + i % 28, month = 1 + (i / 28) % 12, nnn = 900 + (i / 336) % 100;
        char digits[10];
        std::snprintf(digits, sizeof digits, "%02d%02d85%03d", day, month, nnn);
        std::string h(digits, 6);
        h += '-';
        h += std::string(digits + 6, 3);
        h += vtj::hetu_check_char(digits);
        out.push_back(h);
    }
    return out;
}
