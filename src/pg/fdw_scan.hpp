// Executor callbacks of the change-interface tables (kirjausavain, muutokset, perustiedot).
#pragma once

#include "pg/pg_headers.hpp"

#include <cstdint>

namespace vtj::pg {

extern "C" {
void vtj_BeginForeignScan(ForeignScanState *node, int eflags);
TupleTableSlot *vtj_IterateForeignScan(ForeignScanState *node);
void vtj_ReScanForeignScan(ForeignScanState *node);
void vtj_EndForeignScan(ForeignScanState *node);
void vtj_ExplainForeignScan(ForeignScanState *node, struct ExplainState *es);
}

// The bookmark up to which the last complete muutokset scan of this backend brought every
// batch (vtj.viimeisin_kirjausavain()); false when there was none.
bool last_final_bookmark(std::int64_t *bookmark);

}  // namespace vtj::pg
