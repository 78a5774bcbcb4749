// Decoding of VTJ-muutosrajapinta responses with simdjson On-Demand (vtj_json.hpp).
//
// One pass over the body: simdjson's stage 1 (runtime-dispatched SIMD inside libsimdjson)
// indexes the structure and validates UTF-8 and string contents; the walk below reads the few
// fields a row needs and validates everything else it steps over (numbers, atoms, escapes,
// nesting), because On-Demand does not check what it merely skips. A group's `raw` is the
// text from its '{' to its '}' (the position of the next token after the object, with the
// whitespace before it trimmed), so it is the exact original text and costs no copy.
//
// Strings: a value without backslashes is the text between its quotes in the body; one with
// escapes is unescaped by simdjson and copied into the page's `unescaped` arena.
//
// Error messages name the request, the record/group position and the JSON type found; never a
// value of the body (they may be hetus or other personal data).
#include "core/vtj_json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/dates.hpp"

namespace vtj {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Object/array levels below the value being walked; DVV nests four at most.
constexpr int max_nesting = 128;

struct Group;

struct Ctx {
    std::string_view what;           // "POST /muutokset"
    const char *base = nullptr;      // the body
    std::size_t size = 0;
    od::document *doc = nullptr;     // for error positions
    std::deque<std::string> *arena = nullptr;
    const char *record_noun = "change record";
    // Set while a group object is walked for a page decoded with tokens: every value walked is
    // also appended here (decode_group makes that copy of the context).
    std::vector<JsonToken> *tokens = nullptr;
    std::vector<JsonToken> *group_tokens = nullptr;  // where a group's tokens go (top level)
    // Set while a group object is walked (decode_group's copy of the context): the keys of the
    // objects open inside the group, a stack (duplicate keys are refused), and where in the group
    // the walk is (the key path of an error message).
    Group *group = nullptr;
    Group *scratch = nullptr;        // the storage decode_group uses (reused from group to group)
};

// One step of a key path inside a group object: a key, or an array index (key empty).
struct PathStep {
    std::string_view key;
    std::size_t index = 0;
    bool is_index = false;
};

// What decode_group keeps while it walks one group object. The path is a fixed array: the
// walk refuses nesting deeper than max_nesting, so it never needs more.
struct Group {
    static constexpr std::size_t kMaxPath = max_nesting + 8;
    std::uint32_t record = 0;
    std::uint32_t group = 0;
    std::vector<std::string_view> keys;
    PathStep path[kMaxPath];
    std::size_t depth = 0;
    std::vector<std::string_view> sorted;  // scratch of the duplicate check of a large object
};

inline void emit(const Ctx &c, JsonToken::Kind kind, std::string_view text = {})
{
    c.tokens->push_back(JsonToken{kind, text});
}

// A view the tokens keep: one into the body stays valid with the page; simdjson's unescaped
// copies live in the parser only until the next page, so they move into the page's arena.
inline std::string_view keep(const Ctx &c, std::string_view s)
{
    if (s.data() >= c.base && s.data() + s.size() <= c.base + c.size)
        return s;
    c.arena->emplace_back(s);
    return c.arena->back();
}

const char *type_name(od::json_type t) noexcept
{
    switch (t) {
    case od::json_type::array: return "an array";
    case od::json_type::object: return "an object";
    case od::json_type::number: return "a number";
    case od::json_type::string: return "a string";
    case od::json_type::boolean: return "a boolean";
    case od::json_type::null: return "null";
    }
    return "an unknown value";
}

[[noreturn]] void fail(const Ctx &, std::string message, std::string detail = {}, std::string hint = {})
{
    throw Error(ErrorKind::BadResponse, std::move(message), std::move(detail), std::move(hint));
}

[[noreturn]] void fail_json(const Ctx &c, error_code e)
{
    std::string detail = "simdjson: ";
    detail += simdjson::error_message(e);
    bool located = false;
    if (c.doc != nullptr) {
        const char *at = nullptr;
        const error_code le = c.doc->current_location().get(at);
        if (!le && at >= c.base && at <= c.base + c.size) {
            detail += " (near byte " + std::to_string(at - c.base) + " of " + std::to_string(c.size) + ")";
            located = true;
        } else if (le == simdjson::OUT_OF_BOUNDS) {
            detail += " (at the end of the " + std::to_string(c.size) + "-byte body)";
            located = true;
        }
    }
    if (!located)
        detail += " (body of " + std::to_string(c.size) + " bytes)";
    fail(c, "the response to " + std::string(c.what) + " is not valid JSON", std::move(detail),
         "The body may have been cut off in transit, or come from something other than the interface "
         "(such as a proxy's error page).");
}

inline void check(const Ctx &c, error_code e)
{
    if (simdjson_unlikely(e != simdjson::SUCCESS))
        fail_json(c, e);
}

std::string quoted(std::string_view key) { return "\"" + std::string(key) + "\""; }

[[noreturn]] void fail_top_missing(const Ctx &c, std::string_view key)
{
    fail(c, "the response to " + std::string(c.what) + " has no " + quoted(key));
}

[[noreturn]] void fail_top_invalid(const Ctx &c, std::string_view key, std::string detail)
{
    fail(c, "the response to " + std::string(c.what) + " has an invalid " + quoted(key), std::move(detail));
}

[[noreturn]] void fail_top_duplicate(const Ctx &c, std::string_view key)
{
    fail(c, "the response to " + std::string(c.what) + " has " + quoted(key) + " more than once");
}

std::string record_place(const Ctx &c, std::uint32_t record)
{
    return std::string(c.record_noun) + " " + std::to_string(record) + " (counting from 0) in the response to " +
           std::string(c.what);
}

std::string group_place(const Ctx &c, std::uint32_t record, std::uint32_t group)
{
    return "group " + std::to_string(group) + " of " + record_place(c, record);
}

// A key as a message may show it: a name such as DVV's field names (a letter, then letters,
// digits, underscores), else only its length: a key is text of the answer and could be anything.
std::string printable_key(std::string_view k)
{
    bool name = !k.empty() && k.size() <= 64 &&
                ((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z'));
    for (std::size_t i = 1; name && i < k.size(); ++i) {
        const char ch = k[i];
        name = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    }
    return name ? std::string(k) : "(a key of " + std::to_string(k.size()) + " bytes)";
}

// The path inside the group to `last` (a key of the object being walked).
std::string key_path(const Group &g, std::string_view last)
{
    std::string out;
    for (std::size_t i = 0; i < g.depth; ++i) {
        const PathStep &p = g.path[i];
        if (p.is_index) {
            out += "[" + std::to_string(p.index) + "]";
        } else {
            if (!out.empty())
                out += '.';
            out += printable_key(p.key);
        }
    }
    if (!out.empty())
        out += '.';
    out += printable_key(last);
    return out;
}

[[noreturn]] void fail_duplicate_key(const Ctx &c, std::string_view key)
{
    fail(c, group_place(c, c.group->record, c.group->group) + " has the key \"" + key_path(*c.group, key) +
                "\" more than once",
         "A repeated key has no one meaning (PostgreSQL's jsonb keeps the last value, other readers the first); "
         "vtj_fdw refuses the answer rather than decide which one counts, for example whether a person is protected.",
         "Report the time of the request to DVV; nothing of this answer was returned as complete.");
}

// The keys of one object inside a group: a repeated key is refused. The first kLinear keys are
// kept here and checked key by key (a 64-bit filter of length and end bytes skips the
// comparisons for almost every key); an object with more keys moves them to the group's key
// stack and sorts them once at its end.
class KeySet {
public:
    static constexpr std::size_t kLinear = 16;
    explicit KeySet(const Ctx &c) noexcept : c_(c) {}
    ~KeySet()
    {
        if (large_)
            c_.group->keys.resize(base_);
    }
    KeySet(const KeySet &) = delete;
    KeySet &operator=(const KeySet &) = delete;

    void add(std::string_view k)
    {
        if (!c_.group)
            return;
        if (!large_) {
            const std::uint64_t bit = std::uint64_t(1) << ((k.size() * 5 + (k.empty() ? 0u : unsigned(k[0]))) & 63);
            if (seen_ & bit)
                for (std::size_t i = 0; i < n_; ++i)
                    if (std::string_view(local_[i].p, local_[i].n) == k)
                        fail_duplicate_key(c_, k);
            seen_ |= bit;
            if (n_ < kLinear) {
                local_[n_++] = Kept{k.data(), k.size()};
                return;
            }
            std::vector<std::string_view> &keys = c_.group->keys;
            base_ = keys.size();
            for (std::size_t i = 0; i < n_; ++i)
                keys.emplace_back(local_[i].p, local_[i].n);
            large_ = true;
        }
        c_.group->keys.push_back(k);
    }
    // At the object's end.
    void finish()
    {
        if (!large_)
            return;
        std::vector<std::string_view> &sorted = c_.group->sorted;
        sorted.assign(c_.group->keys.begin() + static_cast<std::ptrdiff_t>(base_), c_.group->keys.end());
        std::sort(sorted.begin(), sorted.end());
        const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
        if (dup != sorted.end())
            fail_duplicate_key(c_, *dup);
    }

private:
    struct Kept {  // plain, so that the array is not initialised for every object
        const char *p;
        std::size_t n;
    };
    const Ctx &c_;
    Kept local_[kLinear];
    std::size_t n_ = 0;
    std::uint64_t seen_ = 0;
    bool large_ = false;
    std::size_t base_ = 0;
};

// Where the walk is inside a group, for the key path of a message.
class PathPush {
public:
    PathPush(const Ctx &c, std::string_view key) noexcept : g_(c.group && c.group->depth < Group::kMaxPath ? c.group : nullptr)
    {
        if (g_)
            g_->path[g_->depth++] = PathStep{key, 0, false};
    }
    PathPush(const Ctx &c, std::size_t index) noexcept : g_(c.group && c.group->depth < Group::kMaxPath ? c.group : nullptr)
    {
        if (g_)
            g_->path[g_->depth++] = PathStep{std::string_view(), index, true};
    }
    ~PathPush()
    {
        if (g_)
            --g_->depth;
    }
    PathPush(const PathPush &) = delete;
    PathPush &operator=(const PathPush &) = delete;

private:
    Group *g_;
};

inline bool is_ws(char ch) noexcept { return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'; }

inline std::string_view trim_right(std::string_view s) noexcept
{
    while (!s.empty() && is_ws(s.back()))
        s.remove_suffix(1);
    return s;
}

inline od::json_type type_of(const Ctx &c, od::value &v)
{
    od::json_type t{};
    check(c, v.type().get(t));
    return t;
}

// The text of a string value (the caller checked the type), which it consumes. Without escapes
// it points into the body; with escapes it is simdjson's unescaped copy in the parser (valid
// until the next iterate), and `escaped` is set.
inline std::string_view string_value(const Ctx &c, od::value &v, bool &escaped)
{
    const std::string_view token = trim_right(v.raw_json_token());
    if (simdjson_unlikely(token.size() < 2 || token.front() != '"' || token.back() != '"'))
        fail_json(c, simdjson::STRING_ERROR);
    const std::string_view content = token.substr(1, token.size() - 2);
    if (std::memchr(content.data(), '\\', content.size()) == nullptr) {
        // Consume the string even so: simdjson 3.0.1 skips an unconsumed string followed by ':'
        // as if it were a key, which would let `{"a": "b": 1}` through.
        od::raw_json_string consumed;
        check(c, v.get_raw_json_string().get(consumed));
        escaped = false;
        return content;
    }
    escaped = true;
    std::string_view out;
    check(c, v.get_string().get(out));
    return out;
}

// A string value the row keeps: escaped ones move into the page's arena.
inline std::string_view kept_string(const Ctx &c, od::value &v)
{
    bool escaped = false;
    const std::string_view s = string_value(c, v, escaped);
    if (!escaped)
        return s;
    c.arena->emplace_back(s);
    return c.arena->back();
}

// A key, unescaped (simdjson leaves keys raw).
inline std::string_view key_of(const Ctx &c, od::field &f)
{
    const char *const k = f.key().raw();
    const char *p = k;
    while (*p != '"' && *p != '\\')  // stage 1 guarantees the closing quote
        ++p;
    if (*p == '"')
        return std::string_view(k, std::size_t(p - k));
    std::string_view out;
    check(c, f.unescaped_key().get(out));
    return out;
}

bool valid_number(std::string_view s) noexcept
{
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto digit = [&](std::size_t j) { return j < n && s[j] >= '0' && s[j] <= '9'; };
    if (i < n && s[i] == '-')
        ++i;
    if (!digit(i))
        return false;
    if (s[i] == '0')
        ++i;
    else
        while (digit(i))
            ++i;
    if (i < n && s[i] == '.') {
        ++i;
        if (!digit(i))
            return false;
        while (digit(i))
            ++i;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            ++i;
        if (!digit(i))
            return false;
        while (digit(i))
            ++i;
    }
    return i == n;
}

// Validates a value the decoder does not otherwise read (it stays in `raw`).
// One walk of a JSON array for every reader of one: its tokens (BeginArray, EndArray) when the
// scan keeps them; fn(element, index) reads each element and emits its tokens.
template <typename Fn>
void walk_array(const Ctx &c, od::value &v, Fn &&fn)
{
    od::array a;
    check(c, v.get_array().get(a));
    if (c.tokens)
        emit(c, JsonToken::Kind::BeginArray);
    std::size_t index = 0;
    for (auto er : a) {
        od::value e;
        check(c, std::move(er).get(e));
        fn(e, index++);
    }
    if (c.tokens)
        emit(c, JsonToken::Kind::EndArray);
}

// One walk of a JSON object for every reader of one: its tokens (BeginObject, each Key,
// EndObject) when the scan keeps them, a key twice refused (KeySet), the path that messages
// name; fn(key, value) reads each value and emits its tokens.
template <typename Fn>
void walk_object(const Ctx &c, od::value &v, Fn &&fn)
{
    od::object o;
    check(c, v.get_object().get(o));
    if (c.tokens)
        emit(c, JsonToken::Kind::BeginObject);
    KeySet keys(c);
    for (auto fr : o) {
        od::field f;
        check(c, std::move(fr).get(f));
        const std::string_view k = key_of(c, f);
        keys.add(k);
        if (c.tokens)
            emit(c, JsonToken::Kind::Key, keep(c, k));
        PathPush at(c, k);
        fn(k, f.value());
    }
    keys.finish();
    if (c.tokens)
        emit(c, JsonToken::Kind::EndObject);
}

void validate(const Ctx &c, od::value &v, int depth)
{
    switch (type_of(c, v)) {
    case od::json_type::object: {
        if (depth >= max_nesting)
            fail(c, "the response to " + std::string(c.what) + " nests JSON more than " +
                        std::to_string(max_nesting) + " levels deep");
        walk_object(c, v, [&](std::string_view, od::value &fv) { validate(c, fv, depth + 1); });
        break;
    }
    case od::json_type::array: {
        if (depth >= max_nesting)
            fail(c, "the response to " + std::string(c.what) + " nests JSON more than " +
                        std::to_string(max_nesting) + " levels deep");
        walk_array(c, v, [&](od::value &e, std::size_t index) {
            PathPush at(c, index);
            validate(c, e, depth + 1);
        });
        break;
    }
    case od::json_type::string: {
        bool escaped;
        const std::string_view s = string_value(c, v, escaped);
        if (c.tokens)
            emit(c, JsonToken::Kind::String, keep(c, s));
        break;
    }
    case od::json_type::number: {
        const std::string_view t = trim_right(v.raw_json_token());
        if (!valid_number(t))
            fail_json(c, simdjson::NUMBER_ERROR);
        if (c.tokens)
            emit(c, JsonToken::Kind::Number, t);
        break;
    }
    case od::json_type::boolean: {
        const std::string_view t = trim_right(v.raw_json_token());
        if (t != "true" && t != "false")
            fail_json(c, t.empty() || t[0] == 't' ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR);
        if (c.tokens)
            emit(c, t[0] == 't' ? JsonToken::Kind::True : JsonToken::Kind::False);
        break;
    }
    case od::json_type::null:
        if (trim_right(v.raw_json_token()) != "null")
            fail_json(c, simdjson::N_ATOM_ERROR);
        if (c.tokens)
            emit(c, JsonToken::Kind::Null);
        break;
    }
}

// ---- keys ----------------------------------------------------------------------------------

enum class Key {
    Other,
    // top level
    Bookmark,      // viimeisinKirjausavain
    Muutokset,     // muutokset
    Perustiedot,   // perustiedot
    AjanTasalla,   // ajanTasalla
    // record
    Hetu,          // henkilotunnus
    Muutospv,      // muutospv
    Tietoryhmat,   // tietoryhmat
    // group
    Tietoryhma,    // tietoryhma
    Attribute,     // muutosattribuutti
    Alkupv,        // alkupv
    Loppupv,       // loppupv
    Censored,      // turvakiellonAlaisetKentat
    Voimassa       // voimassaolevatTiedot
};

// The keys of the top level and of a record, looked up by name (a few a record: a list is fast
// enough); a group's keys, read for every group object, by length first (group_key).
struct KeyName {
    std::string_view name;
    Key key;
};

constexpr KeyName kTopKeys[] = {{"viimeisinKirjausavain", Key::Bookmark},
                                {"muutokset", Key::Muutokset},
                                {"perustiedot", Key::Perustiedot},
                                {"ajanTasalla", Key::AjanTasalla}};
constexpr KeyName kRecordKeys[] = {{"tietoryhmat", Key::Tietoryhmat},
                                   {"henkilotunnus", Key::Hetu},
                                   {"muutospv", Key::Muutospv}};

template <std::size_t N>
inline Key find_key(std::string_view k, const KeyName (&names)[N]) noexcept
{
    for (const KeyName &n : names)
        if (n.name == k)
            return n.key;
    return Key::Other;
}

inline Key top_key(std::string_view k) noexcept { return find_key(k, kTopKeys); }

inline Key record_key(std::string_view k) noexcept { return find_key(k, kRecordKeys); }

inline Key group_key(std::string_view k) noexcept
{
    // Dispatch on the length first: most keys of a group are none of these.
    switch (k.size()) {
    case 6: return k == "alkupv" ? Key::Alkupv : Key::Other;
    case 7: return k == "loppupv" ? Key::Loppupv : Key::Other;
    case 10: return k == "tietoryhma" ? Key::Tietoryhma : Key::Other;
    case 17: return k == "muutosattribuutti" ? Key::Attribute : Key::Other;
    case 20: return k == "voimassaolevatTiedot" ? Key::Voimassa : Key::Other;
    case 25: return k == "turvakiellonAlaisetKentat" ? Key::Censored : Key::Other;
    default: return Key::Other;
    }
}

// ---- groups --------------------------------------------------------------------------------

// The group being walked, for messages.
std::string here(const Ctx &c) { return group_place(c, c.group->record, c.group->group); }

OptionalDate read_date(const Ctx &c, od::value &v)
{
    OptionalDate date;
    const od::json_type t = type_of(c, v);
    if (t == od::json_type::string) {
        bool escaped;
        const std::string_view s = string_value(c, v, escaped);
        if (c.tokens)
            emit(c, JsonToken::Kind::String, keep(c, s));
        date.present = parse_date(s, date.days_since_unix_epoch);
        return date;
    }
    if (t != od::json_type::object) {
        validate(c, v, 1);
        return date;
    }
    std::string_view arvo, tarkkuus;
    bool has_arvo = false;
    walk_object(c, v, [&](std::string_view k, od::value &fv) {
        const bool is_arvo = k == "arvo", is_tarkkuus = !is_arvo && k == "tarkkuus";
        if ((is_arvo || is_tarkkuus) && type_of(c, fv) == od::json_type::string) {
            bool escaped;
            // Escaped copies live in the parser's buffer until the next page: long enough.
            const std::string_view s = string_value(c, fv, escaped);
            if (c.tokens)
                emit(c, JsonToken::Kind::String, keep(c, s));
            (is_arvo ? arvo : tarkkuus) = s;
            has_arvo = has_arvo || is_arvo;
        } else {
            if (is_arvo)
                has_arvo = false;
            validate(c, fv, 2);
        }
    });
    if (has_arvo)
        date.present = dates_detail::parse_date_with_precision(arvo, dates_detail::date_precision(tarkkuus),
                                                              date.days_since_unix_epoch);
    return date;
}

// An array in a group whose every element must be of type `want` ("strings", "objects" in
// messages): each element is handed to `each(element, index)`; anything else is refused, naming
// the key and the index, never a value.
template <class Each>
void read_array_of(const Ctx &c, od::value &v, std::string_view key, od::json_type want, const char *want_name,
                   Each &&each)
{
    const od::json_type t = type_of(c, v);
    if (t != od::json_type::array)
        fail(c, here(c) + " has an invalid " + quoted(key),
             "expected an array of " + std::string(want_name) + ", found " + type_name(t));
    walk_array(c, v, [&](od::value &e, std::size_t index) {
        const od::json_type et = type_of(c, e);
        if (et != want)
            fail(c, here(c) + " has an invalid " + quoted(key),
                 "expected an array of " + std::string(want_name) + ", found " + std::string(type_name(et)) +
                     " at index " + std::to_string(index));
        each(e, index);
    });
}

// "turvakiellonAlaisetKentat": an array of the withheld fields' names. Anything else is refused
// (the key's presence marks the group censored whatever follows, but a list that cannot be read
// is not an answer of the interface).
void read_censored(const Ctx &c, od::value &v, std::string_view key, std::vector<std::string_view> &fields)
{
    read_array_of(c, v, key, od::json_type::string, "strings", [&](od::value &e, std::size_t) {
        fields.push_back(kept_string(c, e));
        if (c.tokens)
            emit(c, JsonToken::Kind::String, fields.back());
    });
}

// "voimassaolevatTiedot": the records valid after the change, an array of objects.
void read_valid_records(const Ctx &c, od::value &v, std::string_view key)
{
    read_array_of(c, v, key, od::json_type::object, "objects", [&](od::value &e, std::size_t index) {
        PathPush at(c, index);
        validate(c, e, 2);
    });
}

// A string field of a group ("tietoryhma", "muutosattribuutti"): null or another type is refused.
std::string_view string_field(const Ctx &c, od::value &v, std::string_view key)
{
    const od::json_type t = type_of(c, v);
    if (t != od::json_type::string)
        fail(c, here(c) + " has an invalid " + quoted(key), std::string("expected a string, found ") + type_name(t));
    const std::string_view s = kept_string(c, v);
    if (c.tokens)
        emit(c, JsonToken::Kind::String, s);
    return s;
}

void decode_group(const Ctx &outer, od::value &gv, GroupRow &row)
{
    // With tokens, everything below also appends the group's tokens.
    Ctx c = outer;
    c.tokens = outer.group_tokens;
    c.group = outer.scratch;
    c.group->record = row.record_index;
    c.group->group = row.group_index;
    c.group->keys.clear();
    c.group->depth = 0;
    const od::json_type t = type_of(c, gv);
    if (t != od::json_type::object)
        fail(c, here(c) + " is not a JSON object", std::string("found ") + type_name(t));
    const char *const start = gv.raw_json_token().data();
    if (c.tokens)
        row.tokens_begin = static_cast<std::uint32_t>(c.tokens->size());
    std::size_t value_keys = 0;  // keys other than tietoryhma, muutosattribuutti, turvakiellonAlaisetKentat
    bool has_tietoryhma = false;
    walk_object(c, gv, [&](std::string_view k, od::value &v) {
        const Key key = group_key(k);
        if (key != Key::Tietoryhma && key != Key::Attribute && key != Key::Censored)
            ++value_keys;
        switch (key) {
        case Key::Tietoryhma:
            row.tietoryhma = string_field(c, v, k);
            has_tietoryhma = true;
            break;
        case Key::Attribute:
            row.muutosattribuutti = string_field(c, v, k);
            break;
        case Key::Alkupv:
            row.alkupv = read_date(c, v);
            break;
        case Key::Loppupv:
            row.loppupv = read_date(c, v);
            break;
        case Key::Censored:
            row.has_censored = true;
            read_censored(c, v, k, row.censored_fields);
            break;
        case Key::Voimassa:
            read_valid_records(c, v, k);
            break;
        default:
            validate(c, v, 1);
        }
    });
    if (!has_tietoryhma)
        fail(c, here(c) + " has no \"tietoryhma\"", "Every data-group object names its group; this one cannot be told apart.");
    row.withheld_only = row.has_censored && value_keys == 0;
    if (c.tokens) {
        if (c.tokens->size() > UINT32_MAX)
            fail(c, "the response to " + std::string(c.what) + " has too many JSON values");
        row.tokens_end = static_cast<std::uint32_t>(c.tokens->size());
    }
    // The object is consumed: the iterator is at the token after its '}'.
    const char *end = nullptr;
    check(c, gv.current_location().get(end));
    const std::string_view raw = trim_right(std::string_view(start, std::size_t(end - start)));
    if (simdjson_unlikely(raw.empty() || raw.back() != '}' || end > c.base + c.size))
        fail_json(c, simdjson::TAPE_ERROR);
    row.raw = raw;
}

// Rows are reused from the page's previous contents; a fresh page first reserves for a typical
// group size (about 150 bytes in /perustiedot), so it grows at most once or twice.
void reserve_rows(std::vector<GroupRow> &rows, std::size_t body_size)
{
    const std::size_t estimate = body_size / 256 + 16;
    if (rows.capacity() < estimate)
        rows.reserve(estimate);
}

GroupRow &next_row(std::vector<GroupRow> &rows, std::size_t &n)
{
    if (n < rows.size()) {
        GroupRow &r = rows[n++];
        std::vector<std::string_view> censored = std::move(r.censored_fields);
        censored.clear();
        r = GroupRow{};
        r.censored_fields = std::move(censored);  // keeps its capacity for the next censored group
        return r;
    }
    rows.emplace_back();
    return rows[n++];
}

// ---- records -------------------------------------------------------------------------------

constexpr const char *kInstantExpected = "expected an ISO-8601 instant such as 2019-09-24T21:00:00.000Z";

// A key of a record seen a second time is refused; the first time, `seen` is set.
void record_key_once(const Ctx &c, std::uint32_t ri, bool &seen, const char *key)
{
    if (seen)
        fail(c, record_place(c, ri) + " has \"" + key + "\" more than once");
    seen = true;
}

// A record's value of another JSON type than the interface sends is refused: "<record> has
// <what>", detail "<expected>, found <type>".
void record_value_of(const Ctx &c, std::uint32_t ri, od::value &v, od::json_type want, const char *what,
                     const char *expected)
{
    const od::json_type t = type_of(c, v);
    if (t != want)
        fail(c, record_place(c, ri) + " has " + what, std::string(expected) + ", found " + type_name(t));
}

// The change records (or persons) of `muutokset` (or `perustiedot`).
std::size_t decode_records(const Ctx &c, od::value &list, std::string_view list_key, bool with_muutospv,
                           std::vector<GroupRow> &rows, std::size_t &n,
                           std::vector<std::string_view> *person_hetus)
{
    const od::json_type lt = type_of(c, list);
    if (lt != od::json_type::array)
        fail_top_invalid(c, list_key, std::string("expected an array, found ") + type_name(lt));
    od::array records;
    check(c, list.get_array().get(records));
    std::uint32_t ri = 0;
    for (auto rr : records) {
        od::value rv;
        check(c, std::move(rr).get(rv));
        const od::json_type rt = type_of(c, rv);
        if (rt != od::json_type::object)
            fail(c, record_place(c, ri) + " is not a JSON object", std::string("found ") + type_name(rt));
        od::object record;
        check(c, rv.get_object().get(record));
        const std::size_t first = n;
        std::string_view hetu;
        bool has_hetu = false, has_groups = false, has_muutospv = false;
        std::int64_t muutospv = 0;
        for (auto fr : record) {
            od::field f;
            check(c, std::move(fr).get(f));
            const std::string_view k = key_of(c, f);
            od::value &v = f.value();
            Key key = record_key(k);
            if (key == Key::Muutospv && !with_muutospv)
                key = Key::Other;
            switch (key) {
            case Key::Hetu:
                record_key_once(c, ri, has_hetu, "henkilotunnus");
                record_value_of(c, ri, v, od::json_type::string, "an invalid \"henkilotunnus\"", "expected a string");
                hetu = kept_string(c, v);
                break;
            case Key::Muutospv: {
                // When the change was registered: the upper bound on muutospv stops paging by it,
                // and a change without a time cannot be placed (no NULL muutospv reaches a row).
                record_key_once(c, ri, has_muutospv, "muutospv");
                record_value_of(c, ri, v, od::json_type::string, "an unreadable \"muutospv\"", kInstantExpected);
                bool escaped;
                if (!parse_instant(string_value(c, v, escaped), muutospv))
                    fail(c, record_place(c, ri) + " has an unreadable \"muutospv\"",
                         std::string(kInstantExpected) + ", found a string that is not one");
                break;
            }
            case Key::Tietoryhmat: {
                record_key_once(c, ri, has_groups, "tietoryhmat");
                record_value_of(c, ri, v, od::json_type::array, "an invalid \"tietoryhmat\"", "expected an array");
                od::array groups;
                check(c, v.get_array().get(groups));
                std::uint32_t gi = 0;
                for (auto gr : groups) {
                    od::value gv;
                    check(c, std::move(gr).get(gv));
                    GroupRow &row = next_row(rows, n);
                    row.record_index = ri;
                    row.group_index = gi++;
                    decode_group(c, gv, row);
                }
                break;
            }
            default:
                validate(c, v, 1);
            }
        }
        if (!has_hetu)
            fail(c, record_place(c, ri) + " has no \"henkilotunnus\"");
        if (with_muutospv && !has_muutospv)
            fail(c, record_place(c, ri) + " has no \"muutospv\"",
                 "A change record without the time it was registered cannot be placed in the window.");
        if (!has_groups)
            fail(c, record_place(c, ri) + " has no \"tietoryhmat\"",
                 "The interface sent a broken record (\"rikkinainen tietue\"); the page is rejected as a whole.",
                 "Retry later; if it persists, report the bookmark and time to DVV.");
        for (std::size_t i = first; i < n; ++i) {
            rows[i].hetu = hetu;
            rows[i].has_muutospv = has_muutospv;
            rows[i].muutospv_unix_us = muutospv;
        }
        if (person_hetus != nullptr)
            person_hetus->push_back(hetu);
        ++ri;
    }
    return ri;
}

// "viimeisinKirjausavain": a bookmark the interface can have issued, a JSON integer from 1 to
// kMaxBookmark. Fractions, exponents, strings, zero, negatives and values near the 64-bit limit
// are refused (a bookmark is only ever compared and sent back; one out of this range is garbled).
std::int64_t read_bookmark(const Ctx &c, od::value &v)
{
    const std::string range = "expected an integer from 1 to 2^62 (" + std::to_string(kMaxBookmark) + "), found ";
    const od::json_type t = type_of(c, v);
    if (t != od::json_type::number)
        fail_top_invalid(c, "viimeisinKirjausavain", range + type_name(t));
    const std::string_view text = trim_right(v.raw_json_token());
    if (!valid_number(text))
        fail_json(c, simdjson::NUMBER_ERROR);
    if (text.find_first_of(".eE") != std::string_view::npos)
        fail_top_invalid(c, "viimeisinKirjausavain", range + "a number with a fraction or an exponent");
    std::int64_t bookmark = 0;
    if (v.get_int64().get(bookmark) != simdjson::SUCCESS)
        fail_top_invalid(c, "viimeisinKirjausavain", range + "an integer beyond 64 bits");
    if (bookmark < 1)
        fail_top_invalid(c, "viimeisinKirjausavain", range + (bookmark == 0 ? "zero" : "a negative integer"));
    if (bookmark > kMaxBookmark)
        fail_top_invalid(c, "viimeisinKirjausavain", range + "a larger integer");
    return bookmark;
}

bool read_bool(const Ctx &c, od::value &v, std::string_view key)
{
    const od::json_type t = type_of(c, v);
    if (t != od::json_type::boolean)
        fail_top_invalid(c, key, std::string("expected a boolean, found ") + type_name(t));
    bool b = false;
    check(c, v.get_bool().get(b));
    return b;
}

// After the top-level object: nothing may follow.
void finish(const Ctx &c, od::document &doc)
{
    const char *at = nullptr;
    const error_code e = doc.current_location().get(at);
    if (e == simdjson::OUT_OF_BOUNDS)
        return;
    check(c, e);
    fail_json(c, simdjson::TRAILING_CONTENT);
}

}  // namespace

struct JsonDecoder::Impl {
    od::parser parser;  // reused across pages: its buffers grow to the largest body seen
    Group group;        // decode_group's storage, reused
};

namespace {

// The top-level object of a document (document is not an od::value; handled here).
od::object top_object(const Ctx &c, od::document &doc)
{
    od::json_type t{};
    check(c, doc.type().get(t));
    if (t != od::json_type::object)
        fail(c, "the response to " + std::string(c.what) + " is not a JSON object",
             std::string("found ") + type_name(t));
    od::object o;
    check(c, doc.get_object().get(o));
    return o;
}

od::document begin(od::parser &parser, Ctx &c, std::string &body)
{
    const std::size_t size = body.size();
    if (body.capacity() < size + simdjson::SIMDJSON_PADDING)
        body.reserve(size + simdjson::SIMDJSON_PADDING);
    // Initialise the padding (simdjson may read it) without changing the contents.
    body.append(simdjson::SIMDJSON_PADDING, ' ');
    body.resize(size);
    c.base = body.data();
    c.size = size;
    c.doc = nullptr;
    od::document doc;
    check(c, parser.iterate(simdjson::padded_string_view(body.data(), size, body.capacity())).get(doc));
    return doc;
}

// A key of an answer's top-level object that the answer may carry (`required`: must).
struct TopKey {
    Key key;
    const char *name;
    bool required;
};

// Walks the top-level object once: each of `keys` may come once (twice is refused: which one
// would count?) and is read by `read(key, value, name)`; every other key is validated as JSON and
// skipped; then nothing may follow, and a required key that did not come is refused. The one
// walk of the three answers (/muutokset, /perustiedot, /kirjausavain).
template <std::size_t N, class Read>
void walk_top(const Ctx &c, od::document &doc, const TopKey (&keys)[N], Read &&read)
{
    bool seen[N] = {};
    for (auto fr : top_object(c, doc)) {
        od::field f;
        check(c, std::move(fr).get(f));
        const std::string_view k = key_of(c, f);
        od::value &v = f.value();
        const Key key = top_key(k);
        std::size_t i = 0;
        while (i < N && (key == Key::Other || keys[i].key != key))
            ++i;
        if (i == N) {
            validate(c, v, 1);
            continue;
        }
        if (seen[i])
            fail_top_duplicate(c, k);
        read(key, v, k);
        seen[i] = true;
    }
    finish(c, doc);
    for (std::size_t i = 0; i < N; ++i)
        if (keys[i].required && !seen[i])
            fail_top_missing(c, keys[i].name);
}

// What a page of group rows is made of, whichever list it holds (change records or persons):
// the views of MuutoksetPage and PerustiedotPage that the shared decoding fills.
struct RowPage {
    std::vector<GroupRow> &rows;
    std::vector<std::string_view> &hetus;  // every record's henkilotunnus, in order
    std::size_t &count;                    // records on the page
    std::deque<std::string> &unescaped;
    std::vector<JsonToken> &tokens;
    bool &may_hold_nul;

    void clear()
    {
        rows.clear();
        hetus.clear();
        count = 0;
        unescaped.clear();
        tokens.clear();
        may_hold_nul = true;
    }
};

// A page of group rows: the body walked with `keys`, `read(c, key, value, name, n)` reading
// each (n: the rows filled so far, for decode_records). On an exception nothing of the page is
// left (its rows would point into an answer that is refused).
template <std::size_t N, class Read>
void decode_row_page(od::parser &parser, Group &scratch, std::string &body, RowPage page, std::string_view what,
                     bool with_tokens, const char *record_noun, const TopKey (&keys)[N], Read &&read)
{
    page.hetus.clear();
    page.count = 0;
    page.unescaped.clear();
    page.tokens.clear();
    page.may_hold_nul = body_may_hold_nul(body);
    std::size_t n = 0;
    try {
        Ctx c;
        c.what = what;
        c.arena = &page.unescaped;
        c.record_noun = record_noun;
        c.scratch = &scratch;
        c.group_tokens = with_tokens ? &page.tokens : nullptr;
        if (with_tokens && page.tokens.capacity() < body.size() / 8)
            page.tokens.reserve(body.size() / 8);
        od::document doc = begin(parser, c, body);
        c.doc = &doc;
        reserve_rows(page.rows, body.size());
        walk_top(c, doc, keys, [&](Key key, od::value &v, std::string_view k) { read(c, key, v, k, n); });
        page.rows.resize(n);
    } catch (...) {
        page.clear();
        throw;
    }
}

}  // namespace

bool body_may_hold_nul(std::string_view body) noexcept
{
    static constexpr char kEscape[] = "\\u0000";
    return std::memchr(body.data(), '\0', body.size()) != nullptr ||
           memmem(body.data(), body.size(), kEscape, sizeof kEscape - 1) != nullptr;
}

JsonDecoder::JsonDecoder() : impl_(std::make_unique<Impl>()) {}

JsonDecoder::~JsonDecoder() = default;

void JsonDecoder::decode_muutokset(std::string &body, MuutoksetPage &out, std::string_view what, bool with_tokens)
{
    static constexpr TopKey kKeys[] = {{Key::Bookmark, "viimeisinKirjausavain", true},
                                       {Key::Muutokset, "muutokset", true},
                                       {Key::AjanTasalla, "ajanTasalla", true}};
    out.bookmark = 0;
    out.ajan_tasalla = false;
    decode_row_page(impl_->parser, impl_->group, body,
                    RowPage{out.rows, out.record_hetus, out.records, out.unescaped, out.tokens, out.may_hold_nul}, what, with_tokens,
                    "change record", kKeys,
                    [&](const Ctx &c, Key key, od::value &v, std::string_view k, std::size_t &n) {
                        if (key == Key::Bookmark)
                            out.bookmark = read_bookmark(c, v);
                        else if (key == Key::Muutokset)
                            out.records = decode_records(c, v, k, true, out.rows, n, &out.record_hetus);
                        else
                            out.ajan_tasalla = read_bool(c, v, k);
                    });
}

void JsonDecoder::decode_perustiedot(std::string &body, PerustiedotPage &out, std::string_view what,
                                     bool with_tokens)
{
    static constexpr TopKey kKeys[] = {{Key::Perustiedot, "perustiedot", true},
                                       {Key::AjanTasalla, "ajanTasalla", false}};  // optional in /perustiedot
    out.ajan_tasalla = true;
    decode_row_page(impl_->parser, impl_->group, body,
                    RowPage{out.rows, out.person_hetus, out.persons, out.unescaped, out.tokens, out.may_hold_nul}, what, with_tokens,
                    "person", kKeys,
                    [&](const Ctx &c, Key key, od::value &v, std::string_view k, std::size_t &n) {
                        if (key == Key::Perustiedot)
                            out.persons = decode_records(c, v, k, false, out.rows, n, &out.person_hetus);
                        else
                            out.ajan_tasalla = read_bool(c, v, k);
                    });
}

std::int64_t JsonDecoder::decode_kirjausavain(std::string &body, std::string_view what)
{
    static constexpr TopKey kKeys[] = {{Key::Bookmark, "viimeisinKirjausavain", true}};
    Ctx c;
    c.what = what;
    od::document doc = begin(impl_->parser, c, body);
    c.doc = &doc;
    std::int64_t bookmark = 0;
    walk_top(c, doc, kKeys, [&](Key, od::value &v, std::string_view) { bookmark = read_bookmark(c, v); });
    return bookmark;
}

}  // namespace vtj
