// The guard of servers that other roles use (README "Security").
//
// A server's owner need not be a superuser, and other roles put their own credentials into user
// mappings on it; the hetus they look up follow the server's url and kysely_url, protected by the
// TLS files (ca_file, client_cert, client_key) a superuser may have given it. So a role that is
// not a superuser may not repoint (SET/ADD url or kysely_url) such a server nor drop those
// files. Nor may it create or alter a user mapping for another role (or PUBLIC), even as the
// server's owner: otherwise it could drop the other roles' mappings, repoint the server and make
// new mappings for them, whose look-ups (hetus) would then go to its address. The option
// validator cannot tell: it is given only the options the server will have,
// not the ones it had, nor the server. This is therefore an event trigger at ddl_command_start
// (extension/10_fdw.sql): it is given the ALTER SERVER (CREATE/ALTER USER MAPPING) statement
// before it runs, and the catalog
// still has the old state. Calling it loads the library, so nothing needs
// shared_preload_libraries; only a superuser can disable it (ALTER EVENT TRIGGER, or
// session_replication_role, which is superuser-only in PostgreSQL 15), and event triggers do
// not run in single-user mode (where only superusers work).
//
// C zone: no C++ objects with destructors (the body may ereport).
#include "pg/boundary.hpp"

#include <cstring>

// (module.cpp; exported, as PostgreSQL looks them up by name)
extern "C" {
extern PGDLLEXPORT Datum vtj_fdw_handler(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum vtj_fdw_validator(PG_FUNCTION_ARGS);
}

namespace {

// Whether catalog function `fn` is `ours` (the same C function of this library, whatever the
// SQL name a wrapper was created with).
bool is_ours(Oid fn, PGFunction ours)
{
    if (!OidIsValid(fn))
        return false;
    FmgrInfo info;
    fmgr_info(fn, &info);
    return info.fn_addr == ours;
}

// The first option of the statement that needs a superuser when other roles have user mappings
// on the server (nullptr: none); *repoints tells a new address from a dropped TLS file.
const char *guarded_option(const AlterForeignServerStmt *stmt, bool *repoints)
{
    ListCell *cell;
    foreach (cell, stmt->options) {
        const DefElem *def = static_cast<const DefElem *>(lfirst(cell));
        const bool drops = def->defaction == DEFELEM_DROP;
        if (!drops && (strcmp(def->defname, "url") == 0 || strcmp(def->defname, "kysely_url") == 0)) {
            *repoints = true;
            return def->defname;
        }
        if (drops && (strcmp(def->defname, "ca_file") == 0 || strcmp(def->defname, "client_cert") == 0 ||
                      strcmp(def->defname, "client_key") == 0)) {
            *repoints = false;
            return def->defname;
        }
    }
    return nullptr;
}

// User mappings of the server that are not the current user's: PUBLIC's, and those of roles
// whose privileges the current user does not have.
int mappings_of_others(Oid server_id)
{
    Relation rel = table_open(UserMappingRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_user_mapping_umserver, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(server_id));
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 1, &key);
    int others = 0;
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        const Form_pg_user_mapping um = reinterpret_cast<Form_pg_user_mapping>(GETSTRUCT(tuple));
        if (!OidIsValid(um->umuser) || !has_privs_of_role(GetUserId(), um->umuser))
            ++others;
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return others;
}

// Whether `server` (nullptr: none) is a vtj_fdw server the current user owns (else the command
// itself refuses, or it is not ours to judge).
bool owned_vtj_server(const ForeignServer *server)
{
    if (!server || !pg_foreign_server_ownercheck(server->serverid, GetUserId()))
        return false;
    const ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
    return is_ours(fdw->fdwvalidator, vtj_fdw_validator) || is_ours(fdw->fdwhandler, vtj_fdw_handler);
}

// CREATE/ALTER USER MAPPING FOR `role` SERVER `servername` by a role that is not a superuser.
void check_mapping(const RoleSpec *role, const char *servername, bool creates)
{
    if (role->roletype != ROLESPEC_PUBLIC) {
        const Oid target = get_rolespec_oid(role, true);
        if (!OidIsValid(target) || has_privs_of_role(GetUserId(), target))
            return;  // the caller's own (or a role it acts as); a missing role: the command refuses
    }
    ForeignServer *server = GetForeignServerByName(servername, true);
    if (!owned_vtj_server(server))
        return;
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg(creates ? "only a superuser may create a user mapping of another role on server \"%s\""
                                   : "only a superuser may alter a user mapping of another role on server \"%s\"",
                           server->servername),
                    errdetail("A server's owner could otherwise point the server elsewhere and give other roles mappings "
                              "whose look-ups would go there."),
                    errhint("Each role creates its own: CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS "
                            "(username '…', password '…'), or a superuser does it.",
                            quote_identifier(server->servername))));
}

}  // namespace

VTJ_PG_FUNCTION(vtj_server_guard)
{
    if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("vtj_internal.server_guard() runs only as an event trigger")));
    const EventTriggerData *trigger = reinterpret_cast<EventTriggerData *>(fcinfo->context);
    if (!trigger->parsetree || superuser())
        PG_RETURN_VOID();
    if (IsA(trigger->parsetree, CreateUserMappingStmt)) {
        const CreateUserMappingStmt *stmt = reinterpret_cast<const CreateUserMappingStmt *>(trigger->parsetree);
        check_mapping(stmt->user, stmt->servername, true);
        PG_RETURN_VOID();
    }
    if (IsA(trigger->parsetree, AlterUserMappingStmt)) {
        const AlterUserMappingStmt *stmt = reinterpret_cast<const AlterUserMappingStmt *>(trigger->parsetree);
        check_mapping(stmt->user, stmt->servername, false);
        PG_RETURN_VOID();
    }
    if (!IsA(trigger->parsetree, AlterForeignServerStmt))
        PG_RETURN_VOID();
    const AlterForeignServerStmt *stmt = reinterpret_cast<const AlterForeignServerStmt *>(trigger->parsetree);
    bool repoints = false;
    const char *option = guarded_option(stmt, &repoints);
    if (!option)
        PG_RETURN_VOID();
    ForeignServer *server = GetForeignServerByName(stmt->servername, true);
    // Not there, or not the caller's: the command itself refuses (and this says nothing).
    if (!owned_vtj_server(server))
        PG_RETURN_VOID();
    const int others = mappings_of_others(server->serverid);
    if (others == 0)
        PG_RETURN_VOID();
    if (repoints)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("only a superuser may set option \"%s\" of server \"%s\"", option, server->servername),
                        errdetail_plural("The server has %d user mapping of another role (or of PUBLIC): its credentials "
                                         "and the hetus looked up with it would go to the new address.",
                                         "The server has %d user mappings of other roles (or of PUBLIC): their credentials "
                                         "and the hetus looked up with them would go to the new address.",
                                         others, others),
                        errhint("Ask a superuser to change the address, or drop the other roles' user mappings first "
                                "(DROP USER MAPPING FOR … SERVER %s).",
                                quote_identifier(server->servername))));
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("only a superuser may drop option \"%s\" of server \"%s\"", option, server->servername),
                    errdetail_plural("The server has %d user mapping of another role (or of PUBLIC), whose requests the "
                                     "TLS file protects.",
                                     "The server has %d user mappings of other roles (or of PUBLIC), whose requests the "
                                     "TLS file protects.",
                                     others, others),
                    errhint("Ask a superuser to drop it, or drop the other roles' user mappings first "
                            "(DROP USER MAPPING FOR … SERVER %s).",
                            quote_identifier(server->servername))));
    PG_RETURN_VOID();
}
