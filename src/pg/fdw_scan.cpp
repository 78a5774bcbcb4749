// The executor callbacks: BeginForeignScan picks the executor of the plan's table kind; the
// later callbacks find it in the scan's state (ScanBase::exec). Every callback runs under the
// error boundary (boundary.hpp).
#include "pg/fdw_scan.hpp"

#include "pg/boundary.hpp"
#include "pg/scan_base.hpp"

namespace vtj::pg {

namespace {

// Indexed by TableKind.
const Executor *const kExecutors[kTableKinds] = {
    &kirjausavain_executor,            // TableKind::Kirjausavain
    &muutokset_executor,               // TableKind::Muutokset
    &perustiedot_executor,             // TableKind::Perustiedot
    &henkilo_executor,                 // TableKind::Henkilo
    &perustiedot_ryhmittain_executor,  // TableKind::PerustiedotRyhmittain
};

ScanBase *state_of(ForeignScanState *node) { return static_cast<ScanBase *>(node->fdw_state); }

}  // namespace

extern "C" void vtj_BeginForeignScan(ForeignScanState *node, int eflags)
{
    run_guarded([&] {
        const List *priv = ((ForeignScan *)node->ss.ps.plan)->fdw_private;
        const Executor *exec = kExecutors[intVal(list_nth(priv, kPrivTable))];
        exec->begin(node, eflags, exec);
    });
}

extern "C" TupleTableSlot *vtj_IterateForeignScan(ForeignScanState *node)
{
    return run_guarded([&] {
        ScanBase *s = state_of(node);
        TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
        ExecClearTuple(slot);
        MemoryContextReset(s->row_cxt);
        return s->exec->iterate(node, slot);
    });
}

extern "C" void vtj_ReScanForeignScan(ForeignScanState *node)
{
    run_guarded([&] { state_of(node)->exec->rescan(state_of(node)); });
}

extern "C" void vtj_EndForeignScan(ForeignScanState *node)
{
    run_guarded([&] {
        if (ScanBase *s = state_of(node))
            s->exec->end(s);
    });
}

extern "C" void vtj_ExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
    run_guarded([&] {
        if (ScanBase *s = state_of(node))
            explain_scan(s, es);
    });
}

}  // namespace vtj::pg
