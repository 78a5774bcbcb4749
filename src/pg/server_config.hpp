// Reads a server's and a user mapping's options into the core's configuration structs.
// Credentials are read at execution time only, never stored in a plan.
#pragma once

#include "pg/pg_headers.hpp"

#include <string>

#include "core/http.hpp"

namespace vtj::pg {

struct ServerSettings {
    std::string url;                 // change interface base (…/api/v1), may be empty
    std::string kysely_url;
    std::string kysely_palvelu = "FI/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1";
    std::string soso_nimi = "Perussanoma 3";
    long kysely_max_hetut = 100;
    long perustiedot_batch_size = 1000;
    long muutokset_batch_size = 5000;
    long parallel_requests = 4;
    long max_pages = 100000;
    vtj::HttpConfig http;            // without credentials unless read_user_mapping() ran
};

// Server options only (no credentials): usable at plan time.
ServerSettings read_server_settings(Oid server_id);

// Adds the credentials of the user mapping for (user, server) to `settings.http`. Enforces the
// postgres_fdw rule that a non-superuser's mapping must carry a password, and sets the limit of
// the answers the backend may hold at once (kInFlightLimitMb unless both `user_id` and the
// current user are superusers). Returns the mapping's OID (the connection cache key).
Oid read_user_mapping(Oid user_id, Oid server_id, ServerSettings &settings);

}  // namespace vtj::pg
