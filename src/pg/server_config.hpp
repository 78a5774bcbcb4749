// Reads a server's and a user mapping's options into the core's configuration structs.
// Credentials are read at execution time only, never stored in a plan.
#pragma once

#include "pg/pg_headers.hpp"

#include <string>

#include "core/http.hpp"
#include "core/kysely.hpp"

namespace vtj::pg {

// What a server's options (and, after read_user_mapping, its user mapping's) configure. The
// member initialisers here and in vtj::HttpConfig are the options' defaults, the only place
// they are written: the option table (options.cpp) reads them from a default-constructed
// ServerSettings for the validator's hints, vtj_internal.options() and README's test.
struct ServerSettings {
    std::string url;                 // change interface base (…/api/v1), may be empty
    std::string kysely_url;
    std::string kysely_palvelu = vtj::kysely::kDefaultPalvelu;
    std::string soso_nimi = vtj::kysely::kDefaultSoSoNimi;
    long kysely_max_hetut = 100;
    long perustiedot_batch_size = 1000;
    long muutokset_batch_size = 5000;
    long max_pages = 100000;
    // Also parallel_requests (http.max_parallel) and max_response_mb (http.max_response_bytes).
    vtj::HttpConfig http;            // without credentials unless read_user_mapping() ran
};

// The settings of a server without options: the defaults (constructed once, never freed).
const ServerSettings &default_settings();

// Server options only (no credentials): usable at plan time.
ServerSettings read_server_settings(Oid server_id);

// Adds the credentials of the user mapping for (user, server) to `settings.http`. Enforces the
// postgres_fdw rule that a non-superuser's mapping must carry a password, and sets the limit of
// the answers the backend may hold at once (kInFlightLimitMb unless both `user_id` and the
// current user are superusers). Returns the mapping's OID (the connection cache key).
Oid read_user_mapping(Oid user_id, Oid server_id, ServerSettings &settings);

}  // namespace vtj::pg
