// The accountability log of VTJkysely look-ups, written by a dynamic background worker.
//
// Why a worker: DVV requires the organisation to know who looked up whom. A row written in the
// caller's own transaction disappears with a ROLLBACK, a later error or a cancel, although DVV
// answered and the caller saw the data. The worker writes in a transaction of its own and
// commits (synchronous_commit on) before the scan goes on, so a row, once confirmed, stays
// whatever the caller's transaction does; the caller's transaction writes nothing, so a
// read-only transaction can look people up. No shared_preload_libraries entry is needed.
//
// Protocol. On its first look-up a henkilo scan creates a DSM segment holding a LogShared header
// and two shm_mq queues (scan -> worker, worker -> scan) and registers a dynamic background
// worker (bgw_library_name "vtj_fdw", bgw_function_name vtj_kyselyloki_worker_main, the
// segment's handle as bgw_main_arg, the scan's PID as bgw_notify_pid). The worker attaches to
// the segment and connects to the caller's database as the extension's owner
// (BackgroundWorkerInitializeConnectionByOid; in PostgreSQL 15 that role must be able to log in).
// Then, for every batch of look-ups (a scan and each of its rescans):
//
//   scan -> worker  'S' who (session user, current user, loppukayttaja, kayttotarkoitus) and n
//                   hetus: "about to send these"                       BEFORE any request
//   worker          one transaction: n x vtj.kyselyloki_kirjaa(...) (paluukoodi NULL); COMMIT
//   worker -> scan  'C' n row ids ("committed")      or 'E' sqlstate, message (nothing committed)
//   ... the scan sends the requests and reads the answers ...
//   scan -> worker  'A' n (id, Paluukoodi) of the answers read         BEFORE any row is returned
//   worker          one transaction: n x vtj.kyselyloki_vastaus(id, paluukoodi); COMMIT
//   worker -> scan  'C' n                             or 'E' sqlstate, message
//
// The scan waits for each reply in shm_mq_receive (which waits on the latch and runs
// CHECK_FOR_INTERRUPTS, so a cancel or terminate is honoured while waiting); only 'C' lets it go
// on. At the end of the scan it detaches the segment; the worker, finding the queue detached,
// exits. When the scan errors or is cancelled, its resource owner detaches the segment and the
// worker exits the same way (after committing what it was writing, if it was: the log may
// over-report, never under-report). When the worker dies, fails to connect or cannot write, the
// scan finds the queue detached (or an 'E') and raises an error: before the requests, so
// nothing is sent; after them, so no row is returned.
//
// The worker runs no code of the caller's: it reads a fixed message format and calls the two
// log functions of schema vtj, whose EXECUTE is revoked from PUBLIC. Its errors reach its own
// server-log line and the caller with their message and SQLSTATE only (a DETAIL could quote a
// row, and so a hetu).
#include "pg/kysely_log.hpp"

namespace vtj::pg {

namespace {

constexpr uint32 kMagic = 0x76746a4c;  // "vtjL"
constexpr Size kQueueBytes = 64 * 1024;

struct LogShared {
    uint32 magic;
    Oid database;
    Oid owner;
    Size to_worker_offset;
    Size to_scan_offset;
    Size queue_bytes;
};

const char *const kHintLog =
    "vtj_fdw writes every VTJkysely look-up to vtj.kyselyloki through a background worker that connects as the "
    "extension's owner; see the server log.";

void put_string(StringInfo buf, const char *s)
{
    if (!s) {
        pq_sendint32(buf, static_cast<uint32>(-1));
        return;
    }
    const int len = static_cast<int>(strlen(s));
    pq_sendint32(buf, static_cast<uint32>(len));
    pq_sendbytes(buf, s, len);
}

// NULL for a NULL string; palloc'd in CurrentMemoryContext.
char *get_string(StringInfo buf)
{
    const int len = static_cast<int>(pq_getmsgint(buf, 4));
    if (len < 0)
        return nullptr;
    return pnstrdup(pq_getmsgbytes(buf, len), len);
}

Oid extension_owner()
{
    Relation rel = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("vtj_fdw"));
    SysScanDesc scan = systable_beginscan(rel, ExtensionNameIndexId, true, nullptr, 1, &key);
    HeapTuple tup = systable_getnext(scan);
    const Oid owner = HeapTupleIsValid(tup) ? ((Form_pg_extension)GETSTRUCT(tup))->extowner : InvalidOid;
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return owner;
}

}  // namespace

struct KyselyLog {
    dsm_segment *seg;
    shm_mq_handle *to_worker;
    shm_mq_handle *to_scan;
    BackgroundWorkerHandle *worker;
    bool closed;
};

namespace {

[[noreturn]] void log_failed(const char *when)
{
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("VTJkysely look-up refused: vtj_fdw's log worker ended before it confirmed %s", when),
                    errdetail("A look-up is made only once its row in vtj.kyselyloki is committed."),
                    errhint("%s The owner must be able to log in (PostgreSQL 15 requires that of a background worker).",
                            kHintLog)));
    pg_unreachable();
}

// Sends msg and waits for the worker's reply; returns it (palloc'd) in `reply`. ereports on
// anything but "committed".
void converse(KyselyLog *log, StringInfo msg, StringInfo reply, const char *when)
{
    if (!log || log->closed)
        log_failed(when);
    if (shm_mq_send(log->to_worker, msg->len, msg->data, false, true) != SHM_MQ_SUCCESS)
        log_failed(when);
    Size len = 0;
    void *data = nullptr;
    if (shm_mq_receive(log->to_scan, &len, &data, false) != SHM_MQ_SUCCESS)
        log_failed(when);
    resetStringInfo(reply);
    appendBinaryStringInfo(reply, static_cast<const char *>(data), static_cast<int>(len));
    if (reply->len < 1)
        log_failed(when);
    const char type = pq_getmsgbyte(reply);
    if (type == 'E') {
        const int sqlstate = static_cast<int>(pq_getmsgint(reply, 4));
        const char *message = get_string(reply);
        // The log functions of this library's SQL are missing: the new library is installed
        // but the database's extension was not updated yet (its SQL logs another way).
        if (sqlstate == ERRCODE_UNDEFINED_FUNCTION)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("VTJkysely look-up refused: vtj_fdw in this database is older than its library "
                                   "(%s), so the look-up could not be logged", VTJ_FDW_VERSION),
                            errdetail("The log worker failed with SQLSTATE %s: %s", unpack_sql_state(sqlstate),
                                      message ? message : "?"),
                            errhint("Run ALTER EXTENSION vtj_fdw UPDATE in this database; until then VTJkysely "
                                    "look-ups are refused (the change interface's tables and the mirror work).")));
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("VTJkysely look-up refused: vtj.kyselyloki could not be written (%s)", when),
                        errdetail("The log worker failed with SQLSTATE %s: %s", unpack_sql_state(sqlstate),
                                  message ? message : "?"),
                        errhint("%s", kHintLog)));
    }
    if (type != 'C')
        log_failed(when);
}

}  // namespace

KyselyLog *kysely_log_open(MemoryContext cxt)
{
    if (RecoveryInProgress())
        ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                        errmsg("VTJkysely look-ups cannot be made on a standby server"),
                        errdetail("Every look-up must first be written to vtj.kyselyloki, and a standby cannot write."),
                        errhint("Make VTJkysely look-ups on the primary server.")));
    const Oid owner = extension_owner();
    if (!OidIsValid(owner))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("VTJkysely look-up refused: the extension vtj_fdw is not installed in this database"),
                        errhint("CREATE EXTENSION vtj_fdw creates vtj.kyselyloki, the log every look-up is written to.")));

    MemoryContext old = MemoryContextSwitchTo(cxt);
    KyselyLog *log = static_cast<KyselyLog *>(palloc0(sizeof(KyselyLog)));
    const Size header = MAXALIGN(sizeof(LogShared));
    log->seg = dsm_create(header + 2 * kQueueBytes, 0);
    char *base = static_cast<char *>(dsm_segment_address(log->seg));
    LogShared *shared = reinterpret_cast<LogShared *>(base);
    shared->magic = kMagic;
    shared->database = MyDatabaseId;
    shared->owner = owner;
    shared->to_worker_offset = header;
    shared->to_scan_offset = header + kQueueBytes;
    shared->queue_bytes = kQueueBytes;
    shm_mq *to_worker = shm_mq_create(base + shared->to_worker_offset, kQueueBytes);
    shm_mq *to_scan = shm_mq_create(base + shared->to_scan_offset, kQueueBytes);
    shm_mq_set_sender(to_worker, MyProc);
    shm_mq_set_receiver(to_scan, MyProc);

    BackgroundWorker w;
    memset(&w, 0, sizeof w);
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;
    snprintf(w.bgw_library_name, BGW_MAXLEN, "vtj_fdw");
    snprintf(w.bgw_function_name, BGW_MAXLEN, "vtj_kyselyloki_worker_main");
    snprintf(w.bgw_name, BGW_MAXLEN, "vtj_fdw look-up log for PID %d", MyProcPid);
    snprintf(w.bgw_type, BGW_MAXLEN, "vtj_fdw look-up log");
    w.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(log->seg));
    w.bgw_notify_pid = MyProcPid;
    if (!RegisterDynamicBackgroundWorker(&w, &log->worker)) {
        dsm_detach(log->seg);
        log->seg = nullptr;
        log->closed = true;
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
                        errmsg("VTJkysely look-up refused: no free background worker slot for vtj_fdw's look-up log"),
                        errdetail("Every look-up is first written to vtj.kyselyloki by a background worker of its own; "
                                  "no request was sent."),
                        errhint("Raise max_worker_processes (now %d; it needs a restart) or make fewer look-ups at once.",
                                max_worker_processes)));
    }
    log->to_worker = shm_mq_attach(to_worker, log->seg, log->worker);
    log->to_scan = shm_mq_attach(to_scan, log->seg, log->worker);
    MemoryContextSwitchTo(old);
    return log;
}

void kysely_log_sent(KyselyLog *log, const KyselyLogWho *who, int n, const char *const *hetus, int64 *ids)
{
    StringInfoData msg, reply;
    initStringInfo(&msg);
    initStringInfo(&reply);
    pq_sendbyte(&msg, 'S');
    put_string(&msg, who->tietokantakayttaja);
    put_string(&msg, who->nykyinen_kayttaja);
    put_string(&msg, who->loppukayttaja);
    put_string(&msg, who->kayttotarkoitus);
    pq_sendint32(&msg, static_cast<uint32>(n));
    for (int i = 0; i < n; ++i)
        put_string(&msg, hetus[i]);
    converse(log, &msg, &reply, "the look-ups before they were sent");
    if (static_cast<int>(pq_getmsgint(&reply, 4)) != n)
        log_failed("every look-up before they were sent");
    for (int i = 0; i < n; ++i)
        ids[i] = pq_getmsgint64(&reply);
    pfree(msg.data);
    pfree(reply.data);
}

void kysely_log_answered(KyselyLog *log, int n, const int64 *ids, const char *const *paluukoodit)
{
    if (n == 0)
        return;
    StringInfoData msg, reply;
    initStringInfo(&msg);
    initStringInfo(&reply);
    pq_sendbyte(&msg, 'A');
    pq_sendint32(&msg, static_cast<uint32>(n));
    for (int i = 0; i < n; ++i) {
        pq_sendint64(&msg, static_cast<uint64>(ids[i]));
        put_string(&msg, paluukoodit[i]);
    }
    converse(log, &msg, &reply, "the answers' Paluukoodi before any row was returned");
    if (static_cast<int>(pq_getmsgint(&reply, 4)) != n)
        log_failed("every answer before any row was returned");
    pfree(msg.data);
    pfree(reply.data);
}

void kysely_log_close(KyselyLog *log)
{
    if (!log || log->closed)
        return;
    log->closed = true;
    if (log->seg)
        dsm_detach(log->seg);  // detaches the queues: the worker sees it and exits
    log->seg = nullptr;
}

}  // namespace vtj::pg

// ---- the worker -------------------------------------------------------------------------------

namespace {

using vtj::pg::get_string;

Oid g_argtypes_sent[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
Oid g_argtypes_answered[2] = {INT8OID, TEXTOID};

// One message, one committed transaction; the reply in `reply`.
void handle(StringInfo msg, StringInfo reply)
{
    const char type = static_cast<char>(pq_getmsgbyte(msg));
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "SPI_connect failed");
    PushActiveSnapshot(GetTransactionSnapshot());
    pq_sendbyte(reply, 'C');
    if (type == 'S') {
        Datum values[5];
        char nulls[5] = {' ', ' ', ' ', ' ', ' '};
        for (int i = 0; i < 4; ++i) {
            char *s = get_string(msg);
            values[i] = s ? CStringGetTextDatum(s) : (Datum)0;
            nulls[i] = s ? ' ' : 'n';
        }
        const int n = static_cast<int>(pq_getmsgint(msg, 4));
        SPIPlanPtr plan = SPI_prepare("SELECT vtj.kyselyloki_kirjaa($1, $2, $3, $4, $5)", 5, g_argtypes_sent);
        if (!plan)
            elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        pq_sendint32(reply, static_cast<uint32>(n));
        for (int i = 0; i < n; ++i) {
            char *hetu = get_string(msg);
            if (!hetu)
                elog(ERROR, "vtj_fdw look-up log: a look-up without a hetu");
            values[4] = CStringGetTextDatum(hetu);
            nulls[4] = ' ';
            if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
                elog(ERROR, "vtj_fdw look-up log: vtj.kyselyloki_kirjaa returned no row");
            bool isnull = false;
            const Datum id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
            if (isnull)
                elog(ERROR, "vtj_fdw look-up log: vtj.kyselyloki_kirjaa returned NULL");
            pq_sendint64(reply, static_cast<uint64>(DatumGetInt64(id)));
        }
    } else if (type == 'A') {
        const int n = static_cast<int>(pq_getmsgint(msg, 4));
        SPIPlanPtr plan = SPI_prepare("SELECT vtj.kyselyloki_vastaus($1, $2)", 2, g_argtypes_answered);
        if (!plan)
            elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        for (int i = 0; i < n; ++i) {
            Datum values[2];
            char nulls[2] = {' ', ' '};
            values[0] = Int64GetDatum(pq_getmsgint64(msg));
            char *koodi = get_string(msg);
            values[1] = koodi ? CStringGetTextDatum(koodi) : (Datum)0;
            nulls[1] = koodi ? ' ' : 'n';
            if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_SELECT)
                elog(ERROR, "vtj_fdw look-up log: vtj.kyselyloki_vastaus failed");
        }
        pq_sendint32(reply, static_cast<uint32>(n));
    } else {
        elog(ERROR, "vtj_fdw look-up log: unknown message");
    }
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();  // synchronous_commit is on: the rows are durable now
    pgstat_report_stat(false);
    pgstat_report_activity(STATE_IDLE, nullptr);
}

}  // namespace

extern "C" void vtj_kyselyloki_worker_main(Datum arg)
{
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    CurrentResourceOwner = ResourceOwnerCreate(nullptr, "vtj_fdw look-up log");
    dsm_segment *seg = dsm_attach(DatumGetUInt32(arg));
    if (!seg)
        proc_exit(0);  // the scan is gone already
    char *base = static_cast<char *>(dsm_segment_address(seg));
    const vtj::pg::LogShared *shared = reinterpret_cast<const vtj::pg::LogShared *>(base);
    if (shared->magic != vtj::pg::kMagic)
        ereport(ERROR, (errmsg("vtj_fdw look-up log: bad shared memory segment")));
    shm_mq *to_worker = reinterpret_cast<shm_mq *>(base + shared->to_worker_offset);
    shm_mq *to_scan = reinterpret_cast<shm_mq *>(base + shared->to_scan_offset);
    shm_mq_set_receiver(to_worker, MyProc);
    shm_mq_set_sender(to_scan, MyProc);
    shm_mq_handle *in = shm_mq_attach(to_worker, seg, nullptr);
    shm_mq_handle *out = shm_mq_attach(to_scan, seg, nullptr);

    BackgroundWorkerInitializeConnectionByOid(shared->database, shared->owner, 0);
    // The log is written whatever the database's or the owner's defaults say.
    SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);

    MemoryContext loop_cxt = AllocSetContextCreate(TopMemoryContext, "vtj_fdw look-up log", ALLOCSET_DEFAULT_SIZES);
    for (;;) {
        Size len = 0;
        void *data = nullptr;
        if (shm_mq_receive(in, &len, &data, false) != SHM_MQ_SUCCESS)
            break;  // the scan has ended (or died): so do we
        MemoryContextReset(loop_cxt);
        MemoryContext old = MemoryContextSwitchTo(loop_cxt);
        StringInfoData msg, reply;
        initStringInfo(&msg);
        appendBinaryStringInfo(&msg, static_cast<const char *>(data), static_cast<int>(len));
        initStringInfo(&reply);
        volatile bool failed = false;
        PG_TRY();
        {
            handle(&msg, &reply);
        }
        PG_CATCH();
        {
            MemoryContextSwitchTo(loop_cxt);
            ErrorData *e = CopyErrorData();
            FlushErrorState();
            AbortCurrentTransaction();
            MemoryContextSwitchTo(loop_cxt);
            // Message and SQLSTATE only: a DETAIL may quote a row.
            ereport(LOG, (errmsg("vtj_fdw look-up log: writing vtj.kyselyloki failed: %s", e->message ? e->message : "?"),
                          errdetail("SQLSTATE %s", unpack_sql_state(e->sqlerrcode))));
            resetStringInfo(&reply);
            pq_sendbyte(&reply, 'E');
            pq_sendint32(&reply, static_cast<uint32>(e->sqlerrcode));
            vtj::pg::put_string(&reply, e->message);
            failed = true;
        }
        PG_END_TRY();
        const shm_mq_result r = shm_mq_send(out, reply.len, reply.data, false, true);
        MemoryContextSwitchTo(old);
        if (r != SHM_MQ_SUCCESS || failed)
            break;
    }
    proc_exit(0);
}
