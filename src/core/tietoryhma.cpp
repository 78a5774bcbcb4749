#include "core/tietoryhma.hpp"

#include <string_view>

namespace vtj {

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

}  // namespace vtj
