#include "pg/fdw_routine.hpp"

extern "C" {
#include "utils/guc.h"
}

#include "pg/boundary.hpp"
#include "pg/settings.hpp"

namespace vtj::pg {

namespace {

extern "C" void vtj_get_rel_size(PlannerInfo *, RelOptInfo *, Oid)
{
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("vtj_fdw cannot scan foreign tables yet")));
}

extern "C" void vtj_get_paths(PlannerInfo *, RelOptInfo *, Oid) {}

}  // namespace

FdwRoutine *make_fdw_routine()
{
    FdwRoutine *routine = makeNode(FdwRoutine);
    routine->GetForeignRelSize = vtj_get_rel_size;
    routine->GetForeignPaths = vtj_get_paths;
    return routine;
}

char *setting_loppukayttaja = nullptr;
char *setting_kayttotarkoitus = nullptr;

void register_settings()
{
    DefineCustomStringVariable("vtj.loppukayttaja", "End user named in VTJkysely requests (Loppukayttaja).",
                               "When unset, the session user's name is sent.", &setting_loppukayttaja, "",
                               PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("vtj.kayttotarkoitus", "Purpose of VTJkysely look-ups, written to vtj.kyselyloki.",
                               nullptr, &setting_kayttotarkoitus, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("vtj");
}

}  // namespace vtj::pg
