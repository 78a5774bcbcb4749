// What every executor of vtj_fdw shares. An executor (scan_muutokset.cpp for muutokset and
// perustiedot, scan_kirjausavain.cpp, scan_kysely.cpp for vtjkysely.henkilo) is an Executor:
// its callbacks and its lines of EXPLAIN; fdw_scan.cpp's callbacks find it by table kind and,
// after BeginForeignScan, through the state.
//
// The state has two halves. The C half (a struct that begins with ScanBase) is palloc'd in the
// query's context: the pushed conditions' ExprStates, the columns (kinds from the column table
// of tables.hpp, checked once), the memory contexts. The C++ half (a ScanCpp) is owned by a
// reset callback on the query's context, so it is released even when an error skips
// EndForeignScan. Functions marked "C zone" have no C++ object with a destructor on their stack
// (PostgreSQL errors may unwind through them); the others call PostgreSQL only through pg_guard.
#pragma once

#include "pg/pg_headers.hpp"

#include <string>
#include <type_traits>
#include <vector>

#include "pg/fdw_plan.hpp"
#include "pg/server_config.hpp"

namespace vtj::pg {

// Days and microseconds from the Unix epoch (the core's dates and instants) to PostgreSQL's.
constexpr int32 kUnixToPgDays = POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE;  // 10957
constexpr int64 kUnixToPgMicros = static_cast<int64>(kUnixToPgDays) * USECS_PER_DAY;

struct ScanBase;

struct Executor {
    const char *endpoint;  // EXPLAIN VERBOSE: VTJ Endpoint
    const char *rows;      // EXPLAIN VERBOSE: VTJ Rows, nullptr for none
    bool asks_hetus;       // EXPLAIN VERBOSE: VTJ Hetus
    void (*begin)(ForeignScanState *node, int eflags, const Executor *self);
    // The next row into `slot` (cleared, row_cxt reset), or `slot` left empty at the end.
    TupleTableSlot *(*iterate)(ForeignScanState *node, TupleTableSlot *slot);
    void (*rescan)(ScanBase *s);
    void (*end)(ScanBase *s);
    // EXPLAIN VERBOSE after the common lines; EXPLAIN ANALYZE's figures.
    void (*explain_verbose)(ScanBase *s, ExplainState *es);
    void (*explain_analyze)(ScanBase *s, ExplainState *es);
    // C zone: a table kind's own column rules, after the type check; nullptr for none.
    void (*check_column)(const ScanBase *s, Form_pg_attribute att, ColumnKind kind);
};

// The executors (scan_*.cpp).
extern const Executor kirjausavain_executor;
extern const Executor muutokset_executor;
extern const Executor perustiedot_executor;
extern const Executor perustiedot_ryhmittain_executor;
extern const Executor henkilo_executor;

// The C++ half. Its derived classes' destructors only release (noexcept).
struct ScanCpp {
    virtual ~ScanCpp() = default;
    ServerSettings settings;  // no credentials until read_user_mapping()
    Oid umid = InvalidOid;    // the user mapping (the connection cache's key)
    Oid server_id = InvalidOid;
    Oid user_id = InvalidOid;  // whose mapping: the view owner's for a view
};

// The C half.
struct ScanBase {
    const Executor *exec;
    TableKind table;
    List *kinds;               // Pushed, parallel to exprstates
    List *exprstates;
    int natts;
    ColumnKind *columns;       // per attribute
    bool *needed;              // per attribute: the query reads it
    Oid *types;                // per attribute
    long known_hetus;          // from the plan (-1: from a parameter)
    const char *description;   // the pushed conditions, for EXPLAIN
    long parallel;             // parallel_requests, for EXPLAIN
    MemoryContext row_cxt;     // Datums of the current row
    MemoryContext cond_cxt;    // evaluated conditions of the current (re)scan
    MemoryContext query_cxt;
    ScanCpp *cpp;
    MemoryContextCallback callback;
    bool started;              // the current (re)scan has evaluated its conditions
};

// C zone, apart from `new`: the state of a scan, `size` bytes (a struct beginning with
// ScanBase) with the C++ half make_cpp() returns, both halves filled from the plan, the
// columns and the server's options; without EXPLAIN_ONLY also the ExprStates, the contexts and
// the user mapping's credentials.
ScanBase *begin_scan_base(ForeignScanState *node, int eflags, const Executor *exec, Size size, ScanCpp *(*make_cpp)());

template <typename State, typename Cpp>
State *begin_scan(ForeignScanState *node, int eflags, const Executor *exec)
{
    static_assert(std::is_base_of_v<ScanBase, State> && std::is_trivially_default_constructible_v<State>,
                  "a scan's C half is plain data that begins with ScanBase");
    return static_cast<State *>(begin_scan_base(node, eflags, exec, sizeof(State), [] { return static_cast<ScanCpp *>(new Cpp()); }));
}

// C zone: a row into `slot`: every column NULL, then fill(i) for each column the query reads,
// which sets tts_values[i] and clears tts_isnull[i] when the row has a value; the Datums are
// made in row_cxt.
template <typename Fill>
void fill_needed_columns(ScanBase *s, TupleTableSlot *slot, Fill &&fill)
{
    MemoryContext old = MemoryContextSwitchTo(s->row_cxt);
    for (int i = 0; i < s->natts; ++i) {
        slot->tts_isnull[i] = true;
        if (s->needed[i])
            fill(i);
    }
    MemoryContextSwitchTo(old);
}

// EXPLAIN of any scan: the common lines, then the executor's.
void explain_scan(ScanBase *s, ExplainState *es);

// The non-NULL elements of a text array, detoasted (C zone output).
struct TextSet {
    int n;
    text **items;
};

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

// C zone: resets cond_cxt and evaluates every pushed value expression into it (constants,
// parameters, sub-plans, outer values of a nested loop). Refuses a muutospv window start the
// interface cannot be asked for.
void evaluate_conditions(ForeignScanState *node, ScanBase *s, Conditions *c);

// The hetus of the conditions (none when they are empty), validated before any request straight
// from PostgreSQL's memory, in their order with their duplicates. Throws vtj::Error InvalidHetu,
// whose message gives positions only.
std::vector<std::string> checked_hetus(const Conditions &c);

// C zone: the calendar day (Europe/Helsinki, the interface's day) of an instant; "YYYY-MM-DD".
DateADT helsinki_day(TimestampTz t);
void format_date(DateADT d, char out[16]);

// libcurl's progress callback and the HTTP client's waits ask this: true when PostgreSQL wants
// the statement stopped (cancel, statement_timeout, terminate). Reads flags only.
bool pg_interrupt_pending() noexcept;

}  // namespace vtj::pg
