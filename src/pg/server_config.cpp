#include "pg/server_config.hpp"

#include "pg/boundary.hpp"
#include "pg/options.hpp"

#include <cstdlib>
#include <cstring>

namespace vtj::pg {

namespace {

long number(DefElem *def) { return strtol(defGetString(def), nullptr, 10); }

}  // namespace

ServerSettings read_server_settings(Oid server_id)
{
    ForeignServer *server = pg_guard([&] { return GetForeignServer(server_id); });
    ServerSettings s;
    ListCell *cell;
    foreach (cell, server->options) {
        DefElem *def = static_cast<DefElem *>(lfirst(cell));
        const char *name = def->defname;
        if (strcmp(name, "url") == 0)
            s.url = defGetString(def);
        else if (strcmp(name, "kysely_url") == 0)
            s.kysely_url = defGetString(def);
        else if (strcmp(name, "kysely_palvelu") == 0)
            s.kysely_palvelu = defGetString(def);
        else if (strcmp(name, "soso_nimi") == 0)
            s.soso_nimi = defGetString(def);
        else if (strcmp(name, "kysely_max_hetut") == 0)
            s.kysely_max_hetut = number(def);
        else if (strcmp(name, "xroad_client") == 0)
            s.http.xroad_client = defGetString(def);
        else if (strcmp(name, "auth") == 0)
            s.http.auth = strcmp(defGetString(def), "mutp") == 0 ? vtj::AuthScheme::Mutp : vtj::AuthScheme::Basic;
        else if (strcmp(name, "connect_timeout") == 0)
            s.http.connect_timeout_s = number(def);
        else if (strcmp(name, "request_timeout") == 0)
            s.http.request_timeout_s = number(def);
        else if (strcmp(name, "max_retries") == 0)
            s.http.max_retries = static_cast<int>(number(def));
        else if (strcmp(name, "perustiedot_batch_size") == 0)
            s.perustiedot_batch_size = number(def);
        else if (strcmp(name, "muutokset_batch_size") == 0)
            s.muutokset_batch_size = number(def);
        else if (strcmp(name, "parallel_requests") == 0)
            s.parallel_requests = number(def);
        else if (strcmp(name, "max_pages") == 0)
            s.max_pages = number(def);
        else if (strcmp(name, "max_response_mb") == 0)
            s.http.max_response_bytes = static_cast<std::size_t>(number(def)) << 20;
        else if (strcmp(name, "ca_file") == 0)
            s.http.ca_file = defGetString(def);
        else if (strcmp(name, "client_cert") == 0)
            s.http.client_cert = defGetString(def);
        else if (strcmp(name, "client_key") == 0)
            s.http.client_key = defGetString(def);
        else if (strcmp(name, "verify_tls") == 0)
            s.http.verify_tls = defGetBoolean(def);
    }
    s.http.max_parallel = static_cast<int>(s.parallel_requests);
    return s;
}

Oid read_user_mapping(Oid user_id, Oid server_id, ServerSettings &settings)
{
    UserMapping *mapping = pg_guard([&] { return GetUserMapping(user_id, server_id); });  // errors when there is none
    bool has_password = false;
    ListCell *cell;
    foreach (cell, mapping->options) {
        DefElem *def = static_cast<DefElem *>(lfirst(cell));
        if (strcmp(def->defname, "username") == 0)
            settings.http.username = defGetString(def);
        else if (strcmp(def->defname, "password") == 0) {
            settings.http.password = defGetString(def);
            has_password = !settings.http.password.empty();
        }
    }
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
