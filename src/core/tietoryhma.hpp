// The change interface's rules on one data-group object (tietoryhmä) held as tokens: its state
// form (what a grouped row and a person's TURVAKIELTO facts hold) and whether the interface
// withheld it whole. Used by the scan (core/scan.cpp). PostgreSQL-free.
#pragma once

#include <vector>

#include "core/json_tokens.hpp"

namespace vtj {

// Appends one group object's tokens [begin, end) to `out`, leaving out its top-level keys
// "muutosattribuutti" and "voimassaolevatTiedot" with their values: they describe a change,
// not the state a grouped row stands for.
void append_state_tokens(const JsonToken *begin, const JsonToken *end, std::vector<JsonToken> &out);

// Whether the object [begin, end) was withheld whole by the interface: it carries
// "turvakiellonAlaisetKentat" and no top-level key but that, "tietoryhma" and "muutosattribuutti".
bool withheld_whole(const JsonToken *begin, const JsonToken *end) noexcept;

}  // namespace vtj
