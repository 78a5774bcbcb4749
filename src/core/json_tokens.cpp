#include "core/json_tokens.hpp"

#include <cstring>

namespace vtj {

namespace json_tokens_detail {

// The index after the value starting at tokens[i].
std::size_t skip_value(const JsonToken *t, std::size_t i, std::size_t n) noexcept
{
    int depth = 0;
    do {
        switch (t[i].kind) {
        case JsonToken::Kind::BeginObject:
        case JsonToken::Kind::BeginArray:
            ++depth;
            break;
        case JsonToken::Kind::EndObject:
        case JsonToken::Kind::EndArray:
            --depth;
            break;
        default:
            break;
        }
        ++i;
    } while (depth > 0 && i < n);
    return i;
}

}  // namespace json_tokens_detail

namespace {

using json_tokens_detail::skip_value;

bool is_change_key(std::string_view k) noexcept { return k == "muutosattribuutti" || k == "voimassaolevatTiedot"; }

}  // namespace

bool withheld_whole(const JsonToken *begin, const JsonToken *end) noexcept
{
    const std::size_t n = static_cast<std::size_t>(end - begin);
    if (n == 0 || begin[0].kind != JsonToken::Kind::BeginObject)
        return false;
    bool marker = false;
    std::size_t i = 1;
    while (i < n && begin[i].kind == JsonToken::Kind::Key) {
        const std::string_view k = begin[i].text;
        if (k == "turvakiellonAlaisetKentat")
            marker = true;
        else if (k != "tietoryhma" && k != "muutosattribuutti")
            return false;
        i = skip_value(begin, i + 1, n);
    }
    return marker;
}

void append_state_tokens(const JsonToken *begin, const JsonToken *end, std::vector<JsonToken> &out)
{
    const std::size_t n = static_cast<std::size_t>(end - begin);
    if (n == 0)
        return;
    if (begin[0].kind != JsonToken::Kind::BeginObject) {
        out.insert(out.end(), begin, end);
        return;
    }
    out.push_back(begin[0]);
    std::size_t i = 1;
    while (i < n && begin[i].kind == JsonToken::Kind::Key) {
        const std::size_t after = skip_value(begin, i + 1, n);
        if (!is_change_key(begin[i].text))
            out.insert(out.end(), begin + i, begin + after);
        i = after;
    }
    out.insert(out.end(), begin + i, end);  // the closing brace
}

std::string tokens_to_json(const JsonToken *begin, const JsonToken *end)
{
    std::string out;
    // A comma goes before a member or element that is not the first of its container.
    bool need_comma = false;
    for (const JsonToken *t = begin; t != end; ++t) {
        const bool closing = t->kind == JsonToken::Kind::EndObject || t->kind == JsonToken::Kind::EndArray;
        if (need_comma && !closing)
            out += ',';
        need_comma = true;
        switch (t->kind) {
        case JsonToken::Kind::BeginObject: out += '{'; need_comma = false; break;
        case JsonToken::Kind::BeginArray: out += '['; need_comma = false; break;
        case JsonToken::Kind::EndObject: out += '}'; break;
        case JsonToken::Kind::EndArray: out += ']'; break;
        case JsonToken::Kind::Key:
            append_json_string(out, t->text);
            out += ':';
            need_comma = false;
            break;
        case JsonToken::Kind::String: append_json_string(out, t->text); break;
        case JsonToken::Kind::Number: out += t->text; break;
        case JsonToken::Kind::True: out += "true"; break;
        case JsonToken::Kind::False: out += "false"; break;
        case JsonToken::Kind::Null: out += "null"; break;
        }
    }
    return out;
}

bool tokens_hold_nul(const JsonToken *begin, const JsonToken *end) noexcept
{
    for (const JsonToken *t = begin; t != end; ++t)
        if ((t->kind == JsonToken::Kind::Key || t->kind == JsonToken::Kind::String) &&
            std::memchr(t->text.data(), '\0', t->text.size()) != nullptr)
            return true;
    return false;
}

}  // namespace vtj
