// The executor of kirjausavain: GET /kirjausavain/{paiva}, one row (the day's first bookmark)
// per scan. The request is sent on the first row, never in BeginForeignScan. State and C zones:
// scan_base.hpp.
#include "core/error.hpp"
#include "core/scan.hpp"  // fetch_kirjausavain
#include "pg/connection_cache.hpp"
#include "pg/scan_base.hpp"

namespace vtj::pg {

namespace {

// The C++ half.
struct KirjausavainCpp : ScanCpp {
    vtj::HttpClient *client = nullptr;  // checked out of the connection cache
    std::uint64_t requests = 0, retries = 0, bytes = 0;  // summed over rescans

    void release() noexcept
    {
        if (!client)
            return;
        requests += client->stats().requests;
        retries += client->stats().retries;
        bytes += client->stats().bytes_received;
        release_client(umid, client);
        client = nullptr;
    }
    ~KirjausavainCpp() override { release(); }
};

// The C half.
struct KirjausavainScan : ScanBase {
    bool pending;  // the row is still to be returned
    int64 kirjausavain;
    DateADT paiva;
};

KirjausavainCpp &cpp_of(ScanBase *s) { return *static_cast<KirjausavainCpp *>(s->cpp); }

// Evaluates paiva = … and asks for the day's bookmark. C++.
void fetch(ForeignScanState *node, KirjausavainScan *s)
{
    Conditions c;
    evaluate_conditions(node, s, &c);
    s->started = true;
    if (c.empty || !c.has_paiva)
        return;
    char day[16];
    format_date(c.paiva, day);
    KirjausavainCpp &cpp = cpp_of(s);
    if (cpp.settings.url.empty())
        throw vtj::Error(vtj::ErrorKind::InvalidValue, "the foreign server has no option \"url\"", "",
                         "Give the server the change interface's url (ending in /api/v1).");
    cpp.client = acquire_client(cpp.umid, cpp.server_id, cpp.user_id, cpp.settings.http);
    s->kirjausavain = vtj::fetch_kirjausavain(*cpp.client, cpp.settings.url, day);
    s->paiva = c.paiva;
    s->pending = true;
}

void begin(ForeignScanState *node, int eflags, const Executor *self)
{
    begin_scan<KirjausavainScan, KirjausavainCpp>(node, eflags, self);
}

TupleTableSlot *iterate(ForeignScanState *node, TupleTableSlot *slot)
{
    KirjausavainScan *s = static_cast<KirjausavainScan *>((ScanBase *)node->fdw_state);
    if (!s->started)
        fetch(node, s);
    if (!s->pending)
        return slot;
    s->pending = false;
    for (int i = 0; i < s->natts; ++i) {
        slot->tts_isnull[i] = true;
        if (s->columns[i] == ColumnKind::Paiva) {
            slot->tts_values[i] = DateADTGetDatum(s->paiva);
            slot->tts_isnull[i] = false;
        } else if (s->columns[i] == ColumnKind::Kirjausavain) {
            slot->tts_values[i] = Int64GetDatum(s->kirjausavain);
            slot->tts_isnull[i] = false;
        }
    }
    return ExecStoreVirtualTuple(slot);
}

void rescan(ScanBase *base)
{
    KirjausavainScan *s = static_cast<KirjausavainScan *>(base);
    if (s->cpp)
        cpp_of(s).release();
    s->started = false;
    s->pending = false;
}

void end(ScanBase *s)
{
    if (s->cpp)
        cpp_of(s).release();  // statistics stay for EXPLAIN ANALYZE; the object goes with the context
}

// The figures of the change interface's tables (scan_muutokset.cpp), with no batches or pages.
void explain_analyze(ScanBase *s, ExplainState *es)
{
    const KirjausavainCpp &cpp = cpp_of(s);
    std::uint64_t requests = cpp.requests, retries = cpp.retries, bytes = cpp.bytes;
    if (cpp.client) {
        requests += cpp.client->stats().requests;
        retries += cpp.client->stats().retries;
        bytes += cpp.client->stats().bytes_received;
    }
    ExplainPropertyInteger("VTJ Batches Run", nullptr, 0, es);
    ExplainPropertyInteger("VTJ Requests", nullptr, static_cast<int64>(requests), es);
    ExplainPropertyInteger("VTJ Pages", nullptr, 0, es);
    ExplainPropertyInteger("VTJ Retries", nullptr, static_cast<int64>(retries), es);
    ExplainPropertyInteger("VTJ Bytes Received", nullptr, static_cast<int64>(bytes), es);
}

}  // namespace

// endpoint, rows, asks_hetus, begin, iterate, rescan, end, explain_verbose, explain_analyze, check_column
extern const Executor kirjausavain_executor = {"GET /kirjausavain/{paiva}", nullptr, false, begin, iterate, rescan,
                                               end, nullptr, explain_analyze, nullptr};

}  // namespace vtj::pg
