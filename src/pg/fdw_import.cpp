// IMPORT FOREIGN SCHEMA: the interfaces' tables have fixed shapes, so the "remote schema" names
// a set of tables: muutosrajapinta (the change interface) or vtjkysely (VTJkysely look-ups). The
// DDL is written from the column table of tables.cpp. PostgreSQL applies LIMIT TO / EXCEPT itself.
#include "pg/pg_headers.hpp"

#include "pg/boundary.hpp"
#include "pg/tables.hpp"

extern "C" List *vtj_ImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid server_oid)
{
    return vtj::pg::run_guarded([&] {
        ForeignServer *server = GetForeignServer(server_oid);
        List *commands = vtj::pg::import_commands(stmt->remote_schema, stmt->local_schema, server->servername);
        if (commands == NIL)
            ereport(ERROR, (errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
                            errmsg("vtj_fdw has no remote schema \"%s\"", stmt->remote_schema),
                            errhint("Use IMPORT FOREIGN SCHEMA muutosrajapinta (kirjausavain, muutokset, perustiedot, perustiedot_ryhmittain) "
                                    "or vtjkysely (henkilo).")));
        return commands;
    });
}
