// The backend's store of protection facts read by muutokset scans (protection_store.hpp) and
// its SQL functions.
#include "pg/protection_store.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json_tokens.hpp"
#include "pg/boundary.hpp"

namespace vtj::pg {

namespace {

struct Stored {
    bool censored = false;         // henkilolla_salattua
    bool has_turvakielto = false;  // henkilon_turvakielto is not NULL
    std::vector<std::string> records;  // each TURVAKIELTO record's JSON text, in the order read
};

using Store = std::unordered_map<std::string, Stored>;

Store &store()
{
    static Store *s = new Store();  // never destroyed: a backend's exit needs no cleanup of it
    return *s;
}

void clear_store() noexcept
{
    Store().swap(store());  // frees the nodes and the bucket array
}

void at_transaction_end(XactEvent event, void *)
{
    switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
        clear_store();
        break;
    default:
        break;
    }
}

}  // namespace

void protection_store_add(std::string_view hetu, const vtj::PersonProtection &facts)
{
    if (!facts.any())
        return;
    Stored &s = store()[std::string(hetu)];
    s.censored = s.censored || facts.censored;
    s.has_turvakielto = s.has_turvakielto || facts.has_turvakielto;
    for (const auto &[first, last] : facts.records) {
        const vtj::JsonToken *b = facts.turvakielto.data() + first, *e = facts.turvakielto.data() + last;
        if (vtj::tokens_hold_nul(b, e)) {
            // A record PostgreSQL cannot hold (\u0000) is not kept; the person counts as having a
            // withheld group instead, so that a purge still happens (the scan itself refuses the
            // record when it converts it).
            s.censored = true;
            continue;
        }
        s.records.push_back(vtj::tokens_to_json(b, e));
    }
}

void register_protection_store() { RegisterXactCallback(at_transaction_end, nullptr); }

}  // namespace vtj::pg

// vtj_internal.protection_facts_read() → TABLE (hetu, henkilolla_salattua, henkilon_turvakielto):
// what muutokset scans of this backend read since the last reset, in this transaction, ordered
// by hetu.
VTJ_PG_FUNCTION(vtj_protection_facts_read)
{
    InitMaterializedSRF(fcinfo, 0);  // before any C++ object lives in this frame
    ReturnSetInfo *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
    std::vector<const std::pair<const std::string, vtj::pg::Stored> *> rows;
    rows.reserve(vtj::pg::store().size());
    for (const auto &entry : vtj::pg::store())
        rows.push_back(&entry);
    std::sort(rows.begin(), rows.end(), [](const auto *a, const auto *b) { return a->first < b->first; });
    std::string json;
    for (const auto *row : rows) {
        const vtj::pg::Stored &s = row->second;
        json.clear();
        if (s.has_turvakielto) {
            json += '[';
            for (std::size_t i = 0; i < s.records.size(); ++i) {
                if (i)
                    json += ',';
                json += s.records[i];
            }
            json += ']';
        }
        try {
            vtj::pg::pg_guard([&] {
                Datum values[3];
                bool nulls[3] = {false, false, !s.has_turvakielto};
                values[0] = PointerGetDatum(cstring_to_text_with_len(row->first.data(), static_cast<int>(row->first.size())));
                values[1] = BoolGetDatum(s.censored);
                values[2] = s.has_turvakielto ? DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str())) : (Datum)0;
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            });
        } catch (const vtj::pg::PgError &) {
            // jsonb_in's message could quote the record: replace it with one that names nothing.
            throw vtj::Error(vtj::ErrorKind::BadResponse, "a TURVAKIELTO record read by a change scan cannot be made jsonb",
                             "PostgreSQL refuses a value in it (for example a number out of numeric's range); the record "
                             "is not quoted because it may hold personal data.",
                             "Call vtj_internal.reset_protection_facts() and read the changes again.");
        }
    }
    return (Datum)0;
}

// vtj_internal.reset_protection_facts() → void: forgets what the store holds.
VTJ_PG_FUNCTION(vtj_reset_protection_facts)
{
    (void)fcinfo;
    vtj::pg::clear_store();
    PG_RETURN_VOID();
}
