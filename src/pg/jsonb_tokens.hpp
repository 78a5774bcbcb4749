// jsonb built straight from the decoder's tokens (core/vtj_json.hpp, JsonToken), without
// printing JSON text and parsing it again with jsonb_in (a tenth of an initial load's time).
#pragma once

#include "pg/pg_headers.hpp"

#include <cstddef>

#include "core/vtj_json.hpp"

namespace vtj::pg {

// C zone: may ereport (out of memory, a number numeric_in refuses), so call it through pg_guard
// or with no C++ object alive on the stack. The tokens form one complete value and hold no
// U+0000 (vtj::tokens_hold_nul); the result is in CurrentMemoryContext. Object keys are sorted
// and a repeated key keeps its last value, exactly as jsonb_in does (the same tree of
// JsonbValues, converted by the same JsonbValueToJsonb; 20_fdw compares the two).
Datum jsonb_from_tokens(const vtj::JsonToken *tokens, std::size_t n);

}  // namespace vtj::pg
