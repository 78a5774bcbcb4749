// libFuzzer target: hetu validation (core/hetu.hpp) against a reference written here from
// docs/interface.md#hetu-format-and-checksum, and its agreement with the redaction of core/http.hpp:
//  * hetu_valid(s) equals the reference for every input;
//  * a valid hetu is always redacted ("[hetu]"), alone and inside text;
//  * a valid hetu with any other check character is invalid;
//  * invalid_hetu_positions() of the input's lines lists exactly the invalid lines, and
//    describe_invalid_positions() holds no hetu (only counts and positions).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/hetu.hpp"
#include "fuzz_common.hpp"

namespace {

bool ref_valid(std::string_view s)
{
    if (s.size() != 11)
        return false;
    int v[11] = {};
    for (int i : {0, 1, 2, 3, 4, 5, 7, 8, 9}) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v[i] = s[i] - '0';
    }
    const std::string_view c1800 = "+", c1900 = "-YXWVU", c2000 = "ABCDEF";
    int century;
    if (c1800.find(s[6]) != std::string_view::npos)
        century = 1800;
    else if (c1900.find(s[6]) != std::string_view::npos)
        century = 1900;
    else if (c2000.find(s[6]) != std::string_view::npos)
        century = 2000;
    else
        return false;
    const int day = v[0] * 10 + v[1], month = v[2] * 10 + v[3], year = century + v[4] * 10 + v[5];
    if (month < 1 || month > 12 || day < 1)
        return false;
    int last = 31;
    if (month == 4 || month == 6 || month == 9 || month == 11)
        last = 30;
    if (month == 2)
        last = (year % 400 == 0 || (year % 4 == 0 && year % 100 != 0)) ? 29 : 28;
    if (day > last)
        return false;
    long n = 0;
    for (int i : {0, 1, 2, 3, 4, 5, 7, 8, 9})
        n = n * 10 + v[i];
    return s[10] == "0123456789ABCDEFHJKLMNPRSTUVWXY"[n % 31];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string s(reinterpret_cast<const char *>(data), size);
    const bool valid = vtj::hetu_valid(s);
    FUZZ_CHECK(valid == ref_valid(s));
    if (valid) {
        FUZZ_CHECK(vtj::redact_hetus(s) == "[hetu]");
        FUZZ_CHECK(vtj::redact_hetus("a " + s + " b") == "a [hetu] b");
        const char nine[9] = {s[0], s[1], s[2], s[3], s[4], s[5], s[7], s[8], s[9]};
        FUZZ_CHECK(vtj::hetu_check_char(std::string_view(nine, 9)) == s[10]);
        for (char c : std::string_view("0123456789ABCDEFHJKLMNPRSTUVWXYZ")) {
            if (c == s[10])
                continue;
            std::string other = s;
            other[10] = c;
            FUZZ_CHECK(!vtj::hetu_valid(other));
        }
    }
    // Any 9 bytes: a check character of the table, whatever they are.
    if (size >= 9) {
        const char c = vtj::hetu_check_char(std::string_view(s.data(), 9));
        FUZZ_CHECK(std::string_view("0123456789ABCDEFHJKLMNPRSTUVWXY").find(c) != std::string_view::npos);
    }

    // The input as a list, one entry per line.
    std::vector<std::string> list;
    std::size_t from = 0;
    for (;;) {
        const std::size_t nl = s.find('\n', from);
        list.push_back(s.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
        if (nl == std::string::npos)
            break;
        from = nl + 1;
    }
    const std::vector<std::size_t> bad = vtj::invalid_hetu_positions(list);
    std::size_t k = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const bool listed = k < bad.size() && bad[k] == i + 1;
        FUZZ_CHECK(listed == !ref_valid(list[i]));
        k += listed;
    }
    FUZZ_CHECK(k == bad.size());
    const std::string text = vtj::describe_invalid_positions(bad, list.size(), 5);
    FUZZ_CHECK(fuzz::hetu_free(text) && fuzz::valid_utf8(text));
    return 0;
}
