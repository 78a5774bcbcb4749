// One foreign scan of the change interface: splits the hetu list into batches, runs the
// batches concurrently through HttpClient, pages each /muutokset batch until ajanTasalla, and
// returns group rows. Memory stays bounded by the batches in flight (parallel_requests), however
// many persons are asked for: a streaming scan holds one page at a time, a scan that gives its
// rows their person's protection facts (ScanSpec::person_facts) holds each batch's pages until
// the batch is complete.
//
// A /perustiedot scan fetches and decodes one answer ahead in a worker thread (Prefetcher): the
// worker alone drives the HttpClient from the first next() until the scan ends or stop_ahead(),
// and the caller's rows come from the answer decoded before, in the same order as without it.
// While the caller holds both answers, the worker drives the client's transfers (the next
// requests go out, their answers come in), so their latency passes during the caller's work.
//
// An answer that does not fit the request is an error (BadResponse), never dropped: a change
// record or a person that the batch did not ask for, a person twice in one /perustiedot answer,
// a bookmark below the one asked for, and — checked once every batch is done — a final bookmark
// beyond what GET /kirjausavain/{the day after today} says the interface has issued.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/http.hpp"
#include "core/prefetch.hpp"
#include "core/vtj_json.hpp"

namespace vtj {

enum class Endpoint { Kirjausavain, Muutokset, Perustiedot };

// What a scan learned of one person's protection over some pages (a page, or a whole batch).
struct PersonProtection {
    // Some group object of the person carried "turvakiellonAlaisetKentat" (henkilolla_salattua).
    bool censored = false;
    // Some TURVAKIELTO group object of the person was read (henkilon_turvakielto is not NULL).
    bool has_turvakielto = false;
    // henkilon_turvakielto as tokens, a JSON array: every TURVAKIELTO group object without
    // "muutosattribuutti" and "voimassaolevatTiedot" (objects withheld whole left out), each
    // followed by the objects of its "voimassaolevatTiedot" (the same way), in the interface's
    // order. Empty until has_turvakielto. Views into the pages' bodies and arenas.
    std::vector<JsonToken> turvakielto;
    // Each record's tokens in `turvakielto`: [first, second).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> records;

    // Folds one group object in (its tokens [tokens + g.tokens_begin, tokens + g.tokens_end)).
    void add(const GroupRow &g, const JsonToken *tokens);
    // Whether anything is known (only such persons are reported).
    bool any() const noexcept { return censored || has_turvakielto; }
};

struct ScanSpec {
    Endpoint endpoint = Endpoint::Perustiedot;
    std::string base_url;                // ends in /api/v1 (a trailing slash is tolerated)
    std::vector<std::string> hetus;      // validated by the caller; Scan sorts it and drops duplicates
    std::size_t batch_size = 1000;       // hetus per request
    std::size_t parallel = 4;            // batches kept in flight (HttpClient caps transfers)
    long max_pages = 100000;             // per batch (runaway guard)
    std::vector<std::string> tietoryhmat;  // /perustiedot filter (empty: everything)
    // /perustiedot: one row per person and data group instead of one per group object (see
    // ScanRow::tiedot); needs the groups' tokens from the decoder.
    bool grouped = false;
    // Record scans: keep each group object's tokens too (ScanRow::tokens), for a consumer that
    // rebuilds the values (the PostgreSQL layer's jsonb) without parsing the text again.
    // (Implied by person_facts and on_protection.)
    bool with_tokens = false;
    // Grouped: only the groups named in every one of these sets are returned (a local filter:
    // the request still asks for every group, and the person's facts count them all).
    std::vector<std::vector<std::string>> group_filters;

    // /muutokset window start: changes after this bookmark (exclusive) ...
    bool has_start_bookmark = false;
    std::int64_t start_bookmark = 0;
    // ... or after the bookmark where this day's changes begin (GET /kirjausavain/{day});
    // when both are given the later bookmark wins.
    bool has_start_day = false;
    std::string start_day;               // YYYY-MM-DD

    // Upper bound on muutospv: a batch stops paging after a page whose changes all lie after
    // it (the interface pages in registration order; rows are rechecked locally anyway).
    bool has_upper = false;
    std::int64_t upper_unix_us = 0;

    // /muutokset: every row carries its person's protection facts over all the pages its batch
    // read (ScanRow::person_censored, person_turvakielto). Each batch's pages are then held until
    // the batch is complete (ajanTasalla, or stopped by the upper bound) and its rows returned in
    // the interface's order after that.
    bool person_facts = false;
    // /muutokset: told, for each decoded page and before anything of the page is checked or
    // returned, the protection facts of every person of the page with any (hetu, facts of this
    // page). The views are valid during the call only.
    std::function<void(std::string_view, const PersonProtection &)> on_protection;

    // /muutokset, the present check: when every batch is done, GET /kirjausavain/{present_day}
    // (the day after today) bounds the bookmarks the interface can have issued; a batch's final
    // bookmark above it is refused. 400, 404 or 422 to that request: the check is not available
    // (ScanStats::present_check) and the scan goes on. Empty: no check.
    std::string present_day;
    // A bound already known (an earlier rescan's): no request when every final bookmark is within it.
    bool has_known_present = false;
    std::int64_t known_present = 0;
};

enum class PresentCheck { NotRun, Passed, NotAvailable };

struct ScanStats {
    std::uint64_t batches = 0;
    std::uint64_t pages = 0;
    std::uint64_t rows = 0;
    std::uint64_t rows_filtered = 0;     // grouped: group objects of groups not asked for
    std::int64_t window_start = 0;       // resolved start bookmark (muutokset)
    bool window_resolved = false;
    // The bookmark up to which every batch is known to be up to date: the smallest final
    // bookmark over batches (vtj.viimeisin_kirjausavain()); valid when `complete`.
    std::int64_t final_bookmark = 0;
    bool complete = false;
    PresentCheck present_check = PresentCheck::NotRun;
    std::int64_t present_bookmark = 0;   // Passed: the bound (asked now or known before)
    bool present_asked = false;          // the check sent GET /kirjausavain/{present_day}
    std::uint64_t pages_held_peak = 0;   // person_facts: most pages held at once
};

struct ScanRow {
    const GroupRow *group = nullptr;     // grouped: the group's first object (hetu, tietoryhma)
    std::int64_t page_bookmark = 0;      // muutokset: the bookmark returned with the row's page
    std::int64_t jarjestys = 0;          // increases in the interface's order within a batch
    // Record scans with_tokens: the page's tokens; the row's are [group->tokens_begin, tokens_end).
    const JsonToken *tokens = nullptr;
    // Some string of the row's page may hold U+0000 (vtj::body_may_hold_nul): only then need its
    // tokens be looked at before they become jsonb.
    bool may_hold_nul = true;
    // Grouped scans only. `tiedot`: a JSON array of the group's objects in the interface's
    // order, each without "muutosattribuutti" and "voimassaolevatTiedot" and without the
    // objects the interface withheld whole (GroupRow::withheld_only). `censored`: some object
    // of the group carried "turvakiellonAlaisetKentat"; `censored_fields` lists their entries
    // once each, in order of appearance.
    const std::vector<JsonToken> *tiedot = nullptr;
    bool censored = false;
    const std::vector<std::string_view> *censored_fields = nullptr;
    // Grouped scans and muutokset with person_facts: the row's person's facts (the same on each
    // of its rows, so that a per-person decision needs no look at the other rows): some group
    // object has "turvakiellonAlaisetKentat"; the TURVAKIELTO records (PersonProtection::turvakielto
    // for muutokset; the TURVAKIELTO group as `tiedot` would give it for grouped), nullptr when
    // the person has none.
    bool has_person_facts = false;
    bool person_censored = false;
    const std::vector<JsonToken> *person_turvakielto = nullptr;
};

class Scan {
public:
    Scan(HttpClient &http, ScanSpec spec);
    ~Scan();
    Scan(const Scan &) = delete;
    Scan &operator=(const Scan &) = delete;

    // The next row, or false at the end. Throws vtj::Error. Rows stay valid until the next call.
    bool next(ScanRow &row);

    // Stops the /perustiedot worker (an answer in flight is dropped) and gives the HttpClient back
    // to the calling thread with its own InterruptCheck; no more rows come after it. Call it
    // before reading stats() or the client's figures of a scan that may not have ended. Also
    // done by the destructor.
    void stop_ahead() noexcept;

    const ScanStats &stats() const noexcept { return stats_; }
    std::size_t batch_count() const noexcept;
    std::size_t distinct_hetus() const noexcept { return spec_.hetus.size(); }

private:
    struct Batch;
    struct HeldPage;
    struct BasicPage;
    void start();
    void submit_page(std::size_t batch_index);
    bool load_next_page();
    void load_muutokset_page(HttpResult &res);
    bool produce_basic_page(BasicPage &p);  // in the worker
    bool take_basic_page();
    void report_protection(const HeldPage &page);
    void check_muutokset_hetus(const HeldPage &page) const;
    void check_perustiedot_hetus(BasicPage &p) const;
    std::size_t position_in_batch(std::size_t batch, std::string_view hetu) const;  // npos when not asked
    bool group_wanted(std::string_view tietoryhma) const;
    bool next_group(ScanRow &row);
    bool fill_group(ScanRow &row);
    bool next_buffered(ScanRow &row);
    void release_page(std::unique_ptr<HeldPage> page) noexcept;
    void finish();
    void check_present(std::int64_t highest, std::size_t highest_batch);
    std::string url(const char *endpoint) const;
    std::string batch_name(std::size_t batch) const;

    HttpClient &http_;
    ScanSpec spec_;
    JsonDecoder decoder_;
    ScanStats stats_;
    std::vector<Batch> batches_;
    std::size_t next_batch_to_start_ = 0;
    bool started_ = false;
    bool finished_ = false;
    std::int64_t jarjestys_ = 0;
    std::size_t page_batch_ = 0;         // the batch whose page was loaded last

    // /muutokset. Streaming: the page whose rows are being returned. person_facts: the batches
    // complete and not yet returned, in completion order, and where the return is.
    std::unique_ptr<HeldPage> current_;
    std::size_t row_pos_ = 0;
    std::deque<std::size_t> ready_;
    std::size_t out_page_ = 0;
    std::size_t out_row_ = 0;
    std::uint64_t pages_held_ = 0;
    std::vector<std::unique_ptr<HeldPage>> spare_;  // pages to decode into again (capacity kept)
    std::unordered_map<std::string_view, PersonProtection> page_protection_;

    // /perustiedot: the two answers of the worker (Prefetcher slots), the one whose rows are being
    // returned, and its rows. What the worker alone touches while it runs: http_, decoder_, the
    // batches' pages and done flags, next_batch_to_start_ and the slot it fills.
    std::unique_ptr<BasicPage> basic_[Prefetcher::kSlots];
    const BasicPage *basic_page_ = nullptr;
    const std::vector<GroupRow> *rows_ = nullptr;
    InterruptCheck caller_check_ = nullptr;  // the client's own, given back by stop_ahead()

    // Grouped: the group being returned (the page's order is BasicPage::order).
    std::size_t order_pos_ = 0;
    std::vector<JsonToken> group_tokens_;
    std::vector<std::string_view> group_fields_;
    std::size_t person_end_ = 0;         // order_ index after the current person's rows
    bool person_censored_ = false;
    bool person_has_turvakielto_ = false;
    std::vector<JsonToken> person_turvakielto_;

    std::unique_ptr<Prefetcher> ahead_;  // last: stopped before anything it uses goes
};


// GET {base}/kirjausavain/{day}: the bookmark where that day's changes begin.
std::int64_t fetch_kirjausavain(HttpClient &http, const std::string &base_url, const std::string &day);

}  // namespace vtj
