// Small SQL-callable functions: hetu validation, version report, the freed-memory probe.
#include "pg/boundary.hpp"

#include <string>

#include "core/freed_memory.hpp"
#include "core/hetu.hpp"
#include "core/versions.hpp"

#ifndef VTJ_FDW_VERSION
#error "VTJ_FDW_VERSION must come from the build (META.json is the one place the version is written)"
#endif

VTJ_PG_FUNCTION(vtj_hetu_kelpaa)
{
    text *arg = PG_GETARG_TEXT_PP(0);
    std::string_view s(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    PG_RETURN_BOOL(vtj::hetu_valid(s));
}

// vtj_internal.freed_memory_scrubbed(): the probe of core/freed_memory.hpp in this backend
// (_PG_init turned the scrubbing on; test/integration/26_freed_memory.py asks).
VTJ_PG_FUNCTION(vtj_freed_memory_scrubbed)
{
    (void)fcinfo;
    PG_RETURN_BOOL(vtj::freed_memory_is_scrubbed());
}

VTJ_PG_FUNCTION(vtj_versio)
{
    (void)fcinfo;
    std::string s = "vtj_fdw " VTJ_FDW_VERSION ", ";
    s += PG_VERSION_STR;
    s += ", " + vtj::libcurl_version() + ", " + vtj::libxml2_version();
    // cstring_to_text_with_len pallocs and may ereport on OOM: call it guarded, C++ string alive.
    text *result = vtj::pg::pg_guard([&] { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
    PG_RETURN_TEXT_P(result);
}
