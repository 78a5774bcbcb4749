// A JSON value held as tokens (JsonToken, what the change interface's decoder gives and the
// PostgreSQL layer builds jsonb from) and JSON text: walking tokens, the text of a token
// sequence, JSON string literals. PostgreSQL-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vtj {

// One token of a JSON value, in document order: what a consumer needs to rebuild the value
// without parsing text again (the PostgreSQL layer builds jsonb from these). `text` is set for
// Key and String (unescaped) and for Number (its literal text); it points into the body or the
// page's `unescaped` arena, like the rows' views.
struct JsonToken {
    enum class Kind : std::uint8_t { BeginObject, EndObject, BeginArray, EndArray, Key, String, Number, True, False, Null };
    Kind kind = Kind::Null;
    std::string_view text;
};

// Appends a JSON string literal: '"', '\\' and control characters escaped, everything else
// (UTF-8 included) copied as is.
void append_json_string(std::string &out, std::string_view s);

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
