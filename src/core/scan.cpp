#include "core/scan.hpp"

#include <algorithm>
#include <string_view>

#include "core/error.hpp"
#include "core/json_tokens.hpp"

namespace vtj {

struct Scan::Batch {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::int64_t bookmark = 0;   // muutokset: the bookmark to send next
    long pages = 0;
    bool done = false;
    bool up_to_date = false;     // ended with ajanTasalla (not by the upper bound)
};

namespace {

std::string trimmed_base(const std::string &base)
{
    std::string b = base;
    while (!b.empty() && b.back() == '/')
        b.pop_back();
    return b;
}

}  // namespace

Scan::Scan(HttpClient &http, ScanSpec spec) : http_(http), spec_(std::move(spec))
{
    // Sorted and unique: each hetu is sent once, and a returned row's hetu is checked against
    // the list by binary search without a second copy of it (flat memory for a million hetus).
    std::sort(spec_.hetus.begin(), spec_.hetus.end());
    spec_.hetus.erase(std::unique(spec_.hetus.begin(), spec_.hetus.end()), spec_.hetus.end());
    if (spec_.batch_size == 0)
        spec_.batch_size = 1;
    if (spec_.parallel == 0)
        spec_.parallel = 1;
    if (spec_.grouped && spec_.endpoint != Endpoint::Perustiedot)
        throw Error(ErrorKind::Internal, "only a basic-data scan can be grouped");
    for (auto &set : spec_.group_filters) {
        std::sort(set.begin(), set.end());
        set.erase(std::unique(set.begin(), set.end()), set.end());
    }
}

Scan::~Scan() = default;

std::size_t Scan::batch_count() const noexcept
{
    return spec_.hetus.empty() ? 0 : (spec_.hetus.size() + spec_.batch_size - 1) / spec_.batch_size;
}

std::string Scan::url(const char *endpoint) const { return trimmed_base(spec_.base_url) + "/" + endpoint; }

void Scan::start()
{
    started_ = true;
    // An empty hetu list makes no request at all, not even the window resolution.
    if (spec_.hetus.empty() || spec_.endpoint == Endpoint::Kirjausavain)
        return;

    std::int64_t start_bookmark = 0;
    if (spec_.endpoint == Endpoint::Muutokset) {
        if (spec_.has_start_day) {
            start_bookmark = fetch_kirjausavain(http_, spec_.base_url, spec_.start_day);
            if (spec_.has_start_bookmark)
                start_bookmark = std::max(start_bookmark, spec_.start_bookmark);
        } else if (spec_.has_start_bookmark) {
            start_bookmark = spec_.start_bookmark;
        } else {
            throw Error(ErrorKind::Internal, "a muutokset scan started without a window start");
        }
        stats_.window_start = start_bookmark;
        stats_.window_resolved = true;
    }

    const std::size_t n = batch_count();
    batches_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        batches_[i].begin = i * spec_.batch_size;
        batches_[i].end = std::min(spec_.hetus.size(), (i + 1) * spec_.batch_size);
        batches_[i].bookmark = start_bookmark;
    }
    stats_.batches = n;
    while (next_batch_to_start_ < n && next_batch_to_start_ < spec_.parallel)
        submit_page(next_batch_to_start_++);
}

void Scan::submit_page(std::size_t index)
{
    const Batch &b = batches_[index];
    HttpRequest req;
    req.method = HttpRequest::Method::Post;
    req.tag = index;
    if (spec_.endpoint == Endpoint::Muutokset) {
        req.url = url("muutokset");
        req.what = "POST /muutokset";
        req.body = muutokset_request(b.bookmark, spec_.hetus, b.begin, b.end);
    } else {
        req.url = url("perustiedot");
        req.what = "POST /perustiedot";
        req.body = perustiedot_request(spec_.hetus, b.begin, b.end, spec_.tietoryhmat);
    }
    http_.submit(std::move(req));
}

bool Scan::load_next_page()
{
    HttpResult res;
    if (!http_.next_completed(res))
        return false;
    if (res.tag >= batches_.size())
        throw Error(ErrorKind::Internal, "a response arrived for an unknown batch");
    Batch &batch = batches_[res.tag];
    ++stats_.pages;
    ++batch.pages;
    body_ = std::move(res.body);

    if (spec_.endpoint == Endpoint::Muutokset) {
        decoder_.decode_muutokset(body_, muutokset_page_, "POST /muutokset", spec_.with_tokens);
        const MuutoksetPage &page = muutokset_page_;
        if (!page.ajan_tasalla && page.bookmark <= batch.bookmark)
            throw Error(ErrorKind::RunawayPaging,
                        "the change interface did not advance the bookmark while saying more changes remain",
                        "It answered bookmark " + std::to_string(page.bookmark) + " to a request after bookmark " +
                            std::to_string(batch.bookmark) + " with ajanTasalla false.",
                        "This is a fault of the interface; try again later. Nothing was stored.");
        batch.bookmark = page.bookmark;

        bool beyond_upper = false;
        if (spec_.has_upper && !page.rows.empty()) {
            beyond_upper = true;
            for (const GroupRow &r : page.rows)
                if (!r.has_muutospv || r.muutospv_unix_us <= spec_.upper_unix_us) {
                    beyond_upper = false;
                    break;
                }
        }
        if (page.ajan_tasalla) {
            batch.done = true;
            batch.up_to_date = true;
        } else if (beyond_upper) {
            batch.done = true;
        } else if (batch.pages >= spec_.max_pages) {
            throw Error(ErrorKind::RunawayPaging,
                        "the change interface was still not up to date after max_pages pages",
                        "A batch of " + std::to_string(batch.end - batch.begin) + " hetus needed more than " +
                            std::to_string(spec_.max_pages) + " pages.",
                        "Raise the server option max_pages, or narrow the window.");
        } else {
            submit_page(res.tag);  // keep the pipeline busy while this page is read
        }
        rows_ = &muutokset_page_.rows;
        page_bookmark_ = page.bookmark;
    } else {
        decoder_.decode_perustiedot(body_, perustiedot_page_, "POST /perustiedot", spec_.grouped || spec_.with_tokens);
        batch.done = true;
        batch.up_to_date = true;
        rows_ = &perustiedot_page_.rows;
        page_bookmark_ = 0;
    }
    page_batch_ = res.tag;
    if (batch.done && next_batch_to_start_ < batches_.size())
        submit_page(next_batch_to_start_++);
    row_pos_ = 0;
    if (spec_.grouped) {
        // The page's rows asked for, each person's groups together (a person is answered by
        // one batch, so one page holds all of it).
        const std::vector<GroupRow> &rows = *rows_;
        order_.clear();
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (asked_in_batch(rows[i].hetu))
                order_.push_back(static_cast<std::uint32_t>(i));
            else
                ++stats_.rows_dropped;
        }
        std::stable_sort(order_.begin(), order_.end(), [&rows](std::uint32_t a, std::uint32_t b) {
            const GroupRow &x = rows[a], &y = rows[b];
            const int c = x.hetu.compare(y.hetu);
            return c < 0 || (c == 0 && x.tietoryhma < y.tietoryhma);
        });
        order_pos_ = 0;
        person_end_ = 0;
    }
    return true;
}

// Only rows of the persons asked for, and of the batch that asked: the local recheck of the
// hetu condition (a person is thereby returned by one batch only).
bool Scan::asked_in_batch(std::string_view hetu) const
{
    const Batch &b = batches_[page_batch_];
    const auto first = spec_.hetus.begin() + static_cast<std::ptrdiff_t>(b.begin);
    const auto last = spec_.hetus.begin() + static_cast<std::ptrdiff_t>(b.end);
    return std::binary_search(first, last, hetu,
                              [](const auto &a, const auto &b2) { return std::string_view(a) < std::string_view(b2); });
}

// Whether every pushed set of groups names this one.
bool Scan::group_wanted(std::string_view tietoryhma) const
{
    for (const auto &set : spec_.group_filters)
        if (!std::binary_search(set.begin(), set.end(), tietoryhma,
                                [](const auto &a, const auto &b) { return std::string_view(a) < std::string_view(b); }))
            return false;
    return true;
}

// The next (person, group) of the page, or false when the page is used up.
bool Scan::next_group(ScanRow &row)
{
    for (;;) {
        if (order_pos_ >= order_.size())
            return false;
        if (fill_group(row))
            return true;
    }
}

// Builds the group at order_pos_ into `row` and moves past it; false when the group is filtered
// out (the person's facts are taken all the same).
bool Scan::fill_group(ScanRow &row)
{
    const std::vector<GroupRow> &rows = *rows_;
    const GroupRow &first = rows[order_[order_pos_]];
    const JsonToken *tokens = perustiedot_page_.tokens.data();
    if (order_pos_ >= person_end_) {
        // A new person: what the rows of each of its groups say about the person as a whole.
        person_censored_ = false;
        person_has_turvakielto_ = false;
        person_turvakielto_.clear();
        person_turvakielto_.push_back(JsonToken{JsonToken::Kind::BeginArray, {}});
        std::size_t k = order_pos_;
        for (; k < order_.size() && rows[order_[k]].hetu == first.hetu; ++k) {
            const GroupRow &g = rows[order_[k]];
            person_censored_ = person_censored_ || g.has_censored;
            if (g.tietoryhma == "TURVAKIELTO") {
                person_has_turvakielto_ = true;
                if (!g.withheld_only)
                    append_state_tokens(tokens + g.tokens_begin, tokens + g.tokens_end, person_turvakielto_);
            }
        }
        person_turvakielto_.push_back(JsonToken{JsonToken::Kind::EndArray, {}});
        person_end_ = k;
    }
    // The group's objects: [begin, end) of order_.
    const std::size_t begin = order_pos_;
    std::size_t end = begin;
    while (end < order_.size() && rows[order_[end]].hetu == first.hetu && rows[order_[end]].tietoryhma == first.tietoryhma)
        ++end;
    order_pos_ = end;
    if (!group_wanted(first.tietoryhma)) {
        stats_.rows_filtered += end - begin;
        return false;
    }
    stats_.rows += end - begin;
    group_tokens_.clear();
    group_fields_.clear();
    group_tokens_.push_back(JsonToken{JsonToken::Kind::BeginArray, {}});
    bool censored = false;
    for (std::size_t k = begin; k < end; ++k) {
        const GroupRow &g = rows[order_[k]];
        if (g.has_censored) {
            censored = true;
            for (std::string_view f : g.censored_fields)
                if (std::find(group_fields_.begin(), group_fields_.end(), f) == group_fields_.end())
                    group_fields_.push_back(f);
        }
        if (!g.withheld_only)
            append_state_tokens(tokens + g.tokens_begin, tokens + g.tokens_end, group_tokens_);
    }
    group_tokens_.push_back(JsonToken{JsonToken::Kind::EndArray, {}});
    row.group = &first;
    row.page_bookmark = 0;
    row.jarjestys = ++jarjestys_;
    row.tiedot = &group_tokens_;
    row.censored = censored;
    row.censored_fields = censored ? &group_fields_ : nullptr;
    row.person_censored = person_censored_;
    row.person_turvakielto = person_has_turvakielto_ ? &person_turvakielto_ : nullptr;
    return true;
}

bool Scan::next(ScanRow &row)
{
    if (!started_)
        start();
    for (;;) {
        if (spec_.grouped && rows_) {
            if (next_group(row))
                return true;
        } else if (rows_ && row_pos_ < rows_->size()) {
            const GroupRow &g = (*rows_)[row_pos_++];
            if (!asked_in_batch(g.hetu)) {
                ++stats_.rows_dropped;
                continue;
            }
            row.group = &g;
            row.page_bookmark = page_bookmark_;
            row.jarjestys = ++jarjestys_;
            row.tokens = !spec_.with_tokens                        ? nullptr
                         : spec_.endpoint == Endpoint::Muutokset ? muutokset_page_.tokens.data()
                                                                 : perustiedot_page_.tokens.data();
            ++stats_.rows;
            return true;
        }
        rows_ = nullptr;
        if (!load_next_page())
            break;
    }
    // The end: the scan is complete when every batch ended up to date.
    if (spec_.endpoint == Endpoint::Muutokset && !batches_.empty()) {
        bool all = true;
        std::int64_t least = batches_.front().bookmark;
        for (const Batch &b : batches_) {
            all = all && b.up_to_date;
            least = std::min(least, b.bookmark);
        }
        stats_.complete = all;
        stats_.final_bookmark = least;
    }
    return false;
}

std::int64_t fetch_kirjausavain(HttpClient &http, const std::string &base_url, const std::string &day)
{
    HttpRequest req;
    req.method = HttpRequest::Method::Get;
    req.url = trimmed_base(base_url) + "/kirjausavain/" + day;
    req.what = "GET /kirjausavain";
    req.body.clear();
    http.submit(std::move(req));
    HttpResult res;
    if (!http.next_completed(res))
        throw Error(ErrorKind::Internal, "GET /kirjausavain returned no response");
    JsonDecoder decoder;
    return decoder.decode_kirjausavain(res.body, "GET /kirjausavain");
}

}  // namespace vtj
