// The executor of muutokset, perustiedot and perustiedot_ryhmittain (scan_muutokset.hpp). On the
// first row of a (re)scan: evaluate the pushed conditions, validate the hetus, start the core's
// Scan; then one row per group object (or per person and data group). No HTTP in
// BeginForeignScan; EXPLAIN without ANALYZE makes no request. State and C zones: scan_base.hpp.
#include "pg/scan_muutokset.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_tokens.hpp"
#include "core/scan.hpp"
#include "pg/boundary.hpp"
#include "pg/connection_cache.hpp"
#include "pg/jsonb_tokens.hpp"
#include "pg/protection_store.hpp"
#include "pg/scan_base.hpp"

namespace vtj::pg {

namespace {

std::int64_t g_final_bookmark = 0;
bool g_final_valid = false;

// EXPLAIN ANALYZE figures (plain data).
struct Figures {
    std::uint64_t requests, retries, bytes, pages, batches;
    std::int64_t hetus;  // -1 before the first start
    std::int64_t window_start;
    bool window_known;
    // The present check (muutokset): passed at least once (the highest bound seen; a rescan
    // needs no request while its bookmarks stay within it), or not available from this interface.
    bool present_passed;
    std::int64_t present_bookmark;
    bool present_unavailable;
};

// The C++ half.
struct RecordCpp : ScanCpp {
    vtj::HttpClient *client = nullptr;  // checked out of the connection cache
    std::unique_ptr<vtj::Scan> scan;
    Figures fig = {0, 0, 0, 0, 0, -1, 0, false, false, 0, false};  // summed over rescans

    // Adds the live scan's and client's figures into `into` (EXPLAIN ANALYZE shows totals over
    // rescans; release() folds them into `fig` for good).
    void add_live(Figures &into) const noexcept
    {
        if (scan) {
            into.pages += scan->stats().pages;
            into.batches += scan->stats().batches;
            if (scan->stats().window_resolved) {
                into.window_start = scan->stats().window_start;
                into.window_known = true;
            }
            if (scan->stats().present_check == vtj::PresentCheck::Passed) {
                into.present_passed = true;
                into.present_bookmark = std::max(into.present_bookmark, scan->stats().present_bookmark);
            } else if (scan->stats().present_check == vtj::PresentCheck::NotAvailable) {
                into.present_unavailable = true;
            }
        }
        if (client) {
            into.requests += client->stats().requests;
            into.retries += client->stats().retries;
            into.bytes += client->stats().bytes_received;
        }
    }
    // Figures are read from the scan and its client only once the scan's worker (perustiedot
    // reads an answer ahead in a thread of its own) has stopped.
    void quiesce() noexcept
    {
        if (scan)
            scan->stop_ahead();
    }
    void release() noexcept
    {
        quiesce();
        add_live(fig);
        scan.reset();
        if (client) {
            release_client(umid, client);
            client = nullptr;
        }
    }
    ~RecordCpp() override { release(); }
};

// The C half.
struct RecordScan : ScanBase {
    long batch_size;  // from the server options, for EXPLAIN
};

RecordCpp &cpp_of(ScanBase *s) { return *static_cast<RecordCpp *>(s->cpp); }

// Microseconds since the Unix epoch of an upper bound, saturating: 'infinity' is no bound at all,
// '-infinity' one below every change.
std::int64_t upper_unix_us(TimestampTz t)
{
    if (TIMESTAMP_IS_NOEND(t) || t > PG_INT64_MAX - kUnixToPgMicros)
        return PG_INT64_MAX;
    if (TIMESTAMP_IS_NOBEGIN(t))
        return PG_INT64_MIN;
    return t + kUnixToPgMicros;
}

[[noreturn]] void fail_no_url()
{
    throw vtj::Error(vtj::ErrorKind::InvalidValue, "the foreign server has no option \"url\"", "",
                     "Give the server the change interface's url (ending in /api/v1).");
}

// Builds the core's ScanSpec from the evaluated conditions and starts the Scan. C++.
void start_scan(ForeignScanState *node, RecordScan *s)
{
    Conditions c;
    evaluate_conditions(node, s, &c);
    char start_day[16] = {0};
    if (c.has_start_time)
        format_date(helsinki_day(c.start_time), start_day);
    // The present check asks for the day after today in Helsinki (the interface's day).
    char present_day[16] = {0};
    if (s->table == TableKind::Muutokset)
        format_date(helsinki_day(GetCurrentTimestamp()) + 1, present_day);
    s->started = true;
    RecordCpp &cpp = cpp_of(s);

    vtj::ScanSpec spec;
    spec.endpoint = s->table == TableKind::Muutokset ? vtj::Endpoint::Muutokset : vtj::Endpoint::Perustiedot;
    spec.grouped = s->table == TableKind::PerustiedotRyhmittain;
    for (int i = 0; i < s->natts; ++i) {
        spec.with_tokens = spec.with_tokens || (s->needed[i] && s->columns[i] == ColumnKind::Tiedot && s->types[i] == JSONBOID);
        // muutokset: the person's facts are decided over the whole batch (the core holds its pages)
        spec.person_facts = spec.person_facts ||
                            (s->table == TableKind::Muutokset && s->needed[i] &&
                             (s->columns[i] == ColumnKind::PersonCensored || s->columns[i] == ColumnKind::PersonTurvakielto));
    }
    ListCell *lc;
    foreach (lc, c.tietoryhma_sets) {  // (no PostgreSQL call here: evaluated in the C zone above)
        const TextSet *t = (const TextSet *)lfirst(lc);
        std::vector<std::string> set;
        for (int i = 0; i < t->n; ++i)
            set.emplace_back(VARDATA_ANY(t->items[i]), VARSIZE_ANY_EXHDR(t->items[i]));
        spec.group_filters.push_back(std::move(set));
    }
    spec.base_url = cpp.settings.url;
    spec.batch_size = static_cast<std::size_t>(s->batch_size);
    spec.parallel = static_cast<std::size_t>(cpp.settings.http.max_parallel);
    spec.max_pages = cpp.settings.max_pages;

    // Duplicates are removed by the core's Scan (it sorts the list), so each hetu is sent once.
    spec.hetus = checked_hetus(c);
    if (spec.hetus.empty())
        return;  // zero requests
    if (cpp.settings.url.empty())
        fail_no_url();

    if (spec.endpoint == vtj::Endpoint::Muutokset) {
        spec.has_start_bookmark = c.has_start_bookmark;
        spec.start_bookmark = c.start_bookmark;
        spec.has_start_day = c.has_start_time;
        spec.start_day = start_day;
        spec.has_upper = c.has_upper && upper_unix_us(c.upper) != PG_INT64_MAX;
        spec.upper_unix_us = c.has_upper ? upper_unix_us(c.upper) : 0;
        if (!spec.has_start_bookmark && !spec.has_start_day)
            throw vtj::Error(vtj::ErrorKind::MissingCondition, "a scan of muutokset needs a window start", "",
                             "Add WHERE kirjausavain > n or muutospv >= t.");
        // Every page's protection facts go to the backend's store as the page is decoded.
        spec.on_protection = [](std::string_view hetu, const vtj::PersonProtection &facts) {
            protection_store_add(hetu, facts);
        };
        if (!cpp.fig.present_unavailable) {  // an interface that refused the check once is not asked again
            spec.present_day = present_day;
            spec.has_known_present = cpp.fig.present_passed;
            spec.known_present = cpp.fig.present_bookmark;
        }
    }
    cpp.client = acquire_client(cpp.umid, cpp.server_id, cpp.user_id, cpp.settings.http);
    cpp.scan = std::make_unique<vtj::Scan>(*cpp.client, std::move(spec));
    cpp.fig.hetus = static_cast<std::int64_t>(cpp.scan->distinct_hetus());
}

Datum text_datum(std::string_view v) { return PointerGetDatum(cstring_to_text_with_len(v.data(), static_cast<int>(v.size()))); }

[[noreturn]] void fail_unstorable(const char *type)
{
    throw vtj::Error(vtj::ErrorKind::BadResponse, std::string("a data group from the interface cannot be stored as ") + type,
                     "PostgreSQL does not accept part of it (for example the escape \\u0000); "
                     "the group is not quoted here because it may hold personal data.",
                     "Select the other columns without tiedot, or declare tiedot as json or text, and report the "
                     "answer to the interface's provider.");
}

// A group's value given as tokens (a grouped row's array, or one group object) as jsonb, or as
// its JSON text for a json or text column. The decoder has validated the JSON, but PostgreSQL
// refuses a few valid texts (the escape \u0000); its error's CONTEXT would quote the group —
// personal data — so such errors are replaced by one that names no value. may_hold_nul: false
// when the tokens come from a page whose body cannot hold U+0000 (ScanRow::may_hold_nul).
Datum tokens_datum(const vtj::JsonToken *b, std::size_t n, Oid type, bool may_hold_nul = true)
{
    if (type == JSONBOID && may_hold_nul && vtj::tokens_hold_nul(b, b + n))  // (the JSON text escapes it)
        fail_unstorable("jsonb");
    try {
        if (type == JSONBOID)
            return pg_guard([b, n] { return jsonb_from_tokens(b, n); });
        const std::string text = vtj::tokens_to_json(b, b + n);
        return pg_guard([&text] { return text_datum(text); });
    } catch (const PgError &) {
        fail_unstorable(type == JSONBOID ? "jsonb" : "text");
    }
}

// C zone: the row's Datums, in row_cxt.
void fill_slot(ScanBase *s, TupleTableSlot *slot, const vtj::ScanRow &r)
{
    const vtj::GroupRow &g = *r.group;
    Datum *values = slot->tts_values;
    bool *nulls = slot->tts_isnull;
    fill_needed_columns(s, slot, [&](int i) {
        switch (s->columns[i]) {
        case ColumnKind::Hetu:
            values[i] = text_datum(g.hetu);
            nulls[i] = false;
            break;
        case ColumnKind::Muutospv:
            if (g.has_muutospv) {
                values[i] = TimestampTzGetDatum(g.muutospv_unix_us - kUnixToPgMicros);
                nulls[i] = false;
            }
            break;
        case ColumnKind::Kirjausavain:
            if (s->table == TableKind::Muutokset) {
                values[i] = Int64GetDatum(r.page_bookmark);
                nulls[i] = false;
            }
            break;
        case ColumnKind::Jarjestys:
            values[i] = Int64GetDatum(r.jarjestys);
            nulls[i] = false;
            break;
        case ColumnKind::Tietoryhma:
            if (!g.tietoryhma.empty()) {
                values[i] = text_datum(g.tietoryhma);
                nulls[i] = false;
            }
            break;
        case ColumnKind::Muutosattribuutti:
            if (!g.muutosattribuutti.empty()) {
                values[i] = text_datum(g.muutosattribuutti);
                nulls[i] = false;
            }
            break;
        case ColumnKind::Alkupv:
        case ColumnKind::Loppupv: {
            const vtj::OptionalDate &d = s->columns[i] == ColumnKind::Alkupv ? g.alkupv : g.loppupv;
            if (d.present) {
                values[i] = DateADTGetDatum(d.days_since_unix_epoch - kUnixToPgDays);
                nulls[i] = false;
            }
            break;
        }
        case ColumnKind::Censored: {
            // grouped: the fields of every record of the group; else the group object's own
            const std::vector<std::string_view> *fields =
                r.tiedot ? r.censored_fields : g.has_censored ? &g.censored_fields : nullptr;
            if (fields) {
                const int n = static_cast<int>(fields->size());
                Datum *elems = (Datum *)palloc(sizeof(Datum) * (n > 0 ? n : 1));
                for (int k = 0; k < n; ++k)
                    elems[k] = text_datum((*fields)[static_cast<std::size_t>(k)]);
                values[i] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
                nulls[i] = false;
            }
            break;
        }
        case ColumnKind::PersonCensored:
            if (r.has_person_facts) {
                values[i] = BoolGetDatum(r.person_censored);
                nulls[i] = false;
            }
            break;
        case ColumnKind::PersonTurvakielto:
            if (r.person_turvakielto) {
                values[i] = tokens_datum(r.person_turvakielto->data(), r.person_turvakielto->size(), JSONBOID);
                nulls[i] = false;
            }
            break;
        case ColumnKind::Tiedot: {
            if (r.tiedot) {  // grouped: an array of the group's records
                values[i] = tokens_datum(r.tiedot->data(), r.tiedot->size(), s->types[i], r.may_hold_nul);
                nulls[i] = false;
                break;
            }
            if (s->types[i] == JSONBOID) {
                // From the group's tokens (start_scan asks for them whenever a jsonb tiedot is
                // read): the value jsonb_in of `raw` would give, without parsing the text again.
                if (!r.tokens)
                    throw vtj::Error(vtj::ErrorKind::Internal, "a jsonb tiedot was read without the group's tokens");
                values[i] = tokens_datum(r.tokens + g.tokens_begin, g.tokens_end - g.tokens_begin, JSONBOID, r.may_hold_nul);
            } else {
                values[i] = text_datum(g.raw);  // json and text keep the bytes as received
            }
            nulls[i] = false;
            break;
        }
        default:
            break;
        }
    });
    ExecStoreVirtualTuple(slot);
}

// C zone: a row of several records has no one validity period or change attribute; the
// person's columns exist in muutokset and perustiedot_ryhmittain only.
void check_column(const ScanBase *s, Form_pg_attribute att, ColumnKind k)
{
    if (s->table == TableKind::PerustiedotRyhmittain &&
        (k == ColumnKind::Alkupv || k == ColumnKind::Loppupv || k == ColumnKind::Muutospv ||
         k == ColumnKind::Kirjausavain || k == ColumnKind::Muutosattribuutti))
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
                        errmsg("column \"%s\" has no value in a perustiedot_ryhmittain table", NameStr(att->attname)),
                        errdetail("A row there stands for all records of one data group of one person."),
                        errhint("Drop the column, or read it per record from a perustiedot table.")));
    if (s->table != TableKind::PerustiedotRyhmittain && s->table != TableKind::Muutokset &&
        (k == ColumnKind::PersonCensored || k == ColumnKind::PersonTurvakielto))
        ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_COLUMN_NAME),
                        errmsg("column \"%s\" has a value only in a perustiedot_ryhmittain or muutokset table",
                               NameStr(att->attname)),
                        errhint("Drop the column, or read the table perustiedot_ryhmittain.")));
}

void begin(ForeignScanState *node, int eflags, const Executor *self)
{
    RecordScan *s = begin_scan<RecordScan, RecordCpp>(node, eflags, self);
    s->batch_size = s->table == TableKind::Muutokset ? s->cpp->settings.muutokset_batch_size
                                                     : s->cpp->settings.perustiedot_batch_size;
}

TupleTableSlot *iterate(ForeignScanState *node, TupleTableSlot *slot)
{
    RecordScan *s = static_cast<RecordScan *>((ScanBase *)node->fdw_state);
    if (!s->started) {
        // A new change scan makes the previous scan's bookmark stale, whatever this one ends in.
        if (s->table == TableKind::Muutokset)
            g_final_valid = false;
        start_scan(node, s);
    }
    RecordCpp &cpp = cpp_of(s);
    vtj::ScanRow row;
    if (!cpp.scan || !cpp.scan->next(row)) {
        if (cpp.scan && s->table == TableKind::Muutokset && cpp.scan->stats().complete) {
            g_final_bookmark = cpp.scan->stats().final_bookmark;
            g_final_valid = true;
        }
        return slot;
    }
    fill_slot(s, slot, row);
    return slot;
}

void rescan(ScanBase *s)
{
    if (s->cpp)
        cpp_of(s).release();
    s->started = false;
}

void end(ScanBase *s)
{
    if (s->cpp)
        cpp_of(s).release();  // statistics stay for EXPLAIN ANALYZE; the object goes with the context
}

void explain_verbose(ScanBase *base, ExplainState *es)
{
    const RecordScan *s = static_cast<const RecordScan *>(base);
    if (s->known_hetus >= 0)
        ExplainPropertyInteger("VTJ Batches", nullptr, (s->known_hetus + s->batch_size - 1) / s->batch_size, es);
    ExplainPropertyInteger("VTJ Batch Size", nullptr, s->batch_size, es);
    ExplainPropertyInteger("VTJ Parallel Requests", nullptr, s->parallel, es);
    if (s->table == TableKind::Muutokset) {
        const char *window = strstr(s->description, "kirjausavain >") ? "kirjausavain (bookmark) condition"
                                                                        : "muutospv condition, through GET /kirjausavain/{date}";
        ExplainPropertyText("VTJ Window Start", window, es);
    }
}

void explain_analyze(ScanBase *s, ExplainState *es)
{
    RecordCpp &live = cpp_of(s);
    live.quiesce();  // EXPLAIN ANALYZE comes before EndForeignScan: a LIMIT may leave the worker running
    Figures f = live.fig;  // totals: what finished rescans folded in plus the live scan
    live.add_live(f);
    if (f.hetus >= 0)
        ExplainPropertyInteger("VTJ Distinct Hetus", nullptr, f.hetus, es);
    ExplainPropertyInteger("VTJ Batches Run", nullptr, static_cast<int64>(f.batches), es);
    ExplainPropertyInteger("VTJ Requests", nullptr, static_cast<int64>(f.requests), es);
    ExplainPropertyInteger("VTJ Pages", nullptr, static_cast<int64>(f.pages), es);
    ExplainPropertyInteger("VTJ Retries", nullptr, static_cast<int64>(f.retries), es);
    ExplainPropertyInteger("VTJ Bytes Received", nullptr, static_cast<int64>(f.bytes), es);
    if (f.window_known)
        ExplainPropertyInteger("VTJ Window Start Bookmark", nullptr, f.window_start, es);
    // GET /kirjausavain/{tomorrow} bounds the final bookmarks; an interface that refuses
    // future dates leaves the bound unknown.
    if (f.present_unavailable) {
        ExplainPropertyText("VTJ Present Check", "not available", es);
    } else if (f.present_passed) {
        ExplainPropertyText("VTJ Present Check", "passed", es);
        ExplainPropertyInteger("VTJ Present Bookmark", nullptr, f.present_bookmark, es);
    }
}

}  // namespace

bool last_final_bookmark(std::int64_t *bookmark)
{
    *bookmark = g_final_bookmark;
    return g_final_valid;
}

// endpoint, rows, asks_hetus, begin, iterate, rescan, end, explain_verbose, explain_analyze, check_column
extern const Executor muutokset_executor = {"POST /muutokset", nullptr, true, begin, iterate, rescan, end,
                                            explain_verbose, explain_analyze, check_column};
extern const Executor perustiedot_executor = {"POST /perustiedot", nullptr, true, begin, iterate, rescan, end,
                                              explain_verbose, explain_analyze, check_column};
extern const Executor perustiedot_ryhmittain_executor = {"POST /perustiedot", "one per person and data group", true, begin,
                                                         iterate, rescan, end, explain_verbose, explain_analyze, check_column};

}  // namespace vtj::pg
