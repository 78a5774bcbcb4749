// The properties of a decoded /muutokset or /perustiedot page (fuzz_muutokset.cpp,
// fuzz_perustiedot.cpp), checked against fuzz_common.hpp's reference JSON reader:
//  * a page the decoder accepts is valid JSON (what a later jsonb cast needs), and so is each
//    group's `raw`, which is a piece of the body that starts with '{' and ends with '}';
//  * a group's tokens are exactly the reference reading of its `raw`, and tokens_to_json()
//    of them reads back as the same tokens (strings unescaped, numbers as written);
//  * every view points into the body or into the page's arena; the body is left unchanged;
//  * a page decoded into a page object that held another page gives the same rows as a fresh
//    one; with and without tokens the rows are the same;
//  * the only exception is vtj::Error(BadResponse), its texts hold no hetu, and it leaves the
//    page's rows empty.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json_tokens.hpp"
#include "core/tietoryhma.hpp"
#include "core/vtj_json.hpp"
#include "fuzz_common.hpp"

namespace fuzz {

// Whether each view points into the body or into one of the page's unescaped copies.
class Kept {
public:
    Kept(const std::string &body, const std::deque<std::string> &arena) : body_(body)
    {
        for (const std::string &s : arena)
            ranges_.emplace_back(s.data(), s.data() + s.size());
        std::sort(ranges_.begin(), ranges_.end());
    }
    bool operator()(std::string_view v) const
    {
        if (v.empty() || inside(v, body_))
            return true;
        auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::make_pair(v.data(), v.data() + v.size()));
        if (it == ranges_.begin())
            return false;
        --it;
        return v.data() >= it->first && v.data() + v.size() <= it->second;
    }

private:
    const std::string &body_;
    std::vector<std::pair<const char *, const char *>> ranges_;
};

inline bool same_row(const vtj::GroupRow &a, const vtj::GroupRow &b)
{
    return a.hetu == b.hetu && a.has_muutospv == b.has_muutospv && a.muutospv_unix_us == b.muutospv_unix_us &&
           a.tietoryhma == b.tietoryhma && a.muutosattribuutti == b.muutosattribuutti &&
           a.alkupv.present == b.alkupv.present && a.alkupv.days_since_unix_epoch == b.alkupv.days_since_unix_epoch &&
           a.loppupv.present == b.loppupv.present &&
           a.loppupv.days_since_unix_epoch == b.loppupv.days_since_unix_epoch && a.has_censored == b.has_censored &&
           a.censored_fields == b.censored_fields && a.raw == b.raw && a.record_index == b.record_index &&
           a.group_index == b.group_index && a.withheld_only == b.withheld_only;
}

inline void check_error(const vtj::Error &e)
{
    FUZZ_CHECK(e.kind() == vtj::ErrorKind::BadResponse);
    FUZZ_CHECK(hetu_free(e.what()));
    FUZZ_CHECK(hetu_free(e.detail()));
    FUZZ_CHECK(hetu_free(e.hint()));
}

// The top-level members of a reference token stream: key -> index of its value's first token.
inline std::vector<std::pair<std::string, std::size_t>> top_members(const std::vector<RefToken> &t)
{
    using K = vtj::JsonToken::Kind;
    std::vector<std::pair<std::string, std::size_t>> out;
    long depth = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (depth == 1 && t[i].kind == K::Key)
            out.emplace_back(t[i].text, i + 1);
        if (t[i].kind == K::BeginObject || t[i].kind == K::BeginArray)
            ++depth;
        else if (t[i].kind == K::EndObject || t[i].kind == K::EndArray)
            --depth;
    }
    return out;
}

// The group rows of an accepted page, against the reference reading of their text.
template <typename Page>
void check_rows(const std::string &body, const Page &page, bool with_tokens)
{
    using K = vtj::JsonToken::Kind;
    const Kept kept(body, page.unescaped);
    for (const vtj::GroupRow &row : page.rows) {
        FUZZ_CHECK(!row.raw.empty() && inside(row.raw, body));
        FUZZ_CHECK(row.raw.front() == '{' && row.raw.back() == '}');
        std::vector<RefToken> ref;
        FUZZ_CHECK(RefJson::read(row.raw, &ref));
        FUZZ_CHECK(kept(row.hetu));
        FUZZ_CHECK(kept(row.tietoryhma));
        FUZZ_CHECK(kept(row.muutosattribuutti));
        for (std::string_view f : row.censored_fields)
            FUZZ_CHECK(kept(f));
        FUZZ_CHECK(row.has_censored || row.censored_fields.empty());
        FUZZ_CHECK(!row.withheld_only || row.has_censored);
        if (!with_tokens)
            continue;
        FUZZ_CHECK(row.tokens_begin < row.tokens_end && row.tokens_end <= page.tokens.size());
        const vtj::JsonToken *b = page.tokens.data() + row.tokens_begin, *e = page.tokens.data() + row.tokens_end;
        FUZZ_CHECK(balanced_value(b, e) && b->kind == K::BeginObject);
        for (const vtj::JsonToken *t = b; t != e; ++t)
            FUZZ_CHECK(kept(t->text));
        FUZZ_CHECK(as_ref(b, e) == ref);
        std::vector<RefToken> back;
        FUZZ_CHECK(RefJson::read(vtj::tokens_to_json(b, e), &back));
        FUZZ_CHECK(back == ref);
        bool nul = false;
        for (const RefToken &t : ref)
            nul = nul || t.text.find('\0') != std::string::npos;
        FUZZ_CHECK(vtj::tokens_hold_nul(b, e) == nul);
        // The state form: the same object without its top-level change keys.
        std::vector<vtj::JsonToken> state;
        vtj::append_state_tokens(b, e, state);
        FUZZ_CHECK(balanced_value(state.data(), state.data() + state.size()));
        std::vector<RefToken> state_ref = as_ref(state.data(), state.data() + state.size());
        for (const auto &m : top_members(state_ref))
            FUZZ_CHECK(m.first != "muutosattribuutti" && m.first != "voimassaolevatTiedot");
        std::size_t kept_members = 0;
        for (const auto &m : top_members(ref))
            kept_members += m.first != "muutosattribuutti" && m.first != "voimassaolevatTiedot";
        FUZZ_CHECK(top_members(state_ref).size() == kept_members);
    }
}

// Decodes `input` three ways (fresh page; fresh page with tokens; a page that held `previous`,
// with tokens) and checks the properties above. Returns the reference tokens of the body when it
// was accepted (empty when refused).
template <typename Page>
std::vector<RefToken> fuzz_page(const std::uint8_t *data, std::size_t size, const std::string &previous,
                                const std::function<void(vtj::JsonDecoder &, std::string &, Page &, bool)> &decode,
                                const std::function<void(const std::string &, const Page &)> &check_page)
{
    const std::string original(reinterpret_cast<const char *>(data), size);
    vtj::JsonDecoder decoder;

    std::string body = original;
    Page plain;
    bool accepted = true;
    try {
        decode(decoder, body, plain, false);
    } catch (const vtj::Error &e) {
        check_error(e);
        FUZZ_CHECK(plain.rows.empty());
        accepted = false;
    }
    FUZZ_CHECK(body == original);

    std::string body_t = original;
    Page with_tokens;
    bool accepted_t = true;
    try {
        decode(decoder, body_t, with_tokens, true);
    } catch (const vtj::Error &e) {
        check_error(e);
        FUZZ_CHECK(with_tokens.rows.empty() && with_tokens.tokens.empty());
        accepted_t = false;
    }
    FUZZ_CHECK(accepted == accepted_t);

    // The same page object again, after another page (rows, arena and token storage reused).
    std::string prev = previous;
    Page reused;
    decode(decoder, prev, reused, true);
    std::string body_r = original;
    bool accepted_r = true;
    try {
        decode(decoder, body_r, reused, true);
    } catch (const vtj::Error &e) {
        check_error(e);
        FUZZ_CHECK(reused.rows.empty());
        accepted_r = false;
    }
    FUZZ_CHECK(accepted == accepted_r);

    std::vector<RefToken> ref;
    if (!accepted)
        return ref;
    FUZZ_CHECK(RefJson::read(original, &ref));  // accepted implies valid JSON
    FUZZ_CHECK(!ref.empty() && ref.front().kind == vtj::JsonToken::Kind::BeginObject);
    check_rows(body, plain, false);
    check_rows(body_t, with_tokens, true);
    check_rows(body_r, reused, true);
    FUZZ_CHECK(plain.rows.size() == with_tokens.rows.size() && plain.rows.size() == reused.rows.size());
    for (std::size_t i = 0; i < plain.rows.size(); ++i) {
        // Views into different copies of the body: compare contents (same_row compares views'
        // text), and the same tokens.
        FUZZ_CHECK(same_row(plain.rows[i], with_tokens.rows[i]));
        FUZZ_CHECK(same_row(plain.rows[i], reused.rows[i]));
        const vtj::GroupRow &a = with_tokens.rows[i], &b = reused.rows[i];
        FUZZ_CHECK(as_ref(with_tokens.tokens.data() + a.tokens_begin, with_tokens.tokens.data() + a.tokens_end) ==
                   as_ref(reused.tokens.data() + b.tokens_begin, reused.tokens.data() + b.tokens_end));
    }
    check_page(body, plain);
    return ref;
}

// The integer literal of a reference number token, when it is one that fits int64.
inline bool int64_literal(const RefToken &t, long long &v)
{
    if (t.kind != vtj::JsonToken::Kind::Number || t.text.find_first_of(".eE") != std::string::npos)
        return false;
    errno = 0;
    char *end = nullptr;
    v = std::strtoll(t.text.c_str(), &end, 10);
    return errno == 0 && end == t.text.c_str() + t.text.size();
}

}  // namespace fuzz
