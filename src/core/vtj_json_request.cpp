// Request bodies of VTJ-muutosrajapinta (vtj-api.md §1.2, §1.3): compact JSON, built by hand.
#include <charconv>

#include "core/vtj_json.hpp"

namespace vtj {

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

namespace {

// Clamps [begin, end) to the list.
void clamp_range(std::size_t size, std::size_t &begin, std::size_t &end)
{
    if (end > size)
        end = size;
    if (begin > end)
        begin = end;
}

std::size_t list_bytes(const std::vector<std::string> &list, std::size_t begin, std::size_t end)
{
    std::size_t n = 2;  // []
    for (std::size_t i = begin; i < end; ++i)
        n += list[i].size() + 3;  // "…",
    return n;
}

void append_string_array(std::string &out, const std::vector<std::string> &list, std::size_t begin,
                         std::size_t end)
{
    out += '[';
    for (std::size_t i = begin; i < end; ++i) {
        if (i != begin)
            out += ',';
        append_json_string(out, list[i]);
    }
    out += ']';
}

}  // namespace

std::string muutokset_request(std::int64_t bookmark, const std::vector<std::string> &hetus, std::size_t begin,
                              std::size_t end)
{
    clamp_range(hetus.size(), begin, end);
    std::string out;
    out.reserve(48 + list_bytes(hetus, begin, end));
    out += "{\"viimeisinKirjausavain\":";
    char number[24];
    const auto converted = std::to_chars(number, number + sizeof number, bookmark);
    out.append(number, converted.ptr);
    out += ",\"hetulista\":";
    append_string_array(out, hetus, begin, end);
    out += '}';
    return out;
}

std::string perustiedot_request(const std::vector<std::string> &hetus, std::size_t begin, std::size_t end,
                                const std::vector<std::string> &tietoryhmat)
{
    clamp_range(hetus.size(), begin, end);
    std::string out;
    out.reserve(32 + list_bytes(hetus, begin, end) + list_bytes(tietoryhmat, 0, tietoryhmat.size()));
    out += "{\"hetulista\":";
    append_string_array(out, hetus, begin, end);
    if (!tietoryhmat.empty()) {
        out += ",\"tietoryhmat\":";
        append_string_array(out, tietoryhmat, 0, tietoryhmat.size());
    }
    out += '}';
    return out;
}

}  // namespace vtj
