// Pieces both executors use (fdw_scan.cpp for the change interface, kysely_scan.cpp for
// VTJkysely).
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

// libcurl's progress callback and the HTTP client's waits ask this: true when PostgreSQL wants
// the statement stopped (cancel, statement_timeout, terminate). Reads flags only.
bool pg_interrupt_pending() noexcept;

// C zone: per attribute of `desc`, whether the query reads it, from the plan's list of needed
// attnums (0 = a whole-row reference: every column). Dropped columns are never needed.
bool *needed_attributes(TupleDesc desc, List *needed);

}  // namespace vtj::pg
