// Module entry points: magic block, _PG_init, the FDW handler and the option validator.
#include "pg/boundary.hpp"
#include "pg/fdw_routine.hpp"
#include "pg/options.hpp"
#include "pg/protection_store.hpp"
#include "core/freed_memory.hpp"

#include <curl/curl.h>

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void _PG_init(void)
{
    vtj::pg::run_guarded([] {
        // Before the first answer is read: memory the backend frees is scrubbed from now on, so
        // that no answer's bytes (uncensored) are handed out again to a buffer PostgreSQL writes
        // whole to a spill file (core/freed_memory.hpp; docs/cpp-boundary.md#freed-memory-is-scrubbed).
        if (!vtj::scrub_freed_memory())
            throw vtj::Error(vtj::ErrorKind::Internal, "could not make the allocator scrub freed memory",
                             "glibc's mallopt(M_PERTURB) was refused");
        // Once per backend, before any thread exists; libcurl's allocator stays malloc
        // (docs/cpp-boundary.md#libraries-keep-their-own-allocators: pointing it at palloc crashes).
        if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
            throw vtj::Error(vtj::ErrorKind::Internal, "could not initialise libcurl");
        vtj::pg::register_settings();
        vtj::pg::register_protection_store();
    });
}

VTJ_PG_FUNCTION(vtj_fdw_handler)
{
    (void)fcinfo;
    PG_RETURN_POINTER(vtj::pg::make_fdw_routine());
}

VTJ_PG_FUNCTION(vtj_fdw_validator)
{
    List *options = untransformRelOptions(PG_GETARG_DATUM(0));
    const Oid catalog = PG_GETARG_OID(1);
    vtj::pg::validate_options(options, catalog);
    PG_RETURN_VOID();
}
