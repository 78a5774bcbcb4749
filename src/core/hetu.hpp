// Henkilötunnus (Finnish personal identity code): its grammar, validation (docs/interface.md#hetu-format-and-checksum) and
// redaction from text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vtj {

// True when s is a well-formed hetu: DDMMYY, a century marker (+, -, Y X W V U, A, B C D E F),
// a three-digit individual number and the right check character, and DDMMYY is a real
// calendar date in that century. Strict: no trimming, no lowercase, exactly 11 bytes.
bool hetu_valid(std::string_view s) noexcept;

// True when s has a hetu's shape: 11 characters, DDMMYY and NNN digits, a century marker
// between them and a last character that is a digit or an uppercase letter A-Y (a superset of
// the check characters, so a hetu with a wrong check character has the shape too). No date or
// check-character test: every valid hetu has the shape.
bool hetu_shaped(std::string_view s) noexcept;

// Replaces every substring that has a hetu's shape (leftmost, non-overlapping matches, as a
// regex search-and-replace would) with "[hetu]": for remote error bodies that go into an
// error's DETAIL.
std::string redact_hetus(std::string text);

// The check character for the nine digits DDMMYYNNN (marker not included).
char hetu_check_char(std::string_view nine_digits) noexcept;

// 1-based positions of the invalid entries of a list (empty when all are valid).
std::vector<std::size_t> invalid_hetu_positions(const std::vector<std::string> &hetus);

// "3 invalid hetus at positions 2, 7, 9" with at most `max_listed` positions, then "…".
// Never includes the values themselves: the extension's messages do not print hetus.
std::string describe_invalid_positions(const std::vector<std::size_t> &positions, std::size_t total,
                                       std::size_t max_listed = 20);

}  // namespace vtj
