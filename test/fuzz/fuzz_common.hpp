// Shared by the libFuzzer targets: a failed property aborts (libFuzzer keeps the input as a
// crash artifact), and a reference JSON reader written here, independent of simdjson, that the
// decoders' results are compared with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/http.hpp"
#include "core/vtj_json.hpp"

namespace fuzz {

[[noreturn]] inline void property_failed(const char *what, const char *file, int line)
{
    std::fprintf(stderr, "\nPROPERTY FAILED at %s:%d: %s\n", file, line, what);
    std::abort();
}

#define FUZZ_CHECK(cond)                                        \
    do {                                                        \
        if (!(cond))                                            \
            ::fuzz::property_failed(#cond, __FILE__, __LINE__); \
    } while (0)

// No substring that looks like a hetu (the redaction pattern of core/http.hpp).
inline bool hetu_free(const std::string &s) { return vtj::redact_hetus(s) == s; }

// Strict UTF-8: no overlong forms, no surrogates, nothing beyond U+10FFFF.
inline bool valid_utf8(std::string_view s)
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (b < 0x80) {
            ++i;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            n = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            n = 4;
            cp = b & 0x07;
        } else {
            return false;
        }
        if (i + n > s.size())
            return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (c & 0x3F);
        }
        const std::uint32_t least = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return false;
        i += n;
    }
    return true;
}

// ---- a reference JSON reader -------------------------------------------------------------
//
// RFC 8259, plus what PostgreSQL's json/jsonb input insists on beyond it: a \uD800–\uDBFF escape
// must be followed by a \uDC00–\uDFFF one and a low surrogate escape must not stand alone.
// (\u0000 is accepted here: the extension refuses it later, on purpose, with its own error.)
// Produces the same token stream as vtj::JsonToken (keys and strings unescaped, numbers as
// their literal text), so that a decoder's tokens can be compared with it.

struct RefToken {
    vtj::JsonToken::Kind kind;
    std::string text;
    bool operator==(const RefToken &o) const { return kind == o.kind && text == o.text; }
};

class RefJson {
public:
    // Reads one complete JSON text (whitespace around it allowed); false if it is not one.
    static bool read(std::string_view s, std::vector<RefToken> *out)
    {
        RefJson r(s, out);
        r.ws();
        if (!r.value())
            return false;
        r.ws();
        return r.i_ == s.size();
    }

private:
    using Kind = vtj::JsonToken::Kind;
    RefJson(std::string_view s, std::vector<RefToken> *out) : s_(s), out_(out) {}

    void emit(Kind k, std::string text = {})
    {
        if (out_)
            out_->push_back(RefToken{k, std::move(text)});
    }
    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[i_]; }
    void ws()
    {
        while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }
    bool literal(std::string_view word, Kind k)
    {
        if (s_.substr(i_, word.size()) != word)
            return false;
        i_ += word.size();
        emit(k);
        return true;
    }

    // Containers are read with an explicit stack (no recursion: inputs may nest deeply).
    bool value()
    {
        std::vector<char> stack;  // '{' or '['
        for (;;) {
            // A value is expected here.
            ws();
            const char c = peek();
            if (c == '{' || c == '[') {
                ++i_;
                emit(c == '{' ? Kind::BeginObject : Kind::BeginArray);
                stack.push_back(c);
                ws();
                if (peek() == (c == '{' ? '}' : ']')) {
                    ++i_;
                    stack.pop_back();
                    emit(c == '{' ? Kind::EndObject : Kind::EndArray);
                } else {
                    if (c == '{' && !member_key())
                        return false;
                    continue;
                }
            } else if (!scalar()) {
                return false;
            }
            // After a value: a separator, or closing brackets.
            for (;;) {
                if (stack.empty())
                    return true;
                ws();
                const char top = stack.back();
                if (peek() == ',') {
                    ++i_;
                    if (top == '{' && !member_key())
                        return false;
                    break;  // the next value
                }
                if (peek() != (top == '{' ? '}' : ']'))
                    return false;
                ++i_;
                stack.pop_back();
                emit(top == '{' ? Kind::EndObject : Kind::EndArray);
            }
        }
    }

    bool member_key()
    {
        ws();
        std::string k;
        if (!string(k))
            return false;
        emit(Kind::Key, std::move(k));
        ws();
        if (peek() != ':')
            return false;
        ++i_;
        return true;
    }

    bool scalar()
    {
        const char c = peek();
        if (c == '"') {
            std::string v;
            if (!string(v))
                return false;
            emit(Kind::String, std::move(v));
            return true;
        }
        if (c == 't')
            return literal("true", Kind::True);
        if (c == 'f')
            return literal("false", Kind::False);
        if (c == 'n')
            return literal("null", Kind::Null);
        return number();
    }

    bool digits()
    {
        const std::size_t start = i_;
        while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9')
            ++i_;
        return i_ > start;
    }

    bool number()
    {
        const std::size_t start = i_;
        if (peek() == '-')
            ++i_;
        if (peek() == '0')
            ++i_;
        else if (!digits())
            return false;
        if (peek() == '.') {
            ++i_;
            if (!digits())
                return false;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++i_;
            if (peek() == '+' || peek() == '-')
                ++i_;
            if (!digits())
                return false;
        }
        emit(Kind::Number, std::string(s_.substr(start, i_ - start)));
        return true;
    }

    bool hex4(std::uint32_t &v)
    {
        if (i_ + 4 > s_.size())
            return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= std::uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= std::uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= std::uint32_t(c - 'A' + 10);
            else
                return false;
        }
        return true;
    }

    static void put_utf8(std::string &out, std::uint32_t cp)
    {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    bool string(std::string &out)
    {
        if (peek() != '"')
            return false;
        ++i_;
        // Raw bytes must be valid UTF-8 without control characters; escapes are decoded.
        while (!at_end()) {
            const auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') {
                ++i_;
                // Escapes add whole sequences only, so this also checks the raw bytes.
                return valid_utf8(out);
            }
            if (c < 0x20)
                return false;
            if (c != '\\') {
                out += char(c);
                ++i_;
                continue;
            }
            ++i_;
            if (at_end())
                return false;
            const char e = s_[i_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t cp;
                if (!hex4(cp))
                    return false;
                if (cp >= 0xDC00 && cp < 0xE000)
                    return false;  // a low surrogate first
                if (cp >= 0xD800 && cp < 0xDC00) {
                    std::uint32_t lo;
                    if (s_.substr(i_, 2) != "\\u")
                        return false;
                    i_ += 2;
                    if (!hex4(lo) || lo < 0xDC00 || lo >= 0xE000)
                        return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(out, cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::vector<RefToken> *out_;
};

inline std::vector<RefToken> as_ref(const vtj::JsonToken *b, const vtj::JsonToken *e)
{
    std::vector<RefToken> out;
    for (const vtj::JsonToken *t = b; t != e; ++t)
        out.push_back(RefToken{t->kind, std::string(t->text)});
    return out;
}

// Whether [b, e) is one complete, balanced value.
inline bool balanced_value(const vtj::JsonToken *b, const vtj::JsonToken *e)
{
    using K = vtj::JsonToken::Kind;
    if (b == e)
        return false;
    long depth = 0;
    for (const vtj::JsonToken *t = b; t != e; ++t) {
        if (t->kind == K::BeginObject || t->kind == K::BeginArray)
            ++depth;
        else if (t->kind == K::EndObject || t->kind == K::EndArray)
            --depth;
        if (depth < 0 || (depth == 0 && t + 1 != e))
            return false;
    }
    return depth == 0;
}

// The view points into [base, base + size).
inline bool inside(std::string_view v, const std::string &body)
{
    return v.data() >= body.data() && v.data() + v.size() <= body.data() + body.size();
}

}  // namespace fuzz
