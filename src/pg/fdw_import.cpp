// IMPORT FOREIGN SCHEMA: the interfaces' tables have fixed shapes, so the "remote schema" names
// a set of tables: muutosrajapinta (the change interface) or vtjkysely (VTJkysely look-ups).
// PostgreSQL applies LIMIT TO / EXCEPT itself.
#include "pg/pg_headers.hpp"


#include <cstring>

#include "pg/boundary.hpp"

namespace vtj::pg {

namespace {

struct TableDef {
    const char *schema;
    const char *name;
    const char *columns;
};

const TableDef kTables[] = {
    {"muutosrajapinta", "kirjausavain", "paiva date, kirjausavain bigint"},
    {"muutosrajapinta", "muutokset",
     "hetu text, muutospv timestamptz, kirjausavain bigint, jarjestys bigint, tietoryhma text, "
     "muutosattribuutti text, alkupv date, loppupv date, turvakiellon_alaiset_kentat text[], tiedot jsonb, "
     // at the end: a table made before them keeps its column order (and works without them)
     "henkilolla_salattua boolean, henkilon_turvakielto jsonb"},
    {"muutosrajapinta", "perustiedot",
     "hetu text, jarjestys bigint, tietoryhma text, alkupv date, loppupv date, "
     "turvakiellon_alaiset_kentat text[], tiedot jsonb"},
    {"muutosrajapinta", "perustiedot_ryhmittain", "hetu text, jarjestys bigint, tietoryhma text, turvakiellon_alaiset_kentat text[], tiedot jsonb, "
     "henkilolla_salattua boolean, henkilon_turvakielto jsonb"},
    {"vtjkysely", "henkilo",
     "hetu text, paluukoodi text, hetu_voimassa boolean, sukunimi text, etunimet text, aidinkieli text, "
     "kuollut boolean, kuolinpv date, turvakielto boolean, turvakielto_loppupv date, kotikunta text, "
     "kotikunta_nimi text, lahiosoite text, postinumero text, postitoimipaikka text, postiosoite text, vastaus xml"},
};

}  // namespace

}  // namespace vtj::pg

extern "C" List *vtj_ImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid server_oid)
{
    return vtj::pg::run_guarded([&] {
        List *commands = NIL;
        bool known = false;
        ForeignServer *server = GetForeignServer(server_oid);
        for (const auto &t : vtj::pg::kTables) {
            if (strcmp(t.schema, stmt->remote_schema) != 0)
                continue;
            known = true;
            StringInfoData sql;
            initStringInfo(&sql);
            appendStringInfo(&sql, "CREATE FOREIGN TABLE %s.%s (%s) SERVER %s OPTIONS (endpoint %s)",
                             quote_identifier(stmt->local_schema), quote_identifier(t.name), t.columns,
                             quote_identifier(server->servername), quote_literal_cstr(t.name));
            commands = lappend(commands, sql.data);
        }
        if (!known)
            ereport(ERROR, (errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
                            errmsg("vtj_fdw has no remote schema \"%s\"", stmt->remote_schema),
                            errhint("Use IMPORT FOREIGN SCHEMA muutosrajapinta (kirjausavain, muutokset, perustiedot, perustiedot_ryhmittain) "
                                    "or vtjkysely (henkilo).")));
        return commands;
    });
}
