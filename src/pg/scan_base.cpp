#include "pg/scan_base.hpp"

#include <string_view>

#include "core/error.hpp"
#include "core/hetu.hpp"

namespace vtj::pg {

namespace {

void release_cpp(void *arg)
{
    ScanBase *s = static_cast<ScanBase *>(arg);
    ScanCpp *cpp = s->cpp;
    s->cpp = nullptr;
    delete cpp;  // noexcept: the destructors only release
}

// C zone: per attribute of `desc`, whether the query reads it, from the plan's list of needed
// attnums (0 = a whole-row reference: every column). Dropped columns are never needed.
bool *needed_attributes(TupleDesc desc, List *needed)
{
    bool *out = (bool *)palloc0(sizeof(bool) * (desc->natts + 1));
    bool all = false;
    ListCell *lc;
    foreach (lc, needed) {
        const int attno = intVal(lfirst(lc));
        if (attno == 0)
            all = true;
        else if (attno <= desc->natts)
            out[attno - 1] = true;
    }
    for (int i = 0; i < desc->natts; ++i)
        out[i] = !TupleDescAttr(desc, i)->attisdropped && (all || out[i]);
    return out;
}

// C zone: column kinds and types from the column table, checked once per scan.
void describe_columns(ScanBase *s, TupleDesc desc, List *needed)
{
    s->natts = desc->natts;
    s->columns = (ColumnKind *)palloc0(sizeof(ColumnKind) * (desc->natts + 1));
    s->needed = needed_attributes(desc, needed);
    s->types = (Oid *)palloc0(sizeof(Oid) * (desc->natts + 1));
    const bool one_table = s->table == TableKind::Henkilo;  // the remote schema has one table
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (att->attisdropped)
            continue;
        s->types[i] = att->atttypid;
        const ColumnDef *col = find_column(s->table, NameStr(att->attname));
        if (!col)
            continue;  // not the interface's: always NULL
        s->columns[i] = col->kind;
        const Oid t = att->atttypid;
        if (t != col->type && (col->also == InvalidOid || t != col->also) && (col->also2 == InvalidOid || t != col->also2))
            ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
                            errmsg("column \"%s\" of a vtj_fdw table must have type %s", NameStr(att->attname),
                                   format_type_be(col->type)),
                            errhint("Create the %s with IMPORT FOREIGN SCHEMA %s.", one_table ? "table" : "tables",
                                    remote_schema_of(s->table))));
        if (s->exec->check_column)
            s->exec->check_column(s, att, col->kind);
    }
}

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
        const DateADT d = helsinki_day(t);
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

}  // namespace

bool pg_interrupt_pending() noexcept { return QueryCancelPending || ProcDiePending; }

ScanBase *begin_scan_base(ForeignScanState *node, int eflags, const Executor *exec, Size size, ScanCpp *(*make_cpp)())
{
    ForeignScan *plan = (ForeignScan *)node->ss.ps.plan;
    EState *estate = node->ss.ps.state;
    ScanBase *s = (ScanBase *)palloc0(size);
    node->fdw_state = s;
    s->exec = exec;
    s->table = (TableKind)intVal(list_nth(plan->fdw_private, kPrivTable));
    s->kinds = (List *)list_nth(plan->fdw_private, kPrivPushedKinds);
    s->known_hetus = intVal(list_nth(plan->fdw_private, kPrivKnownHetus));
    s->description = strVal(list_nth(plan->fdw_private, kPrivDescription));
    describe_columns(s, node->ss.ss_ScanTupleSlot->tts_tupleDescriptor,
                     (List *)list_nth(plan->fdw_private, kPrivNeededAttrs));

    const Oid relid = RelationGetRelid(node->ss.ss_currentRelation);
    const Oid server_id = GetForeignTable(relid)->serverid;
    s->query_cxt = estate->es_query_cxt;
    s->cpp = make_cpp();
    s->callback.func = release_cpp;
    s->callback.arg = s;
    MemoryContextRegisterResetCallback(estate->es_query_cxt, &s->callback);
    s->cpp->settings = read_server_settings(server_id);  // no credentials yet
    s->parallel = s->cpp->settings.http.max_parallel;
    if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
        return s;

    s->exprstates = ExecInitExprList(plan->fdw_exprs, (PlanState *)node);
    // A row's Datums (its jsonb and what building it takes, a few kB to tens of kB) fit in the
    // keeper block, which a reset keeps: no malloc and free per row (with the small sizes they
    // were a seventh of a perustiedot scan's time).
    s->row_cxt = AllocSetContextCreate(estate->es_query_cxt, "vtj_fdw row", 64 * 1024, 64 * 1024, ALLOCSET_DEFAULT_MAXSIZE);
    s->cond_cxt = AllocSetContextCreate(estate->es_query_cxt, "vtj_fdw conditions", ALLOCSET_DEFAULT_SIZES);
    // The user whose mapping is used: the view owner's for a view, as the executor checks it.
    RangeTblEntry *rte = exec_rt_fetch(plan->scan.scanrelid, estate);
    const Oid user_id = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
    s->cpp->server_id = server_id;
    s->cpp->user_id = user_id;
    s->cpp->umid = read_user_mapping(user_id, server_id, s->cpp->settings);
    return s;
}

void explain_scan(ScanBase *s, ExplainState *es)
{
    const Executor *x = s->exec;
    if (es->verbose) {
        ExplainPropertyText("VTJ Endpoint", x->endpoint, es);
        if (x->rows)
            ExplainPropertyText("VTJ Rows", x->rows, es);
        ExplainPropertyText("VTJ Pushed Conditions", s->description[0] ? s->description : "none", es);
        if (x->asks_hetus) {
            if (s->known_hetus >= 0)
                ExplainPropertyInteger("VTJ Hetus", nullptr, s->known_hetus, es);
            else
                ExplainPropertyText("VTJ Hetus", "from a parameter, counted at execution", es);
        }
        if (x->explain_verbose)
            x->explain_verbose(s, es);
    }
    if (es->analyze && s->cpp)
        x->explain_analyze(s, es);
}

void evaluate_conditions(ForeignScanState *node, ScanBase *s, Conditions *c)
{
    memset(c, 0, sizeof(*c));
    MemoryContextReset(s->cond_cxt);
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

std::vector<std::string> checked_hetus(const Conditions &c)
{
    // Validated straight from PostgreSQL's memory (no copy of the list is made for validation);
    // the message gives positions only.
    std::vector<std::size_t> bad;
    const int n = c.empty ? 0 : c.hetus.n;
    for (int i = 0; i < n; ++i)
        if (!vtj::hetu_valid(std::string_view(VARDATA_ANY(c.hetus.items[i]), VARSIZE_ANY_EXHDR(c.hetus.items[i]))))
            bad.push_back(static_cast<std::size_t>(i) + 1);
    if (!bad.empty())
        throw vtj::Error(vtj::ErrorKind::InvalidHetu, vtj::describe_invalid_positions(bad, static_cast<std::size_t>(n)),
                         "No request was sent.", "Check the values with vtj.hetu_kelpaa(); the code is strict: "
                                                 "11 characters, uppercase, no spaces.");
    std::vector<std::string> hetus;
    hetus.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        hetus.emplace_back(VARDATA_ANY(c.hetus.items[i]), VARSIZE_ANY_EXHDR(c.hetus.items[i]));
    return hetus;
}

DateADT helsinki_day(TimestampTz t)
{
    Datum local = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum("Europe/Helsinki"), TimestampTzGetDatum(t));
    return DatumGetDateADT(DirectFunctionCall1(timestamp_date, local));
}

void format_date(DateADT d, char out[16])
{
    int y, m, day;
    j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, day);
}

}  // namespace vtj::pg
