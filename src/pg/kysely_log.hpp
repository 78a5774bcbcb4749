// The accountability log of VTJkysely look-ups, written by a background worker so that a row is
// durable whatever the caller's transaction does afterwards (kysely_log.cpp has the protocol).
//
// Every function here is a C zone: it may ereport(ERROR) (and waits with CHECK_FOR_INTERRUPTS),
// so call it with no C++ object that has a destructor alive on the stack.
#pragma once

#include "pg/pg_headers.hpp"

namespace vtj::pg {

struct KyselyLog;  // opaque: the DSM segment, the queues and the worker's handle

// What one batch of look-ups writes before any request is sent. Strings in the database's
// encoding; kayttotarkoitus may be NULL.
struct KyselyLogWho {
    const char *tietokantakayttaja;  // session user
    const char *nykyinen_kayttaja;   // current user
    const char *loppukayttaja;
    const char *kayttotarkoitus;
};

// Starts this scan's log worker: refuses a hot standby (25006), a missing free worker slot
// (53000, naming max_worker_processes). The state lives in `cxt` (the query's context); the DSM
// segment belongs to the current resource owner, so an error detaches it and the worker ends.
KyselyLog *kysely_log_open(MemoryContext cxt);

// Writes one row per hetu (paluukoodi NULL: sent, no answer recorded yet), committed by the
// worker, and returns the rows' ids in `ids` (n entries). Returns only once the worker has
// answered "committed"; anything else is an error (55000) and no request may be sent.
void kysely_log_sent(KyselyLog *log, const KyselyLogWho *who, int n, const char *const *hetus, int64 *ids);

// Records the Paluukoodi of answered look-ups (n pairs), committed by the worker, before any
// row is returned. An error (55000) means no row may be returned.
void kysely_log_answered(KyselyLog *log, int n, const int64 *ids, const char *const *paluukoodit);

// Ends the conversation (the worker exits). Safe to call twice; NULL is ignored.
void kysely_log_close(KyselyLog *log);

}  // namespace vtj::pg

// The worker's entry point (bgw_function_name).
extern "C" PGDLLEXPORT void vtj_kyselyloki_worker_main(Datum arg);
