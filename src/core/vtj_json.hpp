// Decoding of VTJ-muutosrajapinta JSON (docs/interface.md (endpoints, the change record, perustiedot vs muutokset)) into flat group rows; its request
// bodies: vtj_json_request.hpp; its dates: dates.hpp. PostgreSQL-free; simdjson stays behind
// this interface.
//
// Rows point into the response body (zero copy): keep the body alive and unmodified while the
// rows are used. Unknown fields and unknown group types are never an error: every group object
// is returned whole in `raw`, exactly as received.
//
// Lifetime: a string the interface sent with JSON escapes (\u00e4, \", \\) cannot point into the
// body; its unescaped copy lives in the page's `unescaped` arena instead (a deque, so the copies
// never move while the page grows). A row is therefore valid while both its body and its page
// object are alive and the page is not decoded into again. Moving a page keeps its rows valid;
// copying one does not (the copy's views still point into the original's arena). The decoder
// itself keeps nothing a row points to, so one decoder can decode any number of pages, each
// page's rows staying valid as long as that page and its body live. On an exception the page's
// rows, hetus and arena are cleared.
//
// The whole body is validated as JSON (also the parts returned only in `raw`, so that a later
// jsonb cast cannot fail and quote personal data in its error); errors never quote the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_tokens.hpp"  // JsonToken

namespace vtj {

// A date of the interface, {"arvo": "YYYY-MM-DD", "tarkkuus": "PAIVA"|"KUUKAUSI"|"VUOSI"} (or
// a plain "YYYY-MM-DD" string), as days since 1970-01-01. KUUKAUSI and VUOSI map to the first
// day of the month / year ("1965-11", "1965" are accepted as well). A missing or unreadable
// date is `present == false` (the raw JSON keeps it exactly).
struct OptionalDate {
    bool present = false;
    std::int32_t days_since_unix_epoch = 0;
};

struct GroupRow {
    std::string_view hetu;               // the person's henkilotunnus as received
    bool has_muutospv = false;           // /muutokset only (where every record has one)
    std::int64_t muutospv_unix_us = 0;   // microseconds since 1970-01-01T00:00:00Z
    std::string_view tietoryhma;         // always sent (a group object without one is refused)
    std::string_view muutosattribuutti;  // empty when missing (normally in /perustiedot)
    OptionalDate alkupv;
    OptionalDate loppupv;
    bool has_censored = false;           // the group carries "turvakiellonAlaisetKentat"
    std::vector<std::string_view> censored_fields;  // its entries, unescaped JSON strings
    std::string_view raw;                // the whole group object, as received
    std::uint32_t record_index = 0;      // change record (or person) index within the page
    std::uint32_t group_index = 0;       // group index within its change record / person
    // Only "turvakiellonAlaisetKentat" besides "tietoryhma" and "muutosattribuutti": a record
    // the interface withheld as a whole (it carries no value).
    bool withheld_only = false;
    // The group object's tokens in the page's `tokens` ([begin, end)); only when the page was
    // decoded with tokens.
    std::uint32_t tokens_begin = 0;
    std::uint32_t tokens_end = 0;
};

struct MuutoksetPage {
    std::int64_t bookmark = 0;           // "viimeisinKirjausavain"
    bool ajan_tasalla = false;           // "ajanTasalla"
    std::size_t records = 0;             // change records on the page
    std::vector<std::string_view> record_hetus;  // every change record's henkilotunnus, in order
    std::vector<GroupRow> rows;          // one per group object, in the interface's order
    std::deque<std::string> unescaped;   // storage of escaped strings the rows point to
    std::vector<JsonToken> tokens;       // the groups' tokens (decode_muutokset with_tokens)
    bool may_hold_nul = true;            // body_may_hold_nul of the page's body
};

struct PerustiedotPage {
    bool ajan_tasalla = true;
    std::size_t persons = 0;
    std::vector<std::string_view> person_hetus;  // every person returned, in order
    std::vector<GroupRow> rows;
    std::deque<std::string> unescaped;   // storage of escaped strings the rows point to
    std::vector<JsonToken> tokens;       // the groups' tokens (decode_perustiedot with_tokens)
    bool may_hold_nul = true;            // body_may_hold_nul of the page's body
};

// Whether a string decoded from this body can hold U+0000: JSON writes it only as the escape
// \u0000 (or, invalidly, as a raw NUL byte), so a body with neither has no such string and its
// tokens need no look for one (vtj::tokens_hold_nul, a tenth of a scan's time when asked of
// every row). True errs on the safe side: the tokens are then looked at.
bool body_may_hold_nul(std::string_view body) noexcept;

// The largest bookmark (viimeisinKirjausavain) accepted from the interface, 2^62; the smallest is 1.
constexpr std::int64_t kMaxBookmark = std::int64_t(1) << 62;

class JsonDecoder {
public:
    JsonDecoder();
    ~JsonDecoder();
    JsonDecoder(const JsonDecoder &) = delete;
    JsonDecoder &operator=(const JsonDecoder &) = delete;

    // Each decode_* may grow `body`'s capacity (simdjson needs padding) but never changes its
    // contents; `what` names the request in error messages ("POST /muutokset"). Throws
    // vtj::Error(BadResponse) for invalid JSON, a missing/ill-typed required field
    // (viimeisinKirjausavain — an integer from 1 to kMaxBookmark —, muutokset, perustiedot,
    // henkilotunnus, tietoryhmat, and in /muutokset muutospv, an instant), and a group object
    // that does not have the interface's shape: no string "tietoryhma", a "muutosattribuutti"
    // that is not a string, a "voimassaolevatTiedot" that is not an array of objects, a
    // "turvakiellonAlaisetKentat" that is not an array of strings, or a key twice in the group
    // object or any object inside it (the message gives the key path, never a value). Unknown
    // fields and group types are accepted.
    void decode_muutokset(std::string &body, MuutoksetPage &out, std::string_view what, bool with_tokens = false);
    // with_tokens: also every group object as tokens (PerustiedotPage::tokens), for consumers
    // that rebuild the values (a grouped scan).
    void decode_perustiedot(std::string &body, PerustiedotPage &out, std::string_view what, bool with_tokens = false);
    std::int64_t decode_kirjausavain(std::string &body, std::string_view what);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vtj
