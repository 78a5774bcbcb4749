// The executor callbacks of every vtj_fdw table. Each hands the scan to the executor of its
// table kind (scan_base.hpp, Executor): scan_muutokset.cpp, scan_kirjausavain.cpp,
// scan_kysely.cpp.
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

extern "C" {
void vtj_BeginForeignScan(ForeignScanState *node, int eflags);
TupleTableSlot *vtj_IterateForeignScan(ForeignScanState *node);
void vtj_ReScanForeignScan(ForeignScanState *node);
void vtj_EndForeignScan(ForeignScanState *node);
void vtj_ExplainForeignScan(ForeignScanState *node, struct ExplainState *es);
}

}  // namespace vtj::pg
