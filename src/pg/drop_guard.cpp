// The guard against dropping vtj_fdw with its data (README "Removing vtj_fdw").
//
// The event trigger vtj_fdw_drop_guard (extension/85_poisto.sql) runs vtj_internal.drop_guard()
// at ddl_command_start of DROP EXTENSION, DROP SCHEMA and DROP OWNED. The trigger belongs to the
// extension, so it must act before anything is dropped: a sql_drop trigger of the extension
// would be gone (dropped with it) by the time sql_drop fires. At ddl_command_start only the
// statement's parse tree tells what it will drop (pg_event_trigger_ddl_commands() is not
// available there, and current_query() may hold several statements), so this function is C: it
// reads the tree, and when the statement would drop vtj_fdw — DROP EXTENSION naming it,
// DROP SCHEMA … CASCADE of its schema, DROP OWNED BY its owner — it calls the SQL check
// vtj_internal.check_drop(tag), which refuses while registers or look-up log rows exist
// and vtj.salli_poisto is off. Every other statement returns at once, without any query.
//
// A C zone: no C++ object lives in these frames (the SQL check may raise an ERROR).
#include "pg/boundary.hpp"

#include <cstring>

namespace {

constexpr const char *kExtension = "vtj_fdw";

bool names_extension(List *objects)
{
    ListCell *c;
    foreach (c, objects) {
        Node *n = static_cast<Node *>(lfirst(c));
        if (IsA(n, String) && strcmp(strVal(n), kExtension) == 0)
            return true;
    }
    return false;
}

bool names_schema(List *objects, Oid schema)
{
    ListCell *c;
    foreach (c, objects) {
        Node *n = static_cast<Node *>(lfirst(c));
        if (IsA(n, String) && OidIsValid(schema) && get_namespace_oid(strVal(n), true) == schema)
            return true;
    }
    return false;
}

// The extension's schema and owner (InvalidOid when they cannot be read). Runs inside SPI.
void extension_schema_owner(Oid ext, Oid *schema, Oid *owner)
{
    *schema = *owner = InvalidOid;
    Oid argtypes[1] = {OIDOID};
    Datum values[1] = {ObjectIdGetDatum(ext)};
    if (SPI_execute_with_args("SELECT e.extnamespace, e.extowner FROM pg_catalog.pg_extension e "
                              "WHERE e.oid OPERATOR(pg_catalog.=) $1",
                              1, argtypes, values, nullptr, true, 1) != SPI_OK_SELECT ||
        SPI_processed != 1)
        return;
    bool isnull = false;
    Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
    if (!isnull)
        *schema = DatumGetObjectId(d);
    d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
    if (!isnull)
        *owner = DatumGetObjectId(d);
}

bool names_role(List *roles, Oid role)
{
    ListCell *c;
    foreach (c, roles) {
        RoleSpec *spec = static_cast<RoleSpec *>(lfirst(c));
        if (OidIsValid(role) && get_rolespec_oid(spec, true) == role)
            return true;
    }
    return false;
}

}  // namespace

VTJ_PG_FUNCTION(vtj_drop_guard)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("vtj_internal.drop_guard() is an event trigger function"),
                        errhint("The event trigger vtj_fdw_drop_guard calls it; it is not called directly.")));
    EventTriggerData *trigdata = reinterpret_cast<EventTriggerData *>(fcinfo->context);
    Node *tree = trigdata->parsetree;
    const Oid ext = get_extension_oid(kExtension, true);
    if (tree == nullptr || !OidIsValid(ext))
        return PointerGetDatum(nullptr);

    // DROP EXTENSION names it; DROP SCHEMA … CASCADE and DROP OWNED need the catalog.
    bool drops = false;
    bool schema_or_owner = false;
    if (IsA(tree, DropStmt)) {
        DropStmt *stmt = reinterpret_cast<DropStmt *>(tree);
        if (stmt->removeType == OBJECT_EXTENSION)
            drops = names_extension(stmt->objects);
        else if (stmt->removeType == OBJECT_SCHEMA && stmt->behavior == DROP_CASCADE)
            schema_or_owner = true;
    } else if (IsA(tree, DropOwnedStmt)) {
        schema_or_owner = true;
    }
    if (!drops && !schema_or_owner)
        return PointerGetDatum(nullptr);

    if (SPI_connect() != SPI_OK_CONNECT)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("vtj_internal.drop_guard: SPI_connect failed")));
    if (schema_or_owner) {
        Oid schema, owner;
        extension_schema_owner(ext, &schema, &owner);
        if (IsA(tree, DropStmt))
            drops = names_schema(reinterpret_cast<DropStmt *>(tree)->objects, schema);
        else
            drops = names_role(reinterpret_cast<DropOwnedStmt *>(tree)->roles, owner);
    }
    if (drops) {
        Oid argtypes[1] = {TEXTOID};
        Datum values[1] = {CStringGetTextDatum(GetCommandTagName(trigdata->tag))};
        // Raises the refusal (2BP01) itself; schema-qualified, no operator: nothing of the
        // caller's search_path is used.
        if (SPI_execute_with_args("SELECT vtj_internal.check_drop($1)", 1, argtypes, values, nullptr, false, 0) !=
            SPI_OK_SELECT)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("vtj_internal.drop_guard: the check did not run")));
    }
    SPI_finish();
    return PointerGetDatum(nullptr);
}
