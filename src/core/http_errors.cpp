// Readable, redacted error text from a remote's error answer (see http_errors.hpp); hetus are
// redacted by core/hetu.hpp's redact_hetus().
#include "core/http_errors.hpp"

#include <cstdint>

#include "core/hetu.hpp"
#include "core/http.hpp"

namespace vtj {

namespace http_detail {

namespace {

constexpr std::size_t kDetailMax = 1000;
constexpr std::size_t kHtmlTextMax = 200;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Case-insensitive find of an ASCII needle.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from = 0)
{
    if (needle.empty())
        return from <= hay.size() ? from : std::string_view::npos;
    for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
        std::size_t k = 0;
        while (k < needle.size() && lower(hay[i + k]) == lower(needle[k]))
            ++k;
        if (k == needle.size())
            return i;
    }
    return std::string_view::npos;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// Runs of whitespace become one space; leading/trailing whitespace goes.
std::string collapse_space(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    bool pending_space = false;
    for (char c : s) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space)
            out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

void append_utf8(std::string &out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// --- a tolerant reader of the top level of a JSON object (just enough for an error body) ---

class JsonReader {
public:
    explicit JsonReader(std::string_view s) : s_(s) {}

    // Calls field(name, string_value_or_null) for each member of the top-level object; returns
    // false if the text is not a well-formed object (as far as it was read).
    template <typename F>
    bool members(F field)
    {
        ws();
        if (!eat('{'))
            return false;
        ws();
        if (eat('}'))
            return true;
        for (;;) {
            std::string name;
            ws();
            if (!string(&name))
                return false;
            ws();
            if (!eat(':'))
                return false;
            ws();
            if (peek() == '"') {
                std::string value;
                if (!string(&value))
                    return false;
                field(name, &value);
            } else {
                if (!skip_value())
                    return false;
                field(name, nullptr);
            }
            ws();
            if (eat(','))
                continue;
            return eat('}');
        }
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool eat(char c)
    {
        if (peek() != c)
            return false;
        ++i_;
        return true;
    }
    void ws()
    {
        while (i_ < s_.size() && is_space(s_[i_]))
            ++i_;
    }

    bool hex4(std::uint32_t &v)
    {
        if (i_ + 4 > s_.size())
            return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else
                return false;
        }
        return true;
    }

    // A JSON string at the cursor, unescaped into *out (when out is not null).
    bool string(std::string *out)
    {
        if (!eat('"'))
            return false;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (c == '"')
                return true;
            if (c != '\\') {
                if (out)
                    *out += c;
                continue;
            }
            if (i_ >= s_.size())
                return false;
            char e = s_[i_++];
            char plain = 0;
            switch (e) {
            case '"': plain = '"'; break;
            case '\\': plain = '\\'; break;
            case '/': plain = '/'; break;
            case 'b': plain = ' '; break;
            case 'f': plain = ' '; break;
            case 'n': plain = ' '; break;
            case 'r': plain = ' '; break;
            case 't': plain = ' '; break;
            case 'u': {
                std::uint32_t cp = 0;
                if (!hex4(cp))
                    return false;
                if (cp >= 0xD800 && cp < 0xDC00 && i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
                    i_ += 2;
                    std::uint32_t lo = 0;
                    if (!hex4(lo))
                        return false;
                    if (lo >= 0xDC00 && lo < 0xE000)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    else
                        cp = '?';
                } else if (cp >= 0xD800 && cp < 0xE000) {
                    cp = '?';  // a lone surrogate
                }
                if (out)
                    append_utf8(*out, cp);
                continue;
            }
            default: return false;
            }
            if (out)
                *out += plain;
        }
        return false;
    }

    bool skip_value()
    {
        char c = peek();
        if (c == '"')
            return string(nullptr);
        if (c == '{' || c == '[') {
            int depth = 0;
            while (i_ < s_.size()) {
                char d = s_[i_];
                if (d == '"') {
                    if (!string(nullptr))
                        return false;
                    continue;
                }
                ++i_;
                if (d == '{' || d == '[')
                    ++depth;
                else if ((d == '}' || d == ']') && --depth == 0)
                    return true;
            }
            return false;
        }
        std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && !is_space(s_[i_]))
            ++i_;
        return i_ > start;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// JSON text without the whitespace between tokens.
std::string compact_json(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    bool in_string = false;
    bool escaped = false;
    for (char c : s) {
        if (in_string) {
            out += c;
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (!is_space(c)) {
            out += c;
            in_string = (c == '"');
        }
    }
    return out;
}

std::string describe_json(std::string_view body)
{
    std::string type, message, detail;
    bool has_type = false, has_message = false;
    JsonReader reader(body);
    bool ok = reader.members([&](const std::string &name, const std::string *value) {
        if (!value)
            return;
        if (name == "type") {
            type = *value;
            has_type = true;
        } else if (name == "message") {
            message = *value;
            has_message = true;
        } else if (name == "detail") {
            detail = *value;
        }
    });
    // X-Road REST fault: {"type": "Server.ServerProxy.ServiceFailed", "message": ..., "detail": ...}
    if (ok && has_type && has_message) {
        std::string out = "X-Road fault " + collapse_space(type) + ": " + collapse_space(message);
        std::string d = collapse_space(detail);
        if (!d.empty())
            out += " (" + d + ")";
        return out;
    }
    return compact_json(body);
}

// Decodes the common HTML/XML character references.
std::string decode_entities(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        std::size_t semi = s.find(';', i);
        if (semi == std::string_view::npos || semi - i > 10) {
            out += '&';
            continue;
        }
        std::string_view name = s.substr(i + 1, semi - i - 1);
        std::uint32_t cp = 0;
        if (name == "amp")
            cp = '&';
        else if (name == "lt")
            cp = '<';
        else if (name == "gt")
            cp = '>';
        else if (name == "quot")
            cp = '"';
        else if (name == "apos")
            cp = '\'';
        else if (name == "nbsp")
            cp = ' ';
        else if (name.size() > 1 && name[0] == '#') {
            bool hex = name[1] == 'x' || name[1] == 'X';
            std::size_t k = hex ? 2 : 1;
            if (k >= name.size())
                cp = 0;
            for (; k < name.size(); ++k) {
                char c = name[k];
                int v = (c >= '0' && c <= '9') ? c - '0'
                        : (hex && c >= 'a' && c <= 'f') ? c - 'a' + 10
                        : (hex && c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                        : -1;
                if (v < 0 || cp > 0x10FFFF) {
                    cp = 0;
                    break;
                }
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
                cp = 0;
        }
        if (cp == 0) {
            out += '&';
            continue;
        }
        append_utf8(out, cp);
        i = semi;
    }
    return out;
}

// The text of a markup document: tags dropped (and script/style elements whole), entities
// decoded, whitespace collapsed.
std::string markup_text(std::string_view s)
{
    std::string text;
    text.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] != '<') {
            text += s[i++];
            continue;
        }
        for (std::string_view skip : {std::string_view("script"), std::string_view("style")}) {
            if (ifind(s.substr(i + 1, skip.size()), skip) == 0) {
                std::string close = "</" + std::string(skip);
                std::size_t end = ifind(s, close, i);
                if (end != std::string_view::npos)
                    i = end;
                break;
            }
        }
        std::size_t gt = s.find('>', i);
        if (gt == std::string_view::npos)
            break;
        text += ' ';
        i = gt + 1;
    }
    return collapse_space(decode_entities(text));
}

// Inner text of the first element whose local name is `local` (e.g. "title", "faultstring"),
// namespace prefix ignored; empty when there is none.
std::string element_text(std::string_view s, std::string_view local)
{
    std::size_t at = 0;
    while ((at = ifind(s, local, at)) != std::string_view::npos) {
        std::size_t name_end = at + local.size();
        bool opening = at > 0 && (s[at - 1] == '<' || s[at - 1] == ':') && name_end < s.size() &&
                       (s[name_end] == '>' || is_space(s[name_end]));
        if (opening && s[at - 1] == ':') {
            std::size_t lt = s.rfind('<', at);
            opening = lt != std::string_view::npos && s[lt + 1] != '/';
        }
        if (opening) {
            std::size_t gt = s.find('>', name_end);
            if (gt == std::string_view::npos)
                return {};
            std::size_t close = s.find("</", gt);
            if (close == std::string_view::npos)
                return {};
            return markup_text(s.substr(gt + 1, close - gt - 1));
        }
        at = name_end;
    }
    return {};
}

std::string describe_markup(std::string_view body, bool html)
{
    if (html) {
        std::string title = element_text(body, "title");
        if (!title.empty())
            return title;
        return sanitize_text(markup_text(body), kHtmlTextMax);
    }
    std::string fault = element_text(body, "faultstring");
    if (!fault.empty()) {
        std::string code = element_text(body, "faultcode");
        return "SOAP fault " + (code.empty() ? std::string() : code + ": ") + fault;
    }
    return markup_text(body);
}

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
std::size_t utf8_len(std::string_view s, std::size_t i)
{
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = b < 0x80 ? 1 : (b >= 0xC2 && b <= 0xDF) ? 2 : (b >= 0xE0 && b <= 0xEF) ? 3 : (b >= 0xF0 && b <= 0xF4) ? 4 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
            return 0;
    auto b1 = static_cast<unsigned char>(s[i + 1 < s.size() ? i + 1 : i]);
    if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 > 0x8F))
        return 0;  // overlong, surrogate or beyond U+10FFFF
    return n;
}

}  // namespace

const char *reason_phrase(long status) noexcept
{
    switch (status) {
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

std::string readable_error_body(std::string_view body, std::string_view content_type)
{
    std::string_view t = trim(body);
    if (t.empty())
        return {};
    std::string text;
    bool html = ifind(content_type, "html") != std::string_view::npos || ifind(t.substr(0, 512), "<html") != std::string_view::npos ||
                ifind(t.substr(0, 512), "<!doctype html") != std::string_view::npos;
    if (t.front() == '{')
        text = describe_json(t);
    else if (t.front() == '[')
        text = compact_json(t);
    else if (html || t.front() == '<')
        text = describe_markup(t, html);
    else
        text = collapse_space(t);
    // Redact before cutting, so that the cut cannot leave a recognisable piece of a hetu.
    return sanitize_text(redact_hetus(std::move(text)), kDetailMax);
}

std::string scrub_secrets(std::string text, const std::vector<std::string> &secrets)
{
    for (const std::string &secret : secrets) {
        if (secret.size() < 3)
            continue;  // too short to tell from ordinary text
        std::size_t at = 0;
        while ((at = text.find(secret, at)) != std::string::npos) {
            text.replace(at, secret.size(), "[credential]");
            at += sizeof("[credential]") - 1;
        }
    }
    return text;
}

std::string sanitize_text(std::string_view text, std::size_t max_bytes)
{
    std::string out;
    out.reserve(text.size() < max_bytes ? text.size() : max_bytes + 3);
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t n = utf8_len(text, i);
        std::size_t add = n == 0 ? 1 : n;
        if (out.size() + add > max_bytes) {
            out += "...";
            return out;
        }
        if (n == 0) {
            out += '?';
        } else if (n == 1) {
            auto c = static_cast<unsigned char>(text[i]);
            out += (c < 0x20 || c == 0x7F) ? ' ' : text[i];
        } else {
            out.append(text, i, n);
        }
        i += add;
    }
    return out;
}

std::string base64(std::string_view data)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                          static_cast<unsigned char>(data[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (i < data.size()) {
        std::uint32_t v = static_cast<unsigned char>(data[i]) << 16;
        if (i + 1 < data.size())
            v |= static_cast<unsigned char>(data[i + 1]) << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < data.size() ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

}  // namespace http_detail

}  // namespace vtj
