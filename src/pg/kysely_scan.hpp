// Executor of vtjkysely.henkilo: VTJkysely look-ups (SOAP/XML), one request per hetu, every
// look-up committed to vtj.kyselyloki by the log worker (kysely_log.hpp) before its request.
//
// fdw_scan.cpp's callbacks hand a henkilo scan to these functions (they run inside its
// run_guarded). The two executors' states share their first field, the TableKind, which is how
// the later callbacks tell them apart.
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

void kysely_begin(ForeignScanState *node, int eflags);
TupleTableSlot *kysely_iterate(ForeignScanState *node);
void kysely_rescan(ForeignScanState *node);
void kysely_end(ForeignScanState *node);
void kysely_explain(ForeignScanState *node, struct ExplainState *es);

// True when fdw_state is a henkilo scan's state (kysely_begin made it).
bool is_kysely_state(const void *fdw_state) noexcept;

}  // namespace vtj::pg
