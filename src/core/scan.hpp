// One foreign scan of the change interface: splits the hetu list into batches, runs the
// batches concurrently through HttpClient, pages each /muutokset batch until ajanTasalla, and
// streams group rows. Memory stays bounded by the pages in flight (parallel_requests), however
// many persons are asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/http.hpp"
#include "core/vtj_json.hpp"

namespace vtj {

enum class Endpoint { Kirjausavain, Muutokset, Perustiedot };

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
};

struct ScanStats {
    std::uint64_t batches = 0;
    std::uint64_t pages = 0;
    std::uint64_t rows = 0;
    std::uint64_t rows_dropped = 0;      // rows for hetus that were not asked for
    std::uint64_t rows_filtered = 0;     // grouped: group objects of groups not asked for
    std::int64_t window_start = 0;       // resolved start bookmark (muutokset)
    bool window_resolved = false;
    // The bookmark up to which every batch is known to be up to date: the smallest final
    // bookmark over batches (vtj.viimeisin_kirjausavain()); valid when `complete`.
    std::int64_t final_bookmark = 0;
    bool complete = false;
};

struct ScanRow {
    const GroupRow *group = nullptr;     // grouped: the group's first object (hetu, tietoryhma)
    std::int64_t page_bookmark = 0;      // muutokset: the bookmark returned with the row's page
    std::int64_t jarjestys = 0;          // increases in the interface's order within the scan
    // Record scans with_tokens: the page's tokens; the row's are [group->tokens_begin, tokens_end).
    const JsonToken *tokens = nullptr;
    // Grouped scans only. `tiedot`: a JSON array of the group's objects in the interface's
    // order, each without "muutosattribuutti" and "voimassaolevatTiedot" and without the
    // objects the interface withheld whole (GroupRow::withheld_only). `censored`: some object
    // of the group carried "turvakiellonAlaisetKentat"; `censored_fields` lists their entries
    // once each, in order of appearance.
    const std::vector<JsonToken> *tiedot = nullptr;
    bool censored = false;
    const std::vector<std::string_view> *censored_fields = nullptr;
    // Grouped, of the row's person (the same on each of its rows, so that a per-person decision
    // needs no look at the other rows): some group of the person has `censored` set; the
    // person's TURVAKIELTO group as `tiedot` would give it, nullptr when the person has none.
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

    const ScanStats &stats() const noexcept { return stats_; }
    std::size_t batch_count() const noexcept;
    std::size_t distinct_hetus() const noexcept { return spec_.hetus.size(); }

private:
    struct Batch;
    void start();
    void submit_page(std::size_t batch_index);
    bool load_next_page();
    bool asked_in_batch(std::string_view hetu) const;
    bool group_wanted(std::string_view tietoryhma) const;
    bool next_group(ScanRow &row);
    bool fill_group(ScanRow &row);
    std::string url(const char *endpoint) const;

    HttpClient &http_;
    ScanSpec spec_;
    JsonDecoder decoder_;
    ScanStats stats_;
    std::vector<Batch> batches_;
    std::size_t next_batch_to_start_ = 0;
    bool started_ = false;

    // The page whose rows are being returned, and its body (rows point into it).
    std::string body_;
    MuutoksetPage muutokset_page_;
    PerustiedotPage perustiedot_page_;
    const std::vector<GroupRow> *rows_ = nullptr;
    std::size_t row_pos_ = 0;
    std::int64_t page_bookmark_ = 0;
    std::int64_t jarjestys_ = 0;
    std::size_t page_batch_ = 0;         // the batch whose page is being returned

    // Grouped: the page's rows asked for, ordered by (hetu, tietoryhma), stable; the group
    // being returned.
    std::vector<std::uint32_t> order_;
    std::size_t order_pos_ = 0;
    std::vector<JsonToken> group_tokens_;
    std::vector<std::string_view> group_fields_;
    std::size_t person_end_ = 0;         // order_ index after the current person's rows
    bool person_censored_ = false;
    bool person_has_turvakielto_ = false;
    std::vector<JsonToken> person_turvakielto_;
};


// GET {base}/kirjausavain/{day}: the bookmark where that day's changes begin.
std::int64_t fetch_kirjausavain(HttpClient &http, const std::string &base_url, const std::string &day);

}  // namespace vtj
