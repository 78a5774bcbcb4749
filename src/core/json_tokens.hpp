// Working with a JSON value held as tokens (vtj_json.hpp, JsonToken): the record form a
// grouped basic-data scan returns, and the text of a token sequence. PostgreSQL-free.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/vtj_json.hpp"

namespace vtj {

// Appends one group object's tokens [begin, end) to `out`, leaving out its top-level keys
// "muutosattribuutti" and "voimassaolevatTiedot" with their values: they describe a change,
// not the state a grouped row stands for.
void append_state_tokens(const JsonToken *begin, const JsonToken *end, std::vector<JsonToken> &out);

// Whether the object [begin, end) was withheld whole by the interface: it carries
// "turvakiellonAlaisetKentat" and no top-level key but that, "tietoryhma" and "muutosattribuutti".
bool withheld_whole(const JsonToken *begin, const JsonToken *end) noexcept;

// Calls fn(first, last) for every object element of the array under the object's top-level key
// `key` (the tokens [first, last) of each element), in order; nothing when the key is missing or
// its value is not an array.
template <typename Fn>
void for_each_object_in(const JsonToken *begin, const JsonToken *end, std::string_view key, Fn &&fn);

// The JSON text of a complete value given as tokens (compact; strings escaped as JSON needs).
std::string tokens_to_json(const JsonToken *begin, const JsonToken *end);

// Whether a key or string of the tokens holds U+0000, which JSON can carry (\u0000) but a
// PostgreSQL text or jsonb cannot.
bool tokens_hold_nul(const JsonToken *begin, const JsonToken *end) noexcept;

namespace json_tokens_detail {
std::size_t skip_value(const JsonToken *t, std::size_t i, std::size_t n) noexcept;
}

template <typename Fn>
void for_each_object_in(const JsonToken *begin, const JsonToken *end, std::string_view key, Fn &&fn)
{
    const std::size_t n = static_cast<std::size_t>(end - begin);
    if (n == 0 || begin[0].kind != JsonToken::Kind::BeginObject)
        return;
    std::size_t i = 1;
    while (i < n && begin[i].kind == JsonToken::Kind::Key) {
        const std::size_t after = json_tokens_detail::skip_value(begin, i + 1, n);
        if (begin[i].text == key && i + 1 < n && begin[i + 1].kind == JsonToken::Kind::BeginArray) {
            std::size_t e = i + 2;
            while (e < after - 1) {
                const std::size_t next = json_tokens_detail::skip_value(begin, e, n);
                if (begin[e].kind == JsonToken::Kind::BeginObject)
                    fn(begin + e, begin + next);
                e = next;
            }
        }
        i = after;
    }
}

}  // namespace vtj
