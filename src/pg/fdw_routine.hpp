// The FdwRoutine of vtj_fdw and the backend-wide settings (GUCs).
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

// A palloc'd FdwRoutine whose callbacks are the extern "C" functions of the scan files.
FdwRoutine *make_fdw_routine();

// Defines the vtj.* GUCs; called once from _PG_init.
void register_settings();

}  // namespace vtj::pg
