// One cache of HTTP clients per user mapping (postgres_fdw's connection cache, for HTTP):
// keep-alive connections survive across queries; a syscache invalidation of the server or the
// mapping (ALTER SERVER, ALTER USER MAPPING, DROP …) retires them. A scan checks a client out
// and returns it, so two scans of one query (a join) never share in-flight transfers.
#pragma once

#include "pg/pg_headers.hpp"

#include <cstdint>
#include <vector>

#include "core/http.hpp"

namespace vtj::pg {

// Returns a client configured with `config` (credentials included), reusing an idle one.
vtj::HttpClient *acquire_client(Oid umid, Oid server_id, Oid user_id, const vtj::HttpConfig &config);

// Gives the client back; in-flight transfers are dropped. Never throws.
void release_client(Oid umid, vtj::HttpClient *client) noexcept;

struct ConnectionInfo {
    Oid umid;
    Oid server_id;
    Oid user_id;
    int idle;
    int in_use;
    std::uint64_t requests;
    std::uint64_t bytes_received;
    bool valid;
};

std::vector<ConnectionInfo> list_connections();

// Closes the idle clients of `server_id` (InvalidOid: of every server); returns how many.
int close_connections(Oid server_id);

}  // namespace vtj::pg
