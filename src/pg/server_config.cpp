#include "pg/server_config.hpp"

#include "pg/boundary.hpp"
#include "pg/options.hpp"

namespace vtj::pg {

const ServerSettings &default_settings()
{
    static const ServerSettings defaults;
    return defaults;
}

namespace {

// Applies each option of `options` (a catalog's, validated when it was written) of catalog
// `context` through its row of the option table.
void apply_options(List *options, Oid context, ServerSettings &settings)
{
    ListCell *cell;
    foreach (cell, options) {
        DefElem *def = static_cast<DefElem *>(lfirst(cell));
        const OptionSpec *spec = find_option(def->defname, context);
        if (spec && spec->field.apply)
            spec->field.apply(settings, def);
    }
}

}  // namespace

ServerSettings read_server_settings(Oid server_id)
{
    ForeignServer *server = pg_guard([&] { return GetForeignServer(server_id); });
    ServerSettings s;
    apply_options(server->options, ForeignServerRelationId, s);
    return s;
}

Oid read_user_mapping(Oid user_id, Oid server_id, ServerSettings &settings)
{
    UserMapping *mapping = pg_guard([&] { return GetUserMapping(user_id, server_id); });  // errors when there is none
    apply_options(mapping->options, UserMappingRelationId, settings);  // username, password
    // (No server option sets a credential: what is there came from the mapping.)
    const bool has_password = !settings.http.password.empty();
    // postgres_fdw's rule: a non-superuser must bring their own secret, so that nobody borrows
    // credentials they were not given.
    if (!has_password && !pg_guard([&] { return superuser_arg(user_id); }))
        throw vtj::Error(vtj::ErrorKind::Prohibited, "password is required",
                         "Non-superusers must give a password in the user mapping.",
                         "ALTER USER MAPPING … OPTIONS (ADD password '…') with the credentials DVV issued.");
    if (settings.http.username.empty())
        settings.http.auth = vtj::AuthScheme::None;
    // The answers this backend holds at once, whatever the server's options allow (a superuser
    // may have set them): bounded unless both the mapping's user and the current user are
    // superusers.
    const bool unbounded = pg_guard([&] { return superuser_arg(user_id) && superuser(); });
    settings.http.max_in_flight_bytes = unbounded ? 0 : static_cast<std::size_t>(kInFlightLimitMb) << 20;
    return mapping->umid;
}

}  // namespace vtj::pg
