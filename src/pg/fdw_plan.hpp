// What the planner hands the executor: the endpoint, the pushed conditions (their value
// expressions live in ForeignScan.fdw_exprs, so Params, generic plans and nested-loop outer
// values all work), and the columns the query needs. No credentials, no values of hetus.
#pragma once

#include "pg/pg_headers.hpp"
#include "pg/tables.hpp"

namespace vtj::pg {

// One pushed condition; its value expression is the fdw_exprs element at the same position.
enum class Pushed {
    HetuEq = 1,      // hetu = v
    HetuAny = 2,     // hetu = ANY(v), hetu IN (…)
    BookmarkGt = 3,  // kirjausavain > v
    BookmarkGe = 4,  // kirjausavain >= v
    TimeGe = 5,      // muutospv >= v   (window start through GET /kirjausavain/{date})
    TimeGt = 6,      // muutospv > v
    TimeLt = 7,      // muutospv < v    (stops paging early)
    TimeLe = 8,      // muutospv <= v
    PaivaEq = 9,     // paiva = v
    TietoryhmaAny = 10,  // tietoryhma = ANY(v) in perustiedot_ryhmittain: the other groups are not
                         // converted (the person's columns still count every group)
};

// Positions in ForeignScan.fdw_private.
enum PrivateIndex {
    kPrivTable = 0,        // Integer: TableKind
    kPrivPushedKinds = 1,  // List of Integer: Pushed, parallel to fdw_exprs
    kPrivNeededAttrs = 2,  // List of Integer: attnums the query reads
    kPrivKnownHetus = 3,   // Integer: hetus known at plan time (constants), -1 when from a parameter
    kPrivDescription = 4,  // String: the pushed conditions for EXPLAIN, without values
};

extern "C" {
void vtj_GetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
void vtj_GetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
ForeignScan *vtj_GetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid, ForeignPath *best_path,
                                List *tlist, List *scan_clauses, Plan *outer_plan);
}

}  // namespace vtj::pg
