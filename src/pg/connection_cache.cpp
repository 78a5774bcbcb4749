#include "pg/connection_cache.hpp"


#include <memory>
#include <unordered_map>

#include "pg/boundary.hpp"
#include "pg/scan_base.hpp"

namespace vtj::pg {

namespace {

struct Entry {
    Oid server_id = InvalidOid;
    Oid user_id = InvalidOid;
    std::vector<std::unique_ptr<vtj::HttpClient>> idle;
    int in_use = 0;
    bool valid = true;
    std::uint64_t requests = 0;  // of clients already returned
    std::uint64_t bytes_received = 0;
};

// Lives for the backend's lifetime; heap memory outside memory contexts on purpose (the
// clients own libcurl handles that must outlive any one query).
std::unordered_map<Oid, Entry> &cache()
{
    static std::unordered_map<Oid, Entry> entries;
    return entries;
}

bool callbacks_registered = false;

// Called by PostgreSQL when a foreign server or user mapping changes. Only sets flags: no
// allocation, no throw, no ereport.
void invalidate_all(Datum, int, uint32) noexcept
{
    for (auto &kv : cache())
        kv.second.valid = false;
}

extern "C" void invalidate_callback(Datum arg, int cacheid, uint32 hashvalue) { invalidate_all(arg, cacheid, hashvalue); }

}  // namespace

vtj::HttpClient *acquire_client(Oid umid, Oid server_id, Oid user_id, const vtj::HttpConfig &config)
{
    if (!callbacks_registered) {
        pg_guard([] {
            CacheRegisterSyscacheCallback(FOREIGNSERVEROID, invalidate_callback, (Datum)0);
            CacheRegisterSyscacheCallback(USERMAPPINGOID, invalidate_callback, (Datum)0);
        });
        callbacks_registered = true;
    }
    Entry &e = cache()[umid];
    if (!e.valid) {
        e.idle.clear();  // retire connections made with the old options
        e.valid = true;
    }
    e.server_id = server_id;
    e.user_id = user_id;
    std::unique_ptr<vtj::HttpClient> client;
    if (!e.idle.empty()) {
        client = std::move(e.idle.back());
        e.idle.pop_back();
    } else {
        client = std::make_unique<vtj::HttpClient>(config);
    }
    client->set_interrupt_check(&pg_interrupt_pending);
    client->set_max_in_flight(config.max_in_flight_bytes);  // the mapping may serve users of both kinds (PUBLIC)
    client->cancel_all();
    client->reset_stats();
    ++e.in_use;
    return client.release();
}

void release_client(Oid umid, vtj::HttpClient *client) noexcept
{
    if (!client)
        return;
    std::unique_ptr<vtj::HttpClient> owned(client);
    owned->cancel_all();
    auto it = cache().find(umid);
    if (it == cache().end())
        return;  // the unique_ptr closes it
    Entry &e = it->second;
    --e.in_use;
    e.requests += owned->stats().requests;
    e.bytes_received += owned->stats().bytes_received;
    if (!e.valid)
        return;
    try {
        e.idle.push_back(std::move(owned));
    } catch (...) {
        // Out of memory while caching: closing the client is the right fallback.
    }
}

std::vector<ConnectionInfo> list_connections()
{
    std::vector<ConnectionInfo> out;
    for (const auto &kv : cache()) {
        const Entry &e = kv.second;
        out.push_back({kv.first, e.server_id, e.user_id, static_cast<int>(e.idle.size()), e.in_use, e.requests,
                       e.bytes_received, e.valid});
    }
    return out;
}

int close_connections(Oid server_id)
{
    int closed = 0;
    for (auto &kv : cache()) {
        Entry &e = kv.second;
        if (server_id != InvalidOid && e.server_id != server_id)
            continue;
        closed += static_cast<int>(e.idle.size());
        e.idle.clear();
    }
    return closed;
}

}  // namespace vtj::pg
