// Request bodies of VTJ-muutosrajapinta (docs/interface.md#post-muutokset, #post-perustiedot): compact JSON, built by hand.
#include "core/vtj_json_request.hpp"

#include <charconv>

#include "core/json_tokens.hpp"  // append_json_string

namespace vtj {

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
