// Planning: which WHERE conditions become request parameters, which paths to offer (a plain
// scan and parameterized paths for joins on hetu), and the plan's private data.
//
// Every function here is a "C zone" (PostgreSQL lists and nodes only, no C++ objects with
// destructors): PostgreSQL errors may unwind through it safely. vtj::Error is thrown only for
// the missing-condition errors, which run_guarded turns into ereport.
#include "pg/fdw_plan.hpp"


#include <cstring>

#include "core/error.hpp"
#include "pg/boundary.hpp"

namespace vtj::pg {

namespace {

// Planner estimates: rows a person yields per endpoint, and the cost of one request.
constexpr double kPerustiedotRowsPerPerson = 15;
constexpr double kRyhmatPerPerson = 10;  // data groups of a person (perustiedot_ryhmittain)
constexpr double kMuutoksetRowsPerPerson = 2;
constexpr double kRequestCost = 100;
constexpr double kRowCost = 0.01;
constexpr double kUnrestrictedCost = 1.0e10;  // never preferred over a path that has its hetus
constexpr double kDefaultHetuCount = 1000;

struct RelInfo {
    TableKind table;
    Oid table_id;
    double known_hetus;  // constants seen in base restrictions, -1 when unknown
};

Expr *strip(Expr *e)
{
    while (e && IsA(e, RelabelType))
        e = ((RelabelType *)e)->arg;
    return e;
}

bool is_own_var(Expr *e, RelOptInfo *rel)
{
    e = strip(e);
    if (!e || !IsA(e, Var))
        return false;
    Var *v = (Var *)e;
    return v->varno == (int)rel->relid && v->varlevelsup == 0 && v->varattno > 0;
}

// A value the executor can compute before the scan: no Vars of this relation, nothing volatile.
bool is_value_expr(PlannerInfo *root, Expr *e, RelOptInfo *rel)
{
    if (bms_is_member(rel->relid, pull_varnos(root, (Node *)e)))
        return false;
    return !contain_volatile_functions((Node *)e);
}

// The operator's name when it is one of pg_catalog's, else NULL.
const char *catalog_operator_name(Oid opno)
{
    HeapTuple tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
    if (!HeapTupleIsValid(tup))
        return nullptr;
    Form_pg_operator form = (Form_pg_operator)GETSTRUCT(tup);
    const char *name = form->oprnamespace == PG_CATALOG_NAMESPACE ? pstrdup(NameStr(form->oprname)) : nullptr;
    ReleaseSysCache(tup);
    return name;
}

ColumnKind kind_of_var(Expr *e, const RelInfo *info)
{
    Var *v = (Var *)strip(e);
    return column_kind(info->table, get_attname(info->table_id, v->varattno, false));
}

bool one_of(Oid t, Oid a, Oid b, Oid c = InvalidOid) { return t == a || t == b || (c != InvalidOid && t == c); }

// Recognises a pushable condition; sets *kind and *value.
bool match_condition(PlannerInfo *root, RelOptInfo *rel, const RelInfo *info, Expr *clause, Pushed *kind, Expr **value)
{
    if (IsA(clause, OpExpr)) {
        OpExpr *op = (OpExpr *)clause;
        if (list_length(op->args) != 2)
            return false;
        Expr *left = (Expr *)linitial(op->args), *right = (Expr *)lsecond(op->args);
        Oid opno = op->opno;
        if (!is_own_var(left, rel)) {
            if (!is_own_var(right, rel))
                return false;
            Expr *t = left;
            left = right;
            right = t;
            opno = get_commutator(opno);
            if (!OidIsValid(opno))
                return false;
        }
        if (!is_value_expr(root, right, rel))
            return false;
        const char *name = catalog_operator_name(opno);
        if (!name)
            return false;
        const ColumnKind col = kind_of_var(left, info);
        const Oid vt = exprType((Node *)right);
        const bool eq = strcmp(name, "=") == 0, gt = strcmp(name, ">") == 0, ge = strcmp(name, ">=") == 0,
                   lt = strcmp(name, "<") == 0, le = strcmp(name, "<=") == 0;
        *value = right;
        if (col == ColumnKind::Hetu && eq && one_of(vt, TEXTOID, VARCHAROID) &&
            info->table != TableKind::Kirjausavain)
            return *kind = Pushed::HetuEq, true;
        if (col == ColumnKind::Kirjausavain && info->table == TableKind::Muutokset && one_of(vt, INT8OID, INT4OID, INT2OID)) {
            if (gt)
                return *kind = Pushed::BookmarkGt, true;
            if (ge)
                return *kind = Pushed::BookmarkGe, true;
        }
        if (col == ColumnKind::Muutospv && info->table == TableKind::Muutokset &&
            one_of(vt, TIMESTAMPTZOID, TIMESTAMPOID, DATEOID)) {
            if (ge)
                return *kind = Pushed::TimeGe, true;
            if (gt)
                return *kind = Pushed::TimeGt, true;
            if (lt)
                return *kind = Pushed::TimeLt, true;
            if (le)
                return *kind = Pushed::TimeLe, true;
        }
        if (col == ColumnKind::Paiva && eq && vt == DATEOID && info->table == TableKind::Kirjausavain)
            return *kind = Pushed::PaivaEq, true;
        return false;
    }
    if (IsA(clause, ScalarArrayOpExpr)) {
        ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *)clause;
        if (!sa->useOr || list_length(sa->args) != 2 || info->table == TableKind::Kirjausavain)
            return false;
        Expr *left = (Expr *)linitial(sa->args), *right = (Expr *)lsecond(sa->args);
        if (!is_own_var(left, rel) || !is_value_expr(root, right, rel))
            return false;
        const char *name = catalog_operator_name(sa->opno);
        if (!name || strcmp(name, "=") != 0 || !one_of(exprType((Node *)right), TEXTARRAYOID, VARCHARARRAYOID))
            return false;
        const ColumnKind col = kind_of_var(left, info);
        *value = right;
        if (col == ColumnKind::Hetu)
            return *kind = Pushed::HetuAny, true;
        if (col == ColumnKind::Tietoryhma && info->table == TableKind::PerustiedotRyhmittain)
            return *kind = Pushed::TietoryhmaAny, true;
        return false;
    }
    return false;
}

// Hetus a constant condition names (for estimates and EXPLAIN), -1 for a parameter.
double constant_hetu_count(Pushed kind, Expr *value)
{
    value = strip(value);
    if (kind == Pushed::HetuEq)
        return IsA(value, Const) ? 1 : -1;
    if (IsA(value, Const)) {
        Const *c = (Const *)value;
        if (c->constisnull)
            return 0;
        ArrayType *a = DatumGetArrayTypeP(c->constvalue);
        return ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
    }
    if (IsA(value, ArrayExpr))
        return list_length(((ArrayExpr *)value)->elements);
    return -1;
}

bool needs_hetu(TableKind t) { return t == TableKind::Muutokset || is_perustiedot(t) || t == TableKind::Henkilo; }

double rows_per_person(TableKind t)
{
    return t == TableKind::Perustiedot             ? kPerustiedotRowsPerPerson
           : t == TableKind::PerustiedotRyhmittain ? kRyhmatPerPerson
           : t == TableKind::Muutokset             ? kMuutoksetRowsPerPerson
                                                   : 1;
}

struct BaseScan {
    bool has_hetu = false;
    bool has_window = false;
    bool has_paiva = false;
    double known_hetus = -1;
};

BaseScan inspect_base_restrictions(PlannerInfo *root, RelOptInfo *rel, const RelInfo *info)
{
    BaseScan b;
    ListCell *lc;
    foreach (lc, rel->baserestrictinfo) {
        RestrictInfo *ri = (RestrictInfo *)lfirst(lc);
        Pushed kind;
        Expr *value;
        if (!match_condition(root, rel, info, ri->clause, &kind, &value))
            continue;
        if (kind == Pushed::HetuEq || kind == Pushed::HetuAny) {
            if (!b.has_hetu)
                b.known_hetus = constant_hetu_count(kind, value);
            b.has_hetu = true;
        } else if (kind == Pushed::BookmarkGt || kind == Pushed::BookmarkGe || kind == Pushed::TimeGe ||
                   kind == Pushed::TimeGt) {
            b.has_window = true;
        } else if (kind == Pushed::PaivaEq) {
            b.has_paiva = true;
        }
    }
    return b;
}

// EquivalenceClass members that are this relation's hetu column (for join paths).
bool ec_member_is_hetu(PlannerInfo *, RelOptInfo *rel, EquivalenceClass *, EquivalenceMember *em, void *arg)
{
    const RelInfo *info = (const RelInfo *)arg;
    Expr *e = strip(em->em_expr);
    return is_own_var(e, rel) && kind_of_var(e, info) == ColumnKind::Hetu;
}

void add_param_path(PlannerInfo *root, RelOptInfo *rel, const RelInfo *info, Relids required_outer)
{
    ParamPathInfo *ppi = get_baserel_parampathinfo(root, rel, required_outer);
    const double rows = ppi ? ppi->ppi_rows : rows_per_person(info->table);
    const double startup = kRequestCost;
    const double total = startup + rows * kRowCost;
    add_path(rel, (Path *)create_foreignscan_path(root, rel, nullptr, rows, startup, total, NIL, required_outer,
                                                   nullptr, NIL));
}

[[noreturn]] void missing(const char *table, const char *what, const char *hint)
{
    throw vtj::Error(vtj::ErrorKind::MissingCondition,
                     std::string("a scan of ") + table + " needs " + what, std::string(),
                     hint);
}

}  // namespace

extern "C" void vtj_GetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
    run_guarded([&] {
        RelInfo *info = (RelInfo *)palloc0(sizeof(RelInfo));
        info->table = table_kind_of(foreigntableid);
        info->table_id = foreigntableid;
        BaseScan b = inspect_base_restrictions(root, baserel, info);
        info->known_hetus = b.known_hetus;
        baserel->fdw_private = info;
        double rows;
        if (info->table == TableKind::Kirjausavain)
            rows = 1;
        else if (b.has_hetu)
            rows = (b.known_hetus >= 0 ? b.known_hetus : kDefaultHetuCount) * rows_per_person(info->table);
        else
            rows = kDefaultHetuCount * rows_per_person(info->table);
        baserel->rows = clamp_row_est(rows * clauselist_selectivity(root, baserel->baserestrictinfo, 0, JOIN_INNER, nullptr));
    });
}

extern "C" void vtj_GetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid)
{
    run_guarded([&] {
        const RelInfo *info = (const RelInfo *)baserel->fdw_private;
        BaseScan b = inspect_base_restrictions(root, baserel, info);

        // The plain path. Without its hetus it costs "never" so that a join path wins; if it
        // is chosen anyway, GetForeignPlan explains which condition to add.
        const double hetus = b.known_hetus >= 0 ? b.known_hetus : kDefaultHetuCount;
        double startup = kRequestCost, total;
        if (needs_hetu(info->table) && !b.has_hetu)
            total = kUnrestrictedCost;
        else
            total = startup + kRequestCost * (hetus / 1000.0) + baserel->rows * kRowCost;
        add_path(baserel, (Path *)create_foreignscan_path(root, baserel, nullptr, baserel->rows, startup, total, NIL,
                                                           nullptr, nullptr, NIL));

        if (!needs_hetu(info->table) || info->table == TableKind::Henkilo)
            return;

        // Parameterized paths: hetu = <outer column> from join clauses ...
        ListCell *lc;
        foreach (lc, baserel->joininfo) {
            RestrictInfo *ri = (RestrictInfo *)lfirst(lc);
            Pushed kind;
            Expr *value;
            if (!join_clause_is_movable_to(ri, baserel))
                continue;
            if (!match_condition(root, baserel, info, ri->clause, &kind, &value) ||
                (kind != Pushed::HetuEq && kind != Pushed::HetuAny))
                continue;
            Relids outer = bms_difference(ri->clause_relids, baserel->relids);
            if (!bms_is_empty(outer))
                add_param_path(root, baserel, info, outer);
        }
        // ... and from equivalence classes (f.hetu = l.hetu usually lands in one).
        List *clauses = generate_implied_equalities_for_column(root, baserel, ec_member_is_hetu, (void *)info,
                                                               baserel->lateral_referencers);
        foreach (lc, clauses) {
            RestrictInfo *ri = (RestrictInfo *)lfirst(lc);
            if (!join_clause_is_movable_to(ri, baserel))
                continue;
            Relids outer = bms_difference(ri->clause_relids, baserel->relids);
            if (!bms_is_empty(outer))
                add_param_path(root, baserel, info, outer);
        }
    });
}

extern "C" ForeignScan *vtj_GetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid, ForeignPath *best_path,
                                           List *tlist, List *scan_clauses, Plan *outer_plan)
{
    return run_guarded([&] {
        const RelInfo *info = (const RelInfo *)baserel->fdw_private;
        List *local = NIL, *exprs = NIL, *kinds = NIL;
        Expr *hetu_clause = nullptr;
        bool has_window = false, has_paiva = false;
        double known_hetus = -1;
        StringInfoData desc;
        initStringInfo(&desc);

        // Prefer hetu = v (join parameters) over hetu = ANY(v) when both are present.
        for (int pass = 0; pass < 2 && !hetu_clause; ++pass) {
            ListCell *lc;
            foreach (lc, scan_clauses) {
                RestrictInfo *ri = (RestrictInfo *)lfirst(lc);
                Pushed kind;
                Expr *value;
                if (ri->pseudoconstant || !match_condition(root, baserel, info, ri->clause, &kind, &value))
                    continue;
                if ((pass == 0 && kind == Pushed::HetuEq) || (pass == 1 && kind == Pushed::HetuAny)) {
                    hetu_clause = ri->clause;
                    exprs = lappend(exprs, value);
                    kinds = lappend(kinds, makeInteger((int)kind));
                    known_hetus = constant_hetu_count(kind, value);
                    appendStringInfoString(&desc, kind == Pushed::HetuEq ? "hetu = …" : "hetu = ANY(…)");
                    break;
                }
            }
        }
        ListCell *lc;
        foreach (lc, scan_clauses) {
            RestrictInfo *ri = (RestrictInfo *)lfirst(lc);
            // The pushed hetu condition is rechecked by the scan itself (only rows of the
            // hetus asked for are returned), so it stays out of the plan's Filter: EXPLAIN
            // must not print hetus.
            if (ri->clause == hetu_clause || ri->pseudoconstant)
                continue;
            local = lappend(local, ri->clause);
            Pushed kind;
            Expr *value;
            if (ri->pseudoconstant || !match_condition(root, baserel, info, ri->clause, &kind, &value))
                continue;
            if (kind == Pushed::HetuEq || kind == Pushed::HetuAny)
                continue;  // a second hetu condition is only checked locally
            exprs = lappend(exprs, value);
            kinds = lappend(kinds, makeInteger((int)kind));
            const char *text = "";
            switch (kind) {
            case Pushed::BookmarkGt:
                text = "kirjausavain > …";
                has_window = true;
                break;
            case Pushed::BookmarkGe:
                text = "kirjausavain >= …";
                has_window = true;
                break;
            case Pushed::TimeGe:
                text = "muutospv >= …";
                has_window = true;
                break;
            case Pushed::TimeGt:
                text = "muutospv > …";
                has_window = true;
                break;
            case Pushed::TimeLt:
                text = "muutospv < …";
                break;
            case Pushed::TimeLe:
                text = "muutospv <= …";
                break;
            case Pushed::PaivaEq:
                text = "paiva = …";
                has_paiva = true;
                break;
            case Pushed::TietoryhmaAny:
                text = "tietoryhma = ANY(…) (locally, before conversion)";
                break;
            default:
                break;
            }
            appendStringInfo(&desc, "%s%s", desc.len ? ", " : "", text);
        }

        const char *name = table_kind_name(info->table);
        if (info->table == TableKind::Kirjausavain && !has_paiva)
            missing(name, "a condition paiva = …", "Add WHERE paiva = '2026-01-31' (a date); the interface answers one day at a time.");
        if (info->table == TableKind::Henkilo && !hetu_clause)
            missing(name, "a condition on hetu: VTJkysely is for looking up single persons, not for bulk use",
                    "Add WHERE hetu = … or hetu = ANY(…) with at most kysely_max_hetut hetus; keep a register current "
                    "with the change interface (vtj.paivita) instead.");
        if (needs_hetu(info->table) && !hetu_clause)
            missing(name, "a condition on hetu",
                    "Add WHERE hetu = … or hetu = ANY(…) (an array, a parameter or ARRAY(SELECT …)), or join on hetu; "
                    "vtj_fdw never downloads a whole register.");
        if (info->table == TableKind::Muutokset && !has_window)
            missing(name, "a window start",
                    "Add WHERE kirjausavain > n (the bookmark saved by the previous run) or muutospv >= t.");

        // Columns the query reads: conversions of the others (jsonb above all) are skipped.
        Bitmapset *attrs = nullptr;
        pull_varattnos((Node *)baserel->reltarget->exprs, baserel->relid, &attrs);
        pull_varattnos((Node *)local, baserel->relid, &attrs);
        List *needed = NIL;
        int x = -1;
        while ((x = bms_next_member(attrs, x)) >= 0) {
            const int attno = x + FirstLowInvalidHeapAttributeNumber;
            if (attno == 0) {  // whole-row reference: every column
                needed = lappend(needed, makeInteger(0));
            } else if (attno > 0) {
                needed = lappend(needed, makeInteger(attno));
            }
        }
        (void)best_path;
        List *priv = list_make5(makeInteger((int)info->table), kinds, needed, makeInteger((int)known_hetus),
                                makeString(desc.data));
        return make_foreignscan(tlist, local, baserel->relid, exprs, priv, NIL, NIL, outer_plan);
    });
}

}  // namespace vtj::pg
