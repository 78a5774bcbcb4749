// SQL functions about the HTTP connections and the last change scan:
// vtj.yhteydet(), vtj.katkaise(), vtj.viimeisin_kirjausavain().
#include "pg/boundary.hpp"


#include <vector>

#include "pg/connection_cache.hpp"
#include "pg/scan_muutokset.hpp"

namespace {

// C zone: one tuplestore row per cached user mapping.
void fill_connections(FunctionCallInfo fcinfo, const vtj::pg::ConnectionInfo *rows, int n)
{
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
    for (int i = 0; i < n; ++i) {
        const vtj::pg::ConnectionInfo &c = rows[i];
        ForeignServer *server = GetForeignServerExtended(c.server_id, FSV_MISSING_OK);
        Datum values[7];
        bool nulls[7] = {false, false, false, false, false, false, false};
        if (server)
            values[0] = CStringGetTextDatum(server->servername);
        else
            nulls[0] = true;
        const char *user = GetUserNameFromId(c.user_id, true);
        if (user)
            values[1] = CStringGetTextDatum(user);
        else
            nulls[1] = true;
        values[2] = Int32GetDatum(c.idle);
        values[3] = Int32GetDatum(c.in_use);
        values[4] = Int64GetDatum(static_cast<int64>(c.requests));
        values[5] = Int64GetDatum(static_cast<int64>(c.bytes_received));
        values[6] = BoolGetDatum(c.valid);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
}

}  // namespace

VTJ_PG_FUNCTION(vtj_yhteydet)
{
    // Copy into palloc'd memory first, then build tuples in a C zone.
    std::vector<vtj::pg::ConnectionInfo> list = vtj::pg::list_connections();
    const int n = static_cast<int>(list.size());
    auto *rows = vtj::pg::pg_guard([&] {
        return (vtj::pg::ConnectionInfo *)palloc(sizeof(vtj::pg::ConnectionInfo) * (n > 0 ? n : 1));
    });
    for (int i = 0; i < n; ++i)
        rows[i] = list[i];
    vtj::pg::pg_guard([&] { fill_connections(fcinfo, rows, n); });
    return (Datum)0;
}

VTJ_PG_FUNCTION(vtj_katkaise)
{
    Oid server_id = InvalidOid;
    if (!PG_ARGISNULL(0)) {
        char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
        server_id = GetForeignServerByName(name, false)->serverid;
    }
    PG_RETURN_INT32(vtj::pg::close_connections(server_id));
}

VTJ_PG_FUNCTION(vtj_viimeisin_kirjausavain)
{
    (void)fcinfo;
    std::int64_t bookmark = 0;
    if (!vtj::pg::last_final_bookmark(&bookmark))
        PG_RETURN_NULL();
    PG_RETURN_INT64(bookmark);
}
