// Executing a scan: evaluate the pushed conditions (constants, parameters, sub-plans, outer
// values of a nested loop) on the first row, validate the hetus, stream rows from the core's
// Scan, convert them to Datums. No HTTP in BeginForeignScan; EXPLAIN without ANALYZE makes no
// request.
//
// Lifetime: the C++ state (ExecCpp) is owned by a reset callback on the query's memory
// context, so it is released even when an error skips EndForeignScan. The functions that build
// Datums are "C zones": no C++ object with a destructor lives on their stack.
#include "pg/fdw_scan.hpp"


#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/hetu.hpp"
#include "core/json_tokens.hpp"
#include "core/scan.hpp"
#include "pg/boundary.hpp"
#include "pg/connection_cache.hpp"
#include "pg/fdw_plan.hpp"
#include "pg/jsonb_tokens.hpp"
#include "pg/kysely_scan.hpp"  // VTJkysely: henkilo scans are handed to kysely_scan.cpp
#include "pg/protection_store.hpp"
#include "pg/scan_common.hpp"
#include "pg/server_config.hpp"

namespace vtj::pg {

namespace {

constexpr int32 kUnixToPgDays = POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE;  // 10957
constexpr int64 kUnixToPgMicros = static_cast<int64>(kUnixToPgDays) * USECS_PER_DAY;

std::int64_t g_final_bookmark = 0;
bool g_final_valid = false;

// The C++ half of a scan's state.
struct ExecCpp {
    ServerSettings settings;
    Oid umid = InvalidOid;
    Oid server_id = InvalidOid;
    Oid user_id = InvalidOid;
    vtj::HttpClient *client = nullptr;
    std::unique_ptr<vtj::Scan> scan;
    // EXPLAIN ANALYZE figures, summed over rescans.
    std::uint64_t requests = 0, retries = 0, bytes = 0, pages = 0, batches = 0;
    std::int64_t hetus = -1;
    std::int64_t window_start = 0;
    bool window_known = false;
    // The present check (muutokset): passed at least once (the highest bound seen; a rescan
    // needs no request while its bookmarks stay within it), or not available from this interface.
    bool present_passed = false;
    std::int64_t present_bookmark = 0;
    bool present_unavailable = false;

    // Adds the live scan's and client's figures into `into` (EXPLAIN ANALYZE shows totals over
    // rescans; release() folds them into this object for good).
    void add_live(ExecCpp &into) const noexcept
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
    void release() noexcept
    {
        add_live(*this);
        scan.reset();
        if (client) {
            release_client(umid, client);
            client = nullptr;
        }
    }
    ~ExecCpp() { release(); }
};

// The C half, palloc'd in the query's context.
struct ScanExec {
    TableKind table;
    List *kinds;               // Pushed, parallel to exprstates
    List *exprstates;
    int natts;
    ColumnKind *columns;       // per attribute
    bool *needed;              // per attribute: the query reads it
    Oid *types;                // per attribute
    long known_hetus;
    const char *description;
    long batch_size;           // from the server options, for EXPLAIN
    long parallel;
    MemoryContext row_cxt;     // Datums of the current row
    MemoryContext cond_cxt;    // evaluated conditions of the current (re)scan
    ExecCpp *cpp;
    MemoryContextCallback callback;
    bool started;
    bool kirjausavain_pending;
    int64 kirjausavain_value;
    DateADT paiva;
};

void release_exec_cpp(void *arg)
{
    ScanExec *s = static_cast<ScanExec *>(arg);
    ExecCpp *cpp = s->cpp;
    s->cpp = nullptr;
    delete cpp;  // noexcept: ExecCpp's destructor only releases
}

// The non-NULL elements of a text array, detoasted (C zone output).
struct TextSet {
    int n;
    text **items;
};

// C zone: the TextSet of a text[] value, in CurrentMemoryContext.
TextSet text_set(Datum array)
{
    ArrayType *a = DatumGetArrayTypePCopy(array);
    Datum *elems;
    bool *nulls;
    int n;
    deconstruct_array(a, ARR_ELEMTYPE(a), -1, false, TYPALIGN_INT, &elems, &nulls, &n);
    TextSet set{0, (text **)palloc(sizeof(text *) * (n > 0 ? n : 1))};
    for (int i = 0; i < n; ++i)
        if (!nulls[i])
            set.items[set.n++] = DatumGetTextPP(elems[i]);
    return set;
}

// Evaluated conditions (C zone output, palloc'd in cond_cxt).
struct Conditions {
    TextSet hetus;            // NULL elements are dropped
    bool has_start_bookmark;
    int64 start_bookmark;     // exclusive
    bool has_start_time;
    TimestampTz start_time;
    bool has_upper;
    TimestampTz upper;
    bool has_paiva;
    DateADT paiva;
    List *tietoryhma_sets;    // of TextSet *: tietoryhma = ANY(each)
    bool empty;               // a NULL value makes the condition false: no rows, no requests
};

TimestampTz to_timestamptz(Datum d, Oid type)
{
    if (type == TIMESTAMPTZOID)
        return DatumGetTimestampTz(d);
    if (type == TIMESTAMPOID)
        return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, d));
    return DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz, d));
}

int64 to_int64(Datum d, Oid type)
{
    if (type == INT2OID)
        return DatumGetInt16(d);
    if (type == INT4OID)
        return DatumGetInt32(d);
    return DatumGetInt64(d);
}

// C zone: a window start the interface can be asked for: GET /kirjausavain/{YYYY-MM-DD} of its
// day in Helsinki, a year from 1 to 9999. 'infinity', '-infinity' and BC times would be sent as
// nonsense dates; they are refused here, before any request.
void refuse_unusable_window_start(TimestampTz t)
{
    bool ok = !TIMESTAMP_NOT_FINITE(t);
    if (ok) {
        Datum local = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum("Europe/Helsinki"), TimestampTzGetDatum(t));
        const DateADT d = DatumGetDateADT(DirectFunctionCall1(timestamp_date, local));
        int y = 0, m = 0, day = 0;
        if (DATE_NOT_FINITE(d)) {
            ok = false;
        } else {
            j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
            ok = y >= 1 && y <= 9999;
        }
    }
    if (!ok)
        ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                        errmsg("a muutospv window start must be a time from year 1 to 9999"),
                        errdetail("The window start is sent to the interface as the date of GET /kirjausavain/{date}; "
                                  "infinity, -infinity and dates before the common era have none. No request was sent."),
                        errhint("Compare muutospv with a real time (muutospv >= '2026-01-01'), or start the window at a "
                                "bookmark (kirjausavain > n).")));
}

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

// C zone: evaluates every pushed value expression.
void evaluate_conditions(ForeignScanState *node, ScanExec *s, Conditions *c)
{
    memset(c, 0, sizeof(*c));
    ExprContext *econtext = node->ss.ps.ps_ExprContext;
    MemoryContext old = MemoryContextSwitchTo(s->cond_cxt);
    ListCell *lk, *le;
    forboth (lk, s->kinds, le, s->exprstates) {
        const Pushed kind = (Pushed)intVal(lfirst(lk));
        ExprState *es = (ExprState *)lfirst(le);
        bool isnull = false;
        Datum v = ExecEvalExpr(es, econtext, &isnull);
        const Oid type = exprType((Node *)es->expr);
        if (isnull) {
            c->empty = true;  // hetu = NULL, kirjausavain > NULL, …: no row can match
            continue;
        }
        switch (kind) {
        case Pushed::HetuEq:
            c->hetus.n = 1;
            c->hetus.items = (text **)palloc(sizeof(text *));
            c->hetus.items[0] = DatumGetTextPCopy(v);
            break;
        case Pushed::HetuAny:
            c->hetus = text_set(v);
            break;
        case Pushed::BookmarkGt:
        case Pushed::BookmarkGe: {
            int64 b = to_int64(v, type);
            if (kind == Pushed::BookmarkGe)
                b -= 1;
            if (!c->has_start_bookmark || b > c->start_bookmark)
                c->start_bookmark = b;
            c->has_start_bookmark = true;
            break;
        }
        case Pushed::TimeGe:
        case Pushed::TimeGt: {
            TimestampTz t = to_timestamptz(v, type);
            refuse_unusable_window_start(t);
            if (!c->has_start_time || t > c->start_time)
                c->start_time = t;
            c->has_start_time = true;
            break;
        }
        case Pushed::TimeLt:
        case Pushed::TimeLe: {
            TimestampTz t = to_timestamptz(v, type);
            if (!c->has_upper || t < c->upper)
                c->upper = t;
            c->has_upper = true;
            break;
        }
        case Pushed::PaivaEq:
            c->paiva = DatumGetDateADT(v);
            c->has_paiva = true;
            break;
        case Pushed::TietoryhmaAny: {
            TextSet *set = (TextSet *)palloc(sizeof(TextSet));
            *set = text_set(v);
            c->tietoryhma_sets = lappend(c->tietoryhma_sets, set);
            break;
        }
        }
    }
    MemoryContextSwitchTo(old);
}

// C zone: "YYYY-MM-DD" of a date.
void format_date(DateADT d, char out[16])
{
    int y, m, day;
    j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, day);
}

// C zone: the calendar day (Europe/Helsinki, the interface's day) of an instant.
DateADT helsinki_day(TimestampTz t)
{
    Datum local = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum("Europe/Helsinki"), TimestampTzGetDatum(t));
    return DatumGetDateADT(DirectFunctionCall1(timestamp_date, local));
}

// Builds the core's ScanSpec, validating and de-duplicating the hetus. C++.
void start_scan(ForeignScanState *node, ScanExec *s)
{
    MemoryContextReset(s->cond_cxt);
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
    ExecCpp &cpp = *s->cpp;

    if (s->table == TableKind::Kirjausavain) {
        if (c.empty || !c.has_paiva)
            return;
        char day[16];
        format_date(c.paiva, day);
        if (cpp.settings.url.empty())
            throw vtj::Error(vtj::ErrorKind::InvalidValue, "the foreign server has no option \"url\"",
                             "", "Give the server the change interface's url (ending in /api/v1).");
        cpp.client = acquire_client(cpp.umid, cpp.server_id, cpp.user_id, cpp.settings.http);
        s->kirjausavain_value = vtj::fetch_kirjausavain(*cpp.client, cpp.settings.url, day);
        s->paiva = c.paiva;
        s->kirjausavain_pending = true;
        return;
    }

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
    spec.batch_size = static_cast<std::size_t>(s->table == TableKind::Muutokset ? cpp.settings.muutokset_batch_size
                                                                                 : cpp.settings.perustiedot_batch_size);
    spec.parallel = static_cast<std::size_t>(cpp.settings.parallel_requests);
    spec.max_pages = cpp.settings.max_pages;

    // Hetus: validated before any request, straight from PostgreSQL's memory (no copy of the
    // list is made for validation); messages give positions only. Duplicates are removed by
    // the core's Scan (it sorts the list), so each hetu is sent once.
    std::vector<std::size_t> bad;
    const int n = c.empty ? 0 : c.hetus.n;
    for (int i = 0; i < n; ++i)
        if (!vtj::hetu_valid(std::string_view(VARDATA_ANY(c.hetus.items[i]), VARSIZE_ANY_EXHDR(c.hetus.items[i]))))
            bad.push_back(static_cast<std::size_t>(i) + 1);
    if (!bad.empty())
        throw vtj::Error(vtj::ErrorKind::InvalidHetu, vtj::describe_invalid_positions(bad, static_cast<std::size_t>(n)),
                         "No request was sent.", "Check the values with vtj.hetu_kelpaa(); the code is strict: "
                                                 "11 characters, uppercase, no spaces.");
    spec.hetus.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        spec.hetus.emplace_back(VARDATA_ANY(c.hetus.items[i]), VARSIZE_ANY_EXHDR(c.hetus.items[i]));
    if (spec.hetus.empty())
        return;  // zero requests
    if (cpp.settings.url.empty())
        throw vtj::Error(vtj::ErrorKind::InvalidValue, "the foreign server has no option \"url\"", "",
                         "Give the server the change interface's url (ending in /api/v1).");

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
        if (!cpp.present_unavailable) {  // an interface that refused the check once is not asked again
            spec.present_day = present_day;
            spec.has_known_present = cpp.present_passed;
            spec.known_present = cpp.present_bookmark;
        }
    }
    cpp.client = acquire_client(cpp.umid, cpp.server_id, cpp.user_id, cpp.settings.http);
    cpp.scan = std::make_unique<vtj::Scan>(*cpp.client, std::move(spec));
    cpp.hetus = static_cast<std::int64_t>(cpp.scan->distinct_hetus());
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
// personal data — so such errors are replaced by one that names no value.
Datum tokens_datum(const vtj::JsonToken *b, std::size_t n, Oid type)
{
    if (type == JSONBOID && vtj::tokens_hold_nul(b, b + n))  // (the JSON text escapes it)
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
void fill_slot(ScanExec *s, TupleTableSlot *slot, const vtj::ScanRow &r)
{
    const vtj::GroupRow &g = *r.group;
    Datum *values = slot->tts_values;
    bool *nulls = slot->tts_isnull;
    MemoryContext old = MemoryContextSwitchTo(s->row_cxt);
    for (int i = 0; i < s->natts; ++i) {
        nulls[i] = true;
        if (!s->needed[i])
            continue;
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
                values[i] = tokens_datum(r.tiedot->data(), r.tiedot->size(), s->types[i]);
                nulls[i] = false;
                break;
            }
            if (s->types[i] == JSONBOID) {
                // From the group's tokens (start_scan asks for them whenever a jsonb tiedot is
                // read): the value jsonb_in of `raw` would give, without parsing the text again.
                if (!r.tokens)
                    throw vtj::Error(vtj::ErrorKind::Internal, "a jsonb tiedot was read without the group's tokens");
                values[i] = tokens_datum(r.tokens + g.tokens_begin, g.tokens_end - g.tokens_begin, JSONBOID);
            } else {
                values[i] = text_datum(g.raw);  // json and text keep the bytes as received
            }
            nulls[i] = false;
            break;
        }
        default:
            break;
        }
    }
    MemoryContextSwitchTo(old);
    ExecStoreVirtualTuple(slot);
}

Oid expected_type(ColumnKind k)
{
    switch (k) {
    case ColumnKind::Hetu:
    case ColumnKind::Tietoryhma:
    case ColumnKind::Muutosattribuutti:
        return TEXTOID;
    case ColumnKind::Muutospv:
        return TIMESTAMPTZOID;
    case ColumnKind::Kirjausavain:
    case ColumnKind::Jarjestys:
        return INT8OID;
    case ColumnKind::Alkupv:
    case ColumnKind::Loppupv:
    case ColumnKind::Paiva:
        return DATEOID;
    case ColumnKind::Censored:
        return TEXTARRAYOID;
    case ColumnKind::Tiedot:
    case ColumnKind::PersonTurvakielto:
        return JSONBOID;
    case ColumnKind::PersonCensored:
        return BOOLOID;
    default:
        return InvalidOid;
    }
}

// C zone: column kinds and types, checked once per scan.
void describe_columns(ScanExec *s, TupleDesc desc, List *needed)
{
    s->natts = desc->natts;
    s->columns = (ColumnKind *)palloc0(sizeof(ColumnKind) * (desc->natts + 1));
    s->needed = needed_attributes(desc, needed);
    s->types = (Oid *)palloc0(sizeof(Oid) * (desc->natts + 1));
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (att->attisdropped)
            continue;
        s->columns[i] = column_kind(NameStr(att->attname));
        s->types[i] = att->atttypid;
        const Oid want = expected_type(s->columns[i]);
        const bool ok = want == InvalidOid || att->atttypid == want ||
                        (s->columns[i] == ColumnKind::Tiedot && (att->atttypid == JSONOID || att->atttypid == TEXTOID));
        if (!ok)
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
                            errmsg("column \"%s\" of a vtj_fdw table must have type %s", NameStr(att->attname),
                                   format_type_be(want)),
                            errhint("Create the tables with IMPORT FOREIGN SCHEMA muutosrajapinta.")));
        // A row of several records has no one validity period or change attribute.
        const ColumnKind k = s->columns[i];
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
}

void begin_scan(ForeignScanState *node, int eflags)
{
    ForeignScan *plan = (ForeignScan *)node->ss.ps.plan;
    EState *estate = node->ss.ps.state;
    ScanExec *s = (ScanExec *)palloc0(sizeof(ScanExec));
    node->fdw_state = s;
    s->table = (TableKind)intVal(list_nth(plan->fdw_private, kPrivTable));
    s->kinds = (List *)list_nth(plan->fdw_private, kPrivPushedKinds);
    s->known_hetus = intVal(list_nth(plan->fdw_private, kPrivKnownHetus));
    s->description = strVal(list_nth(plan->fdw_private, kPrivDescription));
    describe_columns(s, node->ss.ss_ScanTupleSlot->tts_tupleDescriptor,
                     (List *)list_nth(plan->fdw_private, kPrivNeededAttrs));

    const Oid relid = RelationGetRelid(node->ss.ss_currentRelation);
    const Oid server_id = GetForeignTable(relid)->serverid;
    s->cpp = new ExecCpp();
    s->callback.func = release_exec_cpp;
    s->callback.arg = s;
    MemoryContextRegisterResetCallback(estate->es_query_cxt, &s->callback);
    s->cpp->settings = read_server_settings(server_id);  // no credentials yet
    s->batch_size = s->table == TableKind::Muutokset ? s->cpp->settings.muutokset_batch_size
                                                     : s->cpp->settings.perustiedot_batch_size;
    s->parallel = s->cpp->settings.parallel_requests;
    if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
        return;

    s->exprstates = ExecInitExprList(plan->fdw_exprs, (PlanState *)node);
    s->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "vtj_fdw row", ALLOCSET_SMALL_SIZES);
    s->cond_cxt = AllocSetContextCreate(estate->es_query_cxt, "vtj_fdw conditions", ALLOCSET_DEFAULT_SIZES);
    // The user whose mapping is used: the view owner's for a view, as the executor checks it.
    RangeTblEntry *rte = exec_rt_fetch(plan->scan.scanrelid, estate);
    const Oid user_id = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
    s->cpp->server_id = server_id;
    s->cpp->user_id = user_id;
    s->cpp->umid = read_user_mapping(user_id, server_id, s->cpp->settings);
}

TupleTableSlot *iterate_scan(ForeignScanState *node)
{
    ScanExec *s = (ScanExec *)node->fdw_state;
    TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
    ExecClearTuple(slot);
    MemoryContextReset(s->row_cxt);
    if (!s->started) {
        // A new change scan makes the previous scan's bookmark stale, whatever this one ends in.
        if (s->table == TableKind::Muutokset)
            g_final_valid = false;
        start_scan(node, s);
    }

    if (s->table == TableKind::Kirjausavain) {
        if (!s->kirjausavain_pending)
            return slot;
        s->kirjausavain_pending = false;
        for (int i = 0; i < s->natts; ++i) {
            slot->tts_isnull[i] = true;
            if (s->columns[i] == ColumnKind::Paiva) {
                slot->tts_values[i] = DateADTGetDatum(s->paiva);
                slot->tts_isnull[i] = false;
            } else if (s->columns[i] == ColumnKind::Kirjausavain) {
                slot->tts_values[i] = Int64GetDatum(s->kirjausavain_value);
                slot->tts_isnull[i] = false;
            }
        }
        return ExecStoreVirtualTuple(slot);
    }

    ExecCpp &cpp = *s->cpp;
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

}  // namespace

bool last_final_bookmark(std::int64_t *bookmark)
{
    *bookmark = g_final_bookmark;
    return g_final_valid;
}

// VTJkysely dispatch: a henkilo scan (TableKind::Henkilo in the plan) is run by
// kysely_scan.cpp; its state's first field is the TableKind too, so is_kysely_state() tells the
// two states apart in the later callbacks.
extern "C" void vtj_BeginForeignScan(ForeignScanState *node, int eflags)
{
    run_guarded([&] {
        const List *priv = ((ForeignScan *)node->ss.ps.plan)->fdw_private;
        if ((TableKind)intVal(list_nth(priv, kPrivTable)) == TableKind::Henkilo) {
            kysely_begin(node, eflags);  // VTJkysely
            return;
        }
        begin_scan(node, eflags);
    });
}

extern "C" TupleTableSlot *vtj_IterateForeignScan(ForeignScanState *node)
{
    return run_guarded([&] {
        if (is_kysely_state(node->fdw_state))
            return kysely_iterate(node);  // VTJkysely
        return iterate_scan(node);
    });
}

extern "C" void vtj_ReScanForeignScan(ForeignScanState *node)
{
    run_guarded([&] {
        if (is_kysely_state(node->fdw_state)) {
            kysely_rescan(node);  // VTJkysely
            return;
        }
        ScanExec *s = (ScanExec *)node->fdw_state;
        if (s->cpp)
            s->cpp->release();
        s->started = false;
        s->kirjausavain_pending = false;
    });
}

extern "C" void vtj_EndForeignScan(ForeignScanState *node)
{
    run_guarded([&] {
        if (is_kysely_state(node->fdw_state)) {
            kysely_end(node);  // VTJkysely
            return;
        }
        ScanExec *s = (ScanExec *)node->fdw_state;
        if (s && s->cpp)
            s->cpp->release();  // statistics stay for EXPLAIN ANALYZE; the object goes with the context
    });
}

extern "C" void vtj_ExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
    run_guarded([&] {
        if (is_kysely_state(node->fdw_state)) {
            kysely_explain(node, es);  // VTJkysely
            return;
        }
        ScanExec *s = (ScanExec *)node->fdw_state;
        if (!s)
            return;
        if (es->verbose) {
            const char *endpoint = s->table == TableKind::Kirjausavain ? "GET /kirjausavain/{paiva}"
                                   : s->table == TableKind::Muutokset  ? "POST /muutokset"
                                                                       : "POST /perustiedot";
            ExplainPropertyText("VTJ Endpoint", endpoint, es);
            if (s->table == TableKind::PerustiedotRyhmittain)
                ExplainPropertyText("VTJ Rows", "one per person and data group", es);
            ExplainPropertyText("VTJ Pushed Conditions", s->description[0] ? s->description : "none", es);
            if (s->table != TableKind::Kirjausavain) {
                if (s->known_hetus >= 0) {
                    ExplainPropertyInteger("VTJ Hetus", nullptr, s->known_hetus, es);
                    ExplainPropertyInteger("VTJ Batches", nullptr, (s->known_hetus + s->batch_size - 1) / s->batch_size, es);
                } else {
                    ExplainPropertyText("VTJ Hetus", "from a parameter, counted at execution", es);
                }
                ExplainPropertyInteger("VTJ Batch Size", nullptr, s->batch_size, es);
                ExplainPropertyInteger("VTJ Parallel Requests", nullptr, s->parallel, es);
            }
            if (s->table == TableKind::Muutokset) {
                const char *window = strstr(s->description, "kirjausavain >") ? "kirjausavain (bookmark) condition"
                                     : "muutospv condition, through GET /kirjausavain/{date}";
                ExplainPropertyText("VTJ Window Start", window, es);
            }
        }
        if (es->analyze && s->cpp) {
            ExecCpp cpp;  // totals: what finished rescans folded in plus the live scan
            cpp.requests = s->cpp->requests;
            cpp.retries = s->cpp->retries;
            cpp.bytes = s->cpp->bytes;
            cpp.pages = s->cpp->pages;
            cpp.batches = s->cpp->batches;
            cpp.hetus = s->cpp->hetus;
            cpp.window_start = s->cpp->window_start;
            cpp.window_known = s->cpp->window_known;
            cpp.present_passed = s->cpp->present_passed;
            cpp.present_bookmark = s->cpp->present_bookmark;
            cpp.present_unavailable = s->cpp->present_unavailable;
            s->cpp->add_live(cpp);
            if (cpp.hetus >= 0)
                ExplainPropertyInteger("VTJ Distinct Hetus", nullptr, cpp.hetus, es);
            ExplainPropertyInteger("VTJ Batches Run", nullptr, static_cast<int64>(cpp.batches), es);
            ExplainPropertyInteger("VTJ Requests", nullptr, static_cast<int64>(cpp.requests), es);
            ExplainPropertyInteger("VTJ Pages", nullptr, static_cast<int64>(cpp.pages), es);
            ExplainPropertyInteger("VTJ Retries", nullptr, static_cast<int64>(cpp.retries), es);
            ExplainPropertyInteger("VTJ Bytes Received", nullptr, static_cast<int64>(cpp.bytes), es);
            if (cpp.window_known)
                ExplainPropertyInteger("VTJ Window Start Bookmark", nullptr, cpp.window_start, es);
            // GET /kirjausavain/{tomorrow} bounds the final bookmarks; an interface that refuses
            // future dates leaves the bound unknown.
            if (cpp.present_unavailable) {
                ExplainPropertyText("VTJ Present Check", "not available", es);
            } else if (cpp.present_passed) {
                ExplainPropertyText("VTJ Present Check", "passed", es);
                ExplainPropertyInteger("VTJ Present Bookmark", nullptr, cpp.present_bookmark, es);
            }
        }
    });
}

}  // namespace vtj::pg
