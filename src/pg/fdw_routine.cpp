#include "pg/fdw_routine.hpp"


#include "pg/boundary.hpp"
#include "pg/fdw_plan.hpp"
#include "pg/fdw_scan.hpp"
#include "pg/settings.hpp"

extern "C" List *vtj_ImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid server_oid);

namespace vtj::pg {

namespace {

// ANALYZE would have to download a register to sample it: skip it (the planner uses the
// estimates of fdw_plan.cpp instead).
extern "C" bool vtj_AnalyzeForeignTable(Relation, AcquireSampleRowsFunc *, BlockNumber *) { return false; }

}  // namespace

FdwRoutine *make_fdw_routine()
{
    FdwRoutine *routine = makeNode(FdwRoutine);
    routine->GetForeignRelSize = vtj_GetForeignRelSize;
    routine->GetForeignPaths = vtj_GetForeignPaths;
    routine->GetForeignPlan = vtj_GetForeignPlan;
    routine->BeginForeignScan = vtj_BeginForeignScan;
    routine->IterateForeignScan = vtj_IterateForeignScan;
    routine->ReScanForeignScan = vtj_ReScanForeignScan;
    routine->EndForeignScan = vtj_EndForeignScan;
    routine->ExplainForeignScan = vtj_ExplainForeignScan;
    routine->AnalyzeForeignTable = vtj_AnalyzeForeignTable;
    routine->ImportForeignSchema = vtj_ImportForeignSchema;
    return routine;
}

char *setting_loppukayttaja = nullptr;
char *setting_kayttotarkoitus = nullptr;
bool setting_salli_poisto = false;
int setting_work_mem_kb = 256 * 1024;
int setting_paivitys_era = 50000;

void register_settings()
{
    DefineCustomStringVariable("vtj.loppukayttaja", "End user named in VTJkysely requests (Loppukayttaja).",
                               "When unset, the session user's name is sent.", &setting_loppukayttaja, "",
                               PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("vtj.kayttotarkoitus", "Purpose of VTJkysely look-ups, written to vtj.kyselyloki.",
                               nullptr, &setting_kayttotarkoitus, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Read by vtj_internal.check_drop (the guard of DROP EXTENSION, drop_guard.cpp).
    DefineCustomBoolVariable("vtj.salli_poisto", "Lets DROP EXTENSION vtj_fdw delete registers and the look-up log.",
                             "Off: a statement that would drop vtj_fdw while it holds registers or look-up log rows is refused.",
                             &setting_salli_poisto, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Read by vtj_internal.statement_memory (extension/20_04_runtime.sql) as current_setting('vtj.work_mem'):
    // the work_mem of a load's and a change run's statements, only ever raised. (Defined here
    // because the prefix vtj is reserved: an undefined vtj.* setting would be refused.)
    DefineCustomIntVariable("vtj.work_mem", "work_mem of the statements of vtj.lataa_perustiedot and vtj.paivita.",
                            "Only raises work_mem; for speed only (rows are censored before they are sorted).",
                            &setting_work_mem_kb, 256 * 1024, 64, MAX_KILOBYTES, PGC_USERSET, GUC_UNIT_KB,
                            nullptr, nullptr, nullptr);
    // Read by vtj_internal.paivita_rajat (extension/20_12_change_run.sql): the staged changes
    // per slice of a change run's apply, log and typed rows, so that a long outage's window is
    // not one statement that sorts hundreds of megabytes.
    DefineCustomIntVariable("vtj.paivitys_era", "Staged changes per slice of a vtj.paivita run's apply.",
                            "A person's changes are never split; the slices are in the run's one transaction.",
                            &setting_paivitys_era, 50000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("vtj");
}

}  // namespace vtj::pg
