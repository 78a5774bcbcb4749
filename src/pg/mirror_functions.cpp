// SQL-callable helpers of the mirror's SQL (extension/20_*.sql) that run for every record
// a load types: in SQL they were a tenth of the load (a regular expression and four jsonb
// look-ups per call, four calls per address).
#include "pg/boundary.hpp"

#include <string_view>

#include "core/dates.hpp"

namespace {

constexpr int32 kUnixToPgDays = POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE;

}  // namespace

// vtj_internal.vtj_date(jsonb) → date: the day of an interface date {"arvo": "YYYY-MM-DD", …}; NULL for
// anything else (another shape, a partial date, a day that does not exist) — never an error.
// (C name vtj_pv: 0.1.0's SQL calls it by that name until ALTER EXTENSION UPDATE)
VTJ_PG_FUNCTION(vtj_pv)
{
    Jsonb *jb = PG_GETARG_JSONB_P(0);
    if (!JB_ROOT_IS_OBJECT(jb))
        PG_RETURN_NULL();
    JsonbValue buf;
    JsonbValue *arvo = getKeyJsonValueFromContainer(&jb->root, "arvo", 4, &buf);
    if (arvo == nullptr || arvo->type != jbvString || arvo->val.string.len != 10)
        PG_RETURN_NULL();
    std::int32_t days = 0;
    if (!vtj::parse_date(std::string_view(arvo->val.string.val, 10), days))
        PG_RETURN_NULL();
    PG_RETURN_DATEADT(days - kUnixToPgDays);
}

// vtj_internal.in_transaction_block() → boolean: the CALL runs inside a transaction block — an
// explicit BEGIN, or a string of several statements (psql -c "SET …; CALL …"), which
// PostgreSQL runs as one implicit block. The procedures that commit as they go ask this before
// any work, so the DBA reads why, not PostgreSQL's "invalid transaction termination".
VTJ_PG_FUNCTION(vtj_transaktiolohkossa)
{
    (void)fcinfo;
    PG_RETURN_BOOL(IsTransactionBlock());
}

// vtj_internal.caller() → oid: the role the session acts as outside SECURITY DEFINER functions
// (the session user, or the role of SET ROLE). Inside a SECURITY DEFINER function current_user is
// the function's owner; the checks of what the caller may do (USAGE on a server) need the caller.
VTJ_PG_FUNCTION(vtj_caller)
{
    (void)fcinfo;
    PG_RETURN_OID(GetOuterUserId());
}
