#include "pg/scan_common.hpp"

namespace vtj::pg {

bool pg_interrupt_pending() noexcept { return QueryCancelPending || ProcDiePending; }

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

}  // namespace vtj::pg
