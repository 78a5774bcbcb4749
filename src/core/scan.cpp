#include "core/scan.hpp"

#include <algorithm>
#include <string_view>

#include "core/error.hpp"
#include "core/json_tokens.hpp"
#include "core/tietoryhma.hpp"
#include "core/vtj_json_request.hpp"

namespace vtj {

// A /muutokset page and the body its rows point into.
struct Scan::HeldPage {
    std::string body;
    MuutoksetPage page;
};

// A /perustiedot answer as the worker leaves it: decoded, checked, and (grouped) its rows
// ordered; the rows point into `body`.
struct Scan::BasicPage {
    std::size_t batch = 0;
    std::string body;
    PerustiedotPage page;
    std::vector<std::uint32_t> order;  // grouped: the rows by (hetu, tietoryhma), stable
    std::vector<std::uint8_t> seen;    // persons of the batch already in the answer
};

struct Scan::Batch {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::int64_t bookmark = 0;   // muutokset: the bookmark to send next
    long pages = 0;
    bool done = false;
    bool up_to_date = false;     // ended with ajanTasalla (not by the upper bound)
    // person_facts: the pages read so far, and what they say of each person's protection.
    std::vector<std::unique_ptr<HeldPage>> held;
    std::unordered_map<std::string_view, PersonProtection> protection;
};

namespace {

constexpr std::size_t kNotAsked = static_cast<std::size_t>(-1);
constexpr std::size_t kSparePages = 4;  // emptied pages kept to decode into again
// Longest wait of the worker inside HttpClient::drive while the backend holds both answers (a
// slot given back wakes it at once).
constexpr int kDriveSliceMs = 20;

std::string trimmed_base(const std::string &base)
{
    std::string b = base;
    while (!b.empty() && b.back() == '/')
        b.pop_back();
    return b;
}

// Appends one record object to a protection array "[…]" (opened when empty).
void append_record(PersonProtection &p, const JsonToken *begin, const JsonToken *end)
{
    if (p.turvakielto.empty()) {
        p.turvakielto.push_back(JsonToken{JsonToken::Kind::BeginArray, {}});
    } else {
        p.turvakielto.pop_back();  // the closing bracket
    }
    const auto first = static_cast<std::uint32_t>(p.turvakielto.size());
    append_state_tokens(begin, end, p.turvakielto);
    p.records.emplace_back(first, static_cast<std::uint32_t>(p.turvakielto.size()));
    p.turvakielto.push_back(JsonToken{JsonToken::Kind::EndArray, {}});
}

const char *const kNothingComplete = "Nothing of this scan was returned as complete: vtj.viimeisin_kirjausavain() stays NULL, "
                                     "so a run that saves it does not move past these changes.";

}  // namespace

void PersonProtection::add(const GroupRow &g, const JsonToken *tokens)
{
    censored = censored || g.has_censored;
    if (g.tietoryhma != "TURVAKIELTO")
        return;
    if (!has_turvakielto) {
        has_turvakielto = true;
        if (turvakielto.empty()) {
            turvakielto.push_back(JsonToken{JsonToken::Kind::BeginArray, {}});
            turvakielto.push_back(JsonToken{JsonToken::Kind::EndArray, {}});
        }
    }
    if (tokens == nullptr || g.tokens_end <= g.tokens_begin)
        return;  // decoded without tokens: only the flags
    const JsonToken *b = tokens + g.tokens_begin, *e = tokens + g.tokens_end;
    if (!g.withheld_only)
        append_record(*this, b, e);
    for_each_object_in(b, e, "voimassaolevatTiedot", [this](const JsonToken *vb, const JsonToken *ve) {
        if (!withheld_whole(vb, ve))
            append_record(*this, vb, ve);
    });
}

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
    if (spec_.person_facts && spec_.endpoint != Endpoint::Muutokset)
        throw Error(ErrorKind::Internal, "person facts of a record scan are a change scan's");
    if (spec_.endpoint == Endpoint::Muutokset && (spec_.person_facts || spec_.on_protection))
        spec_.with_tokens = true;  // the TURVAKIELTO records are built from tokens
    for (auto &set : spec_.group_filters) {
        std::sort(set.begin(), set.end());
        set.erase(std::unique(set.begin(), set.end()), set.end());
    }
}

Scan::~Scan() { stop_ahead(); }

void Scan::stop_ahead() noexcept
{
    if (!ahead_)
        return;
    ahead_->stop();
    ahead_.reset();
    // The worker may have left requests queued or in flight; the client is the caller's again.
    http_.cancel_all();
    http_.set_interrupt_check(caller_check_);
    rows_ = nullptr;
    basic_page_ = nullptr;
    finished_ = true;
}

std::size_t Scan::batch_count() const noexcept
{
    return spec_.hetus.empty() ? 0 : (spec_.hetus.size() + spec_.batch_size - 1) / spec_.batch_size;
}

std::string Scan::url(const char *endpoint) const { return trimmed_base(spec_.base_url) + "/" + endpoint; }

std::string Scan::batch_name(std::size_t batch) const
{
    return "batch " + std::to_string(batch + 1) + " of " + std::to_string(batches_.size()) + " (" +
           std::to_string(batches_[batch].end - batches_[batch].begin) + " hetus)";
}

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
    if (spec_.endpoint != Endpoint::Perustiedot)
        return;
    // From here the worker alone drives the client; the caller's InterruptCheck (PostgreSQL's
    // flags: not to be read from another thread) is asked by the caller's waits instead, and the
    // worker's transfers stop on its stop flag.
    for (auto &slot : basic_)
        slot = std::make_unique<BasicPage>();
    caller_check_ = http_.interrupt_check();
    http_.set_interrupt_check(&Prefetcher::stop_requested);
    try {
        // While the backend holds both answers, the worker keeps the transfers moving (the next
        // requests go out and their answers come in), so that their latency passes meanwhile.
        ahead_ = std::make_unique<Prefetcher>([this](std::size_t slot) { return produce_basic_page(*basic_[slot]); },
                                              caller_check_, [this] { return http_.drive(kDriveSliceMs); },
                                              [this] { http_.wake(); });
    } catch (...) {
        http_.set_interrupt_check(caller_check_);
        throw;
    }
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

// The hetu's position in the batch's slice of the sorted list; kNotAsked when the batch did
// not ask for it.
std::size_t Scan::position_in_batch(std::size_t batch, std::string_view hetu) const
{
    const Batch &b = batches_[batch];
    const auto first = spec_.hetus.begin() + static_cast<std::ptrdiff_t>(b.begin);
    const auto last = spec_.hetus.begin() + static_cast<std::ptrdiff_t>(b.end);
    const auto at = std::lower_bound(first, last, hetu,
                                     [](const std::string &a, std::string_view h) { return std::string_view(a) < h; });
    if (at == last || std::string_view(*at) != hetu)
        return kNotAsked;
    return static_cast<std::size_t>(at - first);
}

bool Scan::load_next_page()
{
    if (spec_.endpoint == Endpoint::Perustiedot)
        return take_basic_page();
    HttpResult res;
    if (!http_.next_completed(res))
        return false;
    if (res.tag >= batches_.size())
        throw Error(ErrorKind::Internal, "a response arrived for an unknown batch");
    ++stats_.pages;
    ++batches_[res.tag].pages;
    page_batch_ = res.tag;
    load_muutokset_page(res);
    if (batches_[res.tag].done && next_batch_to_start_ < batches_.size())
        submit_page(next_batch_to_start_++);
    return true;
}

// What the page says of the protection of each person it has a change for: told to
// on_protection before anything else is checked or returned, so that whatever fails later
// (a malformed page, a cancel) leaves it known. Only persons the batch asked for.
void Scan::report_protection(const HeldPage &hp)
{
    if (!spec_.on_protection)
        return;
    page_protection_.clear();
    const JsonToken *tokens = hp.page.tokens.empty() ? nullptr : hp.page.tokens.data();
    for (const GroupRow &g : hp.page.rows) {
        if (!g.has_censored && g.tietoryhma != "TURVAKIELTO")
            continue;
        if (position_in_batch(page_batch_, g.hetu) == kNotAsked)
            continue;  // refused just below
        page_protection_[g.hetu].add(g, tokens);
    }
    for (const auto &[hetu, facts] : page_protection_)
        spec_.on_protection(hetu, facts);
}

// Every change record must be of a hetu the batch asked for: one that is not (garbled, or
// another person's) would otherwise be dropped by the local recheck and the run would save a
// bookmark past it.
void Scan::check_muutokset_hetus(const HeldPage &hp) const
{
    const Batch &batch = batches_[page_batch_];
    const std::vector<std::string_view> &hetus = hp.page.record_hetus;
    for (std::size_t i = 0; i < hetus.size(); ++i)
        if (position_in_batch(page_batch_, hetus[i]) == kNotAsked)
            throw Error(ErrorKind::BadResponse,
                        "the change interface answered a change of a person the request did not ask for",
                        "Change record " + std::to_string(i) + " (counting from 0) of page " + std::to_string(batch.pages) +
                            " of " + batch_name(page_batch_) + " has a henkilotunnus that is not in the batch's hetulista "
                            "(garbled, or another person's; it is not shown). " + kNothingComplete,
                        "Run again later; if it persists, report the time of the request to DVV.");
}

void Scan::load_muutokset_page(HttpResult &res)
{
    Batch &batch = batches_[res.tag];
    std::unique_ptr<HeldPage> hp;
    if (!spare_.empty()) {
        hp = std::move(spare_.back());
        spare_.pop_back();
    } else {
        hp = std::make_unique<HeldPage>();
    }
    hp->body = std::move(res.body);
    decoder_.decode_muutokset(hp->body, hp->page, "POST /muutokset", spec_.with_tokens);
    const MuutoksetPage &page = hp->page;
    report_protection(*hp);
    check_muutokset_hetus(*hp);

    if (page.bookmark < batch.bookmark)
        throw Error(ErrorKind::BadResponse, "the change interface answered a bookmark below the one it was asked for",
                    "It answered bookmark " + std::to_string(page.bookmark) + " (ajanTasalla " +
                        (page.ajan_tasalla ? "true" : "false") + ") to a request after bookmark " +
                        std::to_string(batch.bookmark) + ", on page " + std::to_string(batch.pages) + " of " +
                        batch_name(res.tag) + ". " + kNothingComplete,
                    "This is a fault of the interface; run again later.");
    if (!page.ajan_tasalla && page.bookmark == batch.bookmark)
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
            if (r.muutospv_unix_us <= spec_.upper_unix_us) {
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
        throw Error(ErrorKind::RunawayPaging, "the change interface was still not up to date after max_pages pages",
                    "A batch of " + std::to_string(batch.end - batch.begin) + " hetus needed more than " +
                        std::to_string(spec_.max_pages) + " pages.",
                    "Raise the server option max_pages, or narrow the window.");
    } else {
        submit_page(res.tag);  // keep the pipeline busy while this page is read
    }

    if (!spec_.person_facts) {
        release_page(std::move(current_));
        current_ = std::move(hp);
        row_pos_ = 0;
        return;
    }
    // Held until the batch is complete; its persons' facts grow page by page.
    const JsonToken *tokens = page.tokens.empty() ? nullptr : page.tokens.data();
    for (const GroupRow &g : page.rows)
        if (g.has_censored || g.tietoryhma == "TURVAKIELTO")
            batch.protection[g.hetu].add(g, tokens);
    batch.held.push_back(std::move(hp));
    ++pages_held_;
    stats_.pages_held_peak = std::max<std::uint64_t>(stats_.pages_held_peak, pages_held_);
    if (batch.done)
        ready_.push_back(res.tag);
}

// In the worker: the next answer (completion order, as the client gives them) into `p`, decoded,
// checked and ordered, and the next batch's request queued. False when no request is left.
bool Scan::produce_basic_page(BasicPage &p)
{
    HttpResult res;
    if (!http_.next_completed(res))
        return false;
    if (res.tag >= batches_.size())
        throw Error(ErrorKind::Internal, "a response arrived for an unknown batch");
    Batch &batch = batches_[res.tag];
    ++batch.pages;
    p.batch = res.tag;
    p.body = std::move(res.body);
    decoder_.decode_perustiedot(p.body, p.page, "POST /perustiedot", spec_.grouped || spec_.with_tokens);
    batch.done = true;
    batch.up_to_date = true;
    check_perustiedot_hetus(p);
    if (spec_.grouped) {
        // Each person's groups together (a person is answered by one batch, so one page holds
        // all of it).
        const std::vector<GroupRow> &rows = p.page.rows;
        p.order.resize(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i)
            p.order[i] = static_cast<std::uint32_t>(i);
        std::stable_sort(p.order.begin(), p.order.end(), [&rows](std::uint32_t a, std::uint32_t b) {
            const GroupRow &x = rows[a], &y = rows[b];
            const int c = x.hetu.compare(y.hetu);
            return c < 0 || (c == 0 && x.tietoryhma < y.tietoryhma);
        });
    }
    if (next_batch_to_start_ < batches_.size())
        submit_page(next_batch_to_start_++);
    return true;
}

// In the caller: the answer the worker decoded next becomes the one whose rows are returned.
bool Scan::take_basic_page()
{
    std::size_t slot = 0;
    if (!ahead_)
        return false;
    bool more = false;
    try {
        more = ahead_->next(slot);
    } catch (...) {
        stop_ahead();  // the worker has ended: the client is the caller's again before the error goes up
        throw;
    }
    if (!more) {
        stop_ahead();
        return false;
    }
    const BasicPage &p = *basic_[slot];
    ++stats_.pages;
    page_batch_ = p.batch;
    basic_page_ = &p;
    rows_ = &p.page.rows;
    row_pos_ = 0;
    order_pos_ = 0;
    person_end_ = 0;
    return true;
}

// Every person of the answer must be one the batch asked for, and come once.
void Scan::check_perustiedot_hetus(BasicPage &p) const
{
    const Batch &batch = batches_[p.batch];
    p.seen.assign(batch.end - batch.begin, 0);
    const std::vector<std::string_view> &hetus = p.page.person_hetus;
    for (std::size_t i = 0; i < hetus.size(); ++i) {
        const std::size_t at = position_in_batch(p.batch, hetus[i]);
        if (at == kNotAsked)
            throw Error(ErrorKind::BadResponse, "the interface answered basic data of a person the request did not ask for",
                        "Person " + std::to_string(i) + " (counting from 0) of the answer to " + batch_name(p.batch) +
                            " has a henkilotunnus that is not in the batch's hetulista (garbled, or another person's; "
                            "it is not shown). Nothing of the answer was returned.",
                        "Run again later; if it persists, report the time of the request to DVV.");
        if (p.seen[at])
            throw Error(ErrorKind::BadResponse, "the interface answered the basic data of one person twice",
                        "Person " + std::to_string(i) + " (counting from 0) of the answer to " + batch_name(p.batch) +
                            " repeats an earlier person of the same answer (not shown); which of the two is current "
                            "cannot be told. Nothing of the answer was returned.",
                        "Run again later; if it persists, report the time of the request to DVV.");
        p.seen[at] = 1;
    }
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
        if (order_pos_ >= basic_page_->order.size())
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
    const std::vector<std::uint32_t> &order = basic_page_->order;
    const GroupRow &first = rows[order[order_pos_]];
    const JsonToken *tokens = basic_page_->page.tokens.data();
    if (order_pos_ >= person_end_) {
        // A new person: what the rows of each of its groups say about the person as a whole.
        person_censored_ = false;
        person_has_turvakielto_ = false;
        person_turvakielto_.clear();
        person_turvakielto_.push_back(JsonToken{JsonToken::Kind::BeginArray, {}});
        std::size_t k = order_pos_;
        for (; k < order.size() && rows[order[k]].hetu == first.hetu; ++k) {
            const GroupRow &g = rows[order[k]];
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
    // The group's objects: [begin, end) of the order.
    const std::size_t begin = order_pos_;
    std::size_t end = begin;
    while (end < order.size() && rows[order[end]].hetu == first.hetu && rows[order[end]].tietoryhma == first.tietoryhma)
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
        const GroupRow &g = rows[order[k]];
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
    row = ScanRow{};
    row.group = &first;
    row.jarjestys = ++jarjestys_;
    row.tiedot = &group_tokens_;
    row.may_hold_nul = basic_page_->page.may_hold_nul;
    row.censored = censored;
    row.censored_fields = censored ? &group_fields_ : nullptr;
    row.has_person_facts = true;
    row.person_censored = person_censored_;
    row.person_turvakielto = person_has_turvakielto_ ? &person_turvakielto_ : nullptr;
    return true;
}

// person_facts: the next row of the complete batches, in the interface's order within each.
bool Scan::next_buffered(ScanRow &row)
{
    while (!ready_.empty()) {
        Batch &batch = batches_[ready_.front()];
        if (out_page_ < batch.held.size()) {
            const HeldPage &hp = *batch.held[out_page_];
            if (out_row_ >= hp.page.rows.size()) {
                ++out_page_;
                out_row_ = 0;
                continue;
            }
            const GroupRow &g = hp.page.rows[out_row_++];
            row = ScanRow{};
            row.group = &g;
            row.page_bookmark = hp.page.bookmark;
            row.jarjestys = ++jarjestys_;
            row.tokens = hp.page.tokens.empty() ? nullptr : hp.page.tokens.data();
            row.may_hold_nul = hp.page.may_hold_nul;
            row.has_person_facts = true;
            const auto facts = batch.protection.find(g.hetu);
            if (facts != batch.protection.end()) {
                row.person_censored = facts->second.censored;
                row.person_turvakielto = facts->second.has_turvakielto ? &facts->second.turvakielto : nullptr;
            }
            ++stats_.rows;
            return true;
        }
        // The batch is returned: its pages go (the rows handed out before this call are done with).
        batch.protection.clear();
        for (auto &hp : batch.held)
            release_page(std::move(hp));
        pages_held_ -= batch.held.size();
        batch.held.clear();
        ready_.pop_front();
        out_page_ = 0;
        out_row_ = 0;
    }
    return false;
}

void Scan::release_page(std::unique_ptr<HeldPage> page) noexcept
{
    if (page && spare_.size() < kSparePages) {
        try {
            spare_.push_back(std::move(page));
        } catch (...) {
        }
    }
}

bool Scan::next(ScanRow &row)
{
    if (!started_)
        start();
    for (;;) {
        if (spec_.endpoint == Endpoint::Muutokset) {
            if (spec_.person_facts) {
                if (next_buffered(row))
                    return true;
            } else if (current_ && row_pos_ < current_->page.rows.size()) {
                const HeldPage &hp = *current_;
                const GroupRow &g = hp.page.rows[row_pos_++];
                row = ScanRow{};
                row.group = &g;
                row.page_bookmark = hp.page.bookmark;
                row.jarjestys = ++jarjestys_;
                row.tokens = spec_.with_tokens && !hp.page.tokens.empty() ? hp.page.tokens.data() : nullptr;
                row.may_hold_nul = hp.page.may_hold_nul;
                ++stats_.rows;
                return true;
            }
        } else if (spec_.grouped && rows_) {
            if (next_group(row))
                return true;
        } else if (rows_ && row_pos_ < rows_->size()) {
            const GroupRow &g = (*rows_)[row_pos_++];
            row = ScanRow{};
            row.group = &g;
            row.jarjestys = ++jarjestys_;
            row.tokens = spec_.with_tokens ? basic_page_->page.tokens.data() : nullptr;
            row.may_hold_nul = basic_page_->page.may_hold_nul;
            ++stats_.rows;
            return true;
        }
        rows_ = nullptr;
        if (finished_ || !load_next_page())
            break;
    }
    finish();
    return false;
}

// The end: the scan is complete when every batch ended up to date and no final bookmark lies
// beyond the present.
void Scan::finish()
{
    if (finished_)
        return;
    finished_ = true;
    if (spec_.endpoint != Endpoint::Muutokset || batches_.empty())
        return;
    bool all = true;
    std::int64_t least = batches_.front().bookmark, highest = least;
    std::size_t highest_batch = 0;
    for (std::size_t i = 0; i < batches_.size(); ++i) {
        const Batch &b = batches_[i];
        all = all && b.up_to_date;
        least = std::min(least, b.bookmark);
        if (b.bookmark > highest) {
            highest = b.bookmark;
            highest_batch = i;
        }
    }
    if (!spec_.present_day.empty())
        check_present(highest, highest_batch);
    stats_.complete = all;
    stats_.final_bookmark = least;
}

// No batch may end beyond the bookmark the interface says it has reached by tomorrow. Relies on
// GET /kirjausavain/{a future day} answering the present's bookmark, which no document confirms:
// an interface that refuses such a date (400, 404, 422) leaves the check undone, and says so.
void Scan::check_present(std::int64_t highest, std::size_t highest_batch)
{
    std::int64_t present = 0;
    if (spec_.has_known_present && highest <= spec_.known_present) {
        present = spec_.known_present;
    } else {
        stats_.present_asked = true;
        try {
            present = fetch_kirjausavain(http_, spec_.base_url, spec_.present_day);
        } catch (const Error &e) {
            const long s = e.http_status();
            if (e.kind() != ErrorKind::HttpStatus || (s != 400 && s != 404 && s != 422))
                throw;
            http_.cancel_all();
            stats_.present_check = PresentCheck::NotAvailable;
            return;
        }
    }
    stats_.present_bookmark = present;
    if (highest > present)
        throw Error(ErrorKind::BadResponse, "the change interface answered a bookmark beyond the present",
                    batch_name(highest_batch) + " ended at bookmark " + std::to_string(highest) + ", but GET /kirjausavain/" +
                        spec_.present_day + " (the day after today in Helsinki) answers " + std::to_string(present) +
                        ", the last bookmark the interface can have issued by now. " + kNothingComplete,
                    "This is a fault of the interface; run again later.");
    stats_.present_check = PresentCheck::Passed;
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
