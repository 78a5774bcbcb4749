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

void append_json_string(std::string &out, std::string_view s)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the pending run that needs no escaping
    for (std::size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
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
