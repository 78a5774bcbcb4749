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

// The JSON text of a complete value given as tokens (compact; strings escaped as JSON needs).
std::string tokens_to_json(const JsonToken *begin, const JsonToken *end);

// Whether a key or string of the tokens holds U+0000, which JSON can carry (\u0000) but a
// PostgreSQL text or jsonb cannot.
bool tokens_hold_nul(const JsonToken *begin, const JsonToken *end) noexcept;

}  // namespace vtj
