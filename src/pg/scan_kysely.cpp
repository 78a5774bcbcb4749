// The executor of vtjkysely.henkilo: VTJkysely look-ups (SOAP/XML), one request per hetu, every
// look-up committed to vtj.kyselyloki by the log worker (kysely_log.hpp) before its request.
//
// On the first row of a (re)scan: evaluate the pushed hetu condition (constants, parameters,
// sub-plans), validate and de-duplicate the hetus, refuse bulk use (more than kysely_max_hetut
// distinct persons in this statement, all its VTJkysely scans and rescans together) before any
// request, have the log worker commit one vtj.kyselyloki row per look-up (kysely_log.cpp),
// send one HenkilonTunnusKysely per hetu concurrently, read every answer with libxml2 between
// pg_xml_init and pg_xml_done, have the worker commit each answer's Paluukoodi, and only then
// return the rows (none for Paluukoodi 0001). The log rows are the worker's, committed in its
// own transactions: whatever the caller's transaction does afterwards, they stay.
//
// State and C zones: scan_base.hpp (the C++ half, KyselyCpp, is owned by a reset callback on
// the query's memory context).
#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/hetu.hpp"
#include "core/kysely.hpp"
#include "pg/boundary.hpp"
#include "pg/kysely_log.hpp"
#include "pg/scan_base.hpp"
#include "pg/settings.hpp"

namespace vtj::pg {

namespace {

namespace k = vtj::kysely;

// The C++ half of the state.
struct KyselyCpp : ScanCpp {
    std::unique_ptr<vtj::HttpClient> client;  // this scan's own: VTJkysely carries no HTTP credentials
    std::vector<std::string> hetus;           // the current (re)scan's, de-duplicated, in order
    std::vector<k::Answer> answers;           // parallel to hetus (when `parsed` is)
    std::vector<char> parsed;                 // answers[i] was read
    std::exception_ptr failure;               // the round's error, raised after the log has the answers
    k::RequestSettings request;               // the round's request settings
    std::size_t next = 0;                     // the next answer to return
    // Over rescans: the bulk guard and EXPLAIN ANALYZE.
    std::uint64_t lookups = 0, found = 0, not_found = 0, passivated = 0;
    std::uint64_t requests = 0, retries = 0, bytes = 0;

    void fold_client() noexcept
    {
        if (client) {
            requests += client->stats().requests;
            bytes += client->stats().bytes_received;
            client->reset_stats();
        }
    }
    void release() noexcept
    {
        fold_client();
        client.reset();
        hetus.clear();
        answers.clear();
        parsed.clear();
        failure = nullptr;
        next = 0;
    }
};

// The bulk guard counts per statement: the distinct hetus of every VTJkysely scan of one
// top-level statement (UNION ALL branches, sub-queries in several places, functions it calls).
// The count starts again only when both the statement (its start time and the virtual
// transaction) has changed and no executor that looked up under the count still exists (a
// portal fetched in several Execute messages keeps its count). Only ever read and written by the
// backend's one thread.
struct StatementHetus {
    TimestampTz statement = 0;
    LocalTransactionId lxid = InvalidLocalTransactionId;
    std::unordered_set<std::string> hetus;
    std::vector<MemoryContext> live;  // es_query_cxt of the executors counted, until deleted
};
StatementHetus g_statement_hetus;

// Memory-context callback: an executor counted under g_statement_hetus is gone.
void forget_executor(void *arg) noexcept
{
    std::vector<MemoryContext> &live = g_statement_hetus.live;
    for (std::size_t i = 0; i < live.size(); ++i)
        if (live[i] == static_cast<MemoryContext>(arg)) {
            live[i] = live.back();
            live.pop_back();
            break;
        }
}

// The C half.
struct KyselyExec : ScanBase {
    long kysely_max_hetut;   // the option, for EXPLAIN
    KyselyLog *log;   // this scan's log worker, started at its first look-up
    int64 *log_ids;   // the current round's vtj.kyselyloki ids, parallel to cpp->hetus
};

KyselyCpp &cpp_of(ScanBase *s) { return *static_cast<KyselyCpp *>(s->cpp); }

// What the first row of a (re)scan needs from PostgreSQL, gathered in a C zone.
struct Inputs {
    Conditions conditions;  // hetu = NULL, an empty or all-NULL array: empty, no look-up at all
    const char *loppukayttaja;    // in the database's encoding, for the log
    const char *kayttotarkoitus;  // NULL when unset
    const char *session_user;     // for the log
    const char *current_user;
    // UTF-8 (the SOAP request's encoding) forms of what the request carries.
    const char *loppukayttaja_utf8;
    const char *username_utf8;
    const char *password_utf8;
    const char *soso_nimi_utf8;
};

// C zone: a copy in UTF-8 of text in the database's encoding.
const char *to_utf8(const char *s)
{
    char *conv = pg_server_to_any(s, static_cast<int>(strlen(s)), PG_UTF8);
    return conv == s ? pstrdup(s) : conv;
}

// C zone: the pushed hetu condition's values, the settings and the session user.
void gather_inputs(ForeignScanState *node, KyselyExec *s, Inputs *in)
{
    memset(in, 0, sizeof(*in));
    evaluate_conditions(node, s, &in->conditions);  // resets cond_cxt
    if (in->conditions.hetus.n == 0)
        in->conditions.empty = true;
    MemoryContext old = MemoryContextSwitchTo(s->cond_cxt);
    // Loppukayttaja: vtj.loppukayttaja, or the session user (who logged in, not a SET ROLE).
    if (setting_loppukayttaja && setting_loppukayttaja[0])
        in->loppukayttaja = pstrdup(setting_loppukayttaja);
    else
        in->loppukayttaja = GetUserNameFromId(GetSessionUserId(), false);
    in->kayttotarkoitus = setting_kayttotarkoitus && setting_kayttotarkoitus[0] ? pstrdup(setting_kayttotarkoitus) : nullptr;
    in->session_user = GetUserNameFromId(GetSessionUserId(), false);
    in->current_user = GetUserNameFromId(GetUserId(), false);
    in->loppukayttaja_utf8 = to_utf8(in->loppukayttaja);
    const ServerSettings &settings = s->cpp->settings;
    in->username_utf8 = to_utf8(settings.http.username.c_str());
    in->password_utf8 = to_utf8(settings.http.password.c_str());
    in->soso_nimi_utf8 = to_utf8(settings.soso_nimi.c_str());
    MemoryContextSwitchTo(old);
}

// Reads one answer between pg_xml_init and pg_xml_done (PostgreSQL's own libxml2 set-up:
// its error handler and its entity loader, which refuses external entities).
k::Answer parse_in_backend(const std::string &body, const std::vector<std::string> &secrets)
{
    PgXmlErrorContext *xcxt = pg_guard([] { return pg_xml_init(PG_XML_STRICTNESS_ALL); });
    try {
        k::Answer a = k::parse_answer(body, secrets);
        pg_guard([xcxt] { pg_xml_done(xcxt, false); });
        return a;
    } catch (...) {
        pg_xml_done(xcxt, true);  // restores libxml2's handlers; frees only
        throw;
    }
}

// C++: validates the hetus and refuses bulk use, before anything is logged or sent. Leaves the
// round's hetus in s->cpp (none: nothing to look up). Returns with no C++ object alive.
void prepare_lookup(KyselyExec *s, const Inputs *in)
{
    KyselyCpp &cpp = cpp_of(s);
    cpp.hetus.clear();
    cpp.answers.clear();
    cpp.parsed.clear();
    cpp.failure = nullptr;
    cpp.next = 0;
    if (in->conditions.empty)
        return;  // no request, no log row

    const std::vector<std::string> raw = checked_hetus(in->conditions);
    std::vector<std::string> hetus;
    {
        std::unordered_set<std::string_view> seen;
        seen.reserve(raw.size() * 2);
        for (const std::string &h : raw)
            if (seen.insert(h).second)
                hetus.push_back(h);
    }

    // Per statement, not per scan node: every VTJkysely scan of this statement together.
    StatementHetus &st = g_statement_hetus;
    const TimestampTz now_statement = GetCurrentStatementStartTimestamp();
    if (st.statement != now_statement || st.lxid != MyProc->lxid) {
        if (st.live.empty())
            st.hetus.clear();
        st.statement = now_statement;
        st.lxid = MyProc->lxid;
    }
    if (std::find(st.live.begin(), st.live.end(), s->query_cxt) == st.live.end()) {
        MemoryContext cxt = s->query_cxt;
        auto *cb = static_cast<MemoryContextCallback *>(
            pg_guard([cxt] { return MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback)); }));
        st.live.reserve(st.live.size() + 1);
        cb->func = forget_executor;
        cb->arg = cxt;
        MemoryContextRegisterResetCallback(cxt, cb);
        st.live.push_back(cxt);
    }
    std::size_t fresh = 0;
    for (const std::string &h : hetus)
        if (!st.hetus.count(h))
            ++fresh;
    const std::uint64_t total = st.hetus.size() + fresh;
    if (total > static_cast<std::uint64_t>(cpp.settings.kysely_max_hetut)) {
        std::string message = "VTJkysely is for looking up single persons, not for bulk use: this statement would look up " +
                              std::to_string(total) + " persons";
        if (!st.hetus.empty())
            message += " (all its VTJkysely scans and rescans together)";
        message += ", more than kysely_max_hetut (" + std::to_string(cpp.settings.kysely_max_hetut) + ")";
        throw vtj::Error(vtj::ErrorKind::TooManyRows, message, "No request was sent.",
                         "Keep a register current with the change interface (the perustiedot and muutokset tables, "
                         "vtj.paivita) instead of VTJkysely; kysely_max_hetut is a server option.");
    }

    k::RequestSettings rs;
    rs.url = cpp.settings.kysely_url;
    rs.palvelu = cpp.settings.kysely_palvelu;
    rs.xroad_client = cpp.settings.http.xroad_client;
    rs.soso_nimi = in->soso_nimi_utf8;
    rs.username = in->username_utf8;
    rs.password = in->password_utf8;
    rs.loppukayttaja = in->loppukayttaja_utf8;
    k::validate(rs);

    for (const std::string &h : hetus)
        st.hetus.insert(h);
    cpp.request = std::move(rs);
    cpp.hetus = std::move(hetus);
}

// C zone: the log worker commits a row per hetu before any request is sent.
void log_sent(KyselyExec *s, const Inputs *in)
{
    KyselyCpp *cpp = &cpp_of(s);
    const int n = static_cast<int>(cpp->hetus.size());
    if (!s->log)
        s->log = kysely_log_open(s->query_cxt);
    MemoryContext old = MemoryContextSwitchTo(s->cond_cxt);
    const char **hetus = (const char **)palloc(sizeof(char *) * n);
    for (int i = 0; i < n; ++i)
        hetus[i] = pnstrdup(cpp->hetus[i].data(), static_cast<Size>(cpp->hetus[i].size()));
    s->log_ids = (int64 *)palloc0(sizeof(int64) * n);
    MemoryContextSwitchTo(old);
    KyselyLogWho who = {in->session_user, in->current_user, in->loppukayttaja, in->kayttotarkoitus};
    kysely_log_sent(s->log, &who, n, hetus, s->log_ids);
}

// C++: sends the look-ups and reads the answers into s->cpp. An error is kept in cpp.failure
// (raised by raise_failure() once the answers that were read are logged). Returns with no C++
// object alive.
void fetch_and_parse(KyselyExec *s) noexcept
{
    KyselyCpp &cpp = cpp_of(s);
    try {
        if (!cpp.client) {
            cpp.client = std::make_unique<vtj::HttpClient>(k::http_config(cpp.settings.http));
            cpp.client->set_interrupt_check(&pg_interrupt_pending);
        }
        cpp.lookups += cpp.hetus.size();  // counted once sent, even if the statement fails later
        std::vector<std::string> bodies = k::fetch_answers(
            *cpp.client, cpp.request, cpp.hetus, k::retry_policy(cpp.settings.http, &pg_interrupt_pending), &cpp.retries);
        const std::vector<std::string> secrets = {cpp.request.password, cpp.request.username};
        cpp.answers.assign(bodies.size(), k::Answer());
        cpp.parsed.assign(bodies.size(), 0);
        for (std::size_t i = 0; i < bodies.size(); ++i) {
            try {
                cpp.answers[i] = parse_in_backend(bodies[i], secrets);
                cpp.parsed[i] = 1;
            } catch (...) {
                if (!cpp.failure)
                    cpp.failure = std::current_exception();
                continue;
            }
            switch (cpp.answers[i].outcome) {
            case k::Outcome::Found: ++cpp.found; break;
            case k::Outcome::NotFound: ++cpp.not_found; break;
            case k::Outcome::Passivated: ++cpp.passivated; break;
            }
        }
    } catch (...) {
        cpp.failure = std::current_exception();
    }
}

// C zone: the log worker commits the Paluukoodi of every answer read, before any row is
// returned (a look-up without a usable answer keeps paluukoodi NULL).
void log_answered(KyselyExec *s)
{
    KyselyCpp *cpp = &cpp_of(s);
    const std::size_t n = cpp->parsed.size();
    MemoryContext old = MemoryContextSwitchTo(s->cond_cxt);
    int64 *ids = (int64 *)palloc(sizeof(int64) * (n + 1));
    const char **codes = (const char **)palloc(sizeof(char *) * (n + 1));
    int m = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (cpp->parsed[i]) {
            ids[m] = s->log_ids[i];
            codes[m] = pnstrdup(cpp->answers[i].paluukoodi.data(), static_cast<Size>(cpp->answers[i].paluukoodi.size()));
            ++m;
        }
    MemoryContextSwitchTo(old);
    kysely_log_answered(s->log, m, ids, codes);
}

// C++: raises the round's error, if it had one (no row is then returned).
void raise_failure(KyselyExec *s)
{
    KyselyCpp &cpp = cpp_of(s);
    if (!cpp.failure)
        return;
    std::exception_ptr f = cpp.failure;
    cpp.failure = nullptr;
    cpp.answers.clear();
    cpp.parsed.clear();
    std::rethrow_exception(f);
}

// C zone: text in the database's encoding from UTF-8.
Datum text_from_utf8(const char *s, std::size_t len)
{
    const int n = static_cast<int>(len);
    char *conv = pg_any_to_server(s, n, PG_UTF8);
    return PointerGetDatum(cstring_to_text_with_len(conv, conv == s ? n : static_cast<int>(strlen(conv))));
}

// C zone: the next row, or an empty slot at the end.
TupleTableSlot *next_row(KyselyExec *s, TupleTableSlot *slot)
{
    KyselyCpp *cpp = &cpp_of(s);
    while (cpp->next < cpp->answers.size() && cpp->answers[cpp->next].outcome == k::Outcome::NotFound)
        ++cpp->next;
    if (cpp->next >= cpp->answers.size())
        return slot;
    const std::size_t idx = cpp->next++;
    const k::Answer &a = cpp->answers[idx];
    const std::string &hetu = cpp->hetus[idx];
    Datum *values = slot->tts_values;
    bool *nulls = slot->tts_isnull;
    fill_needed_columns(s, slot, [&](int i) {
        const std::optional<std::string> *text = nullptr;
        const std::optional<bool> *flag = nullptr;
        const std::optional<std::int32_t> *date = nullptr;
        switch (s->columns[i]) {
        case ColumnKind::Hetu:
            values[i] = text_from_utf8(hetu.data(), hetu.size());
            nulls[i] = false;
            break;
        case ColumnKind::Paluukoodi:
            values[i] = text_from_utf8(a.paluukoodi.data(), a.paluukoodi.size());
            nulls[i] = false;
            break;
        case ColumnKind::HetuVoimassa:
            values[i] = BoolGetDatum(a.hetu_voimassa);
            nulls[i] = false;
            break;
        case ColumnKind::Sukunimi: text = &a.sukunimi; break;
        case ColumnKind::Etunimet: text = &a.etunimet; break;
        case ColumnKind::Aidinkieli: text = &a.aidinkieli; break;
        case ColumnKind::Kotikunta: text = &a.kotikunta; break;
        case ColumnKind::KotikuntaNimi: text = &a.kotikunta_nimi; break;
        case ColumnKind::Lahiosoite: text = &a.lahiosoite; break;
        case ColumnKind::Postinumero: text = &a.postinumero; break;
        case ColumnKind::Postitoimipaikka: text = &a.postitoimipaikka; break;
        case ColumnKind::Postiosoite: text = &a.postiosoite; break;
        case ColumnKind::Kuollut: flag = &a.kuollut; break;
        case ColumnKind::Turvakielto: flag = &a.turvakielto; break;
        case ColumnKind::Kuolinpv: date = &a.kuolinpv; break;
        case ColumnKind::TurvakieltoLoppupv: date = &a.turvakielto_loppupv; break;
        case ColumnKind::Vastaus:
            if (!a.vastaus.empty()) {
                // The xml type is stored as text; the serialisation is well-formed and has no
                // encoding declaration, so it stays valid in the database's encoding.
                values[i] = text_from_utf8(a.vastaus.data(), a.vastaus.size());
                nulls[i] = false;
            }
            break;
        case ColumnKind::Unknown:
        default:
            break;
        }
        if (text && text->has_value()) {
            values[i] = text_from_utf8((*text)->data(), (*text)->size());
            nulls[i] = false;
        } else if (flag && flag->has_value()) {
            values[i] = BoolGetDatum(**flag);
            nulls[i] = false;
        } else if (date && date->has_value()) {
            values[i] = DateADTGetDatum(**date - kUnixToPgDays);
            nulls[i] = false;
        }
    });
    return ExecStoreVirtualTuple(slot);
}

void begin(ForeignScanState *node, int eflags, const Executor *self)
{
    KyselyExec *s = begin_scan<KyselyExec, KyselyCpp>(node, eflags, self);
    s->kysely_max_hetut = s->cpp->settings.kysely_max_hetut;
}

TupleTableSlot *iterate(ForeignScanState *node, TupleTableSlot *slot)
{
    KyselyExec *s = static_cast<KyselyExec *>((ScanBase *)node->fdw_state);
    if (!s->started) {
        s->started = true;
        Inputs in;
        gather_inputs(node, s, &in);  // C zone
        prepare_lookup(s, &in);       // C++: validation and the bulk guard, returns with nothing alive
        if (!cpp_of(s).hetus.empty()) {
            log_sent(s, &in);         // C zone: committed by the log worker before any request
            fetch_and_parse(s);       // C++ (noexcept): the requests and the answers
            log_answered(s);          // C zone: committed before any row, so that LIMIT cannot skip it
            raise_failure(s);         // C++: the round's error, if any
        }
    }
    return next_row(s, slot);
}

void rescan(ScanBase *s)
{
    s->started = false;
    if (s->cpp) {
        KyselyCpp &cpp = cpp_of(s);
        cpp.fold_client();  // the client and its connections stay for the next look-ups
        cpp.hetus.clear();
        cpp.answers.clear();
        cpp.parsed.clear();
        cpp.failure = nullptr;
        cpp.next = 0;
    }
}

void end(ScanBase *base)
{
    KyselyExec *s = static_cast<KyselyExec *>(base);
    if (s->cpp)
        cpp_of(s).release();  // statistics stay for EXPLAIN ANALYZE; the object goes with the context
    if (s->log) {
        kysely_log_close(s->log);  // the worker exits
        s->log = nullptr;
    }
}

void explain_verbose(ScanBase *base, ExplainState *es)
{
    const KyselyExec *s = static_cast<const KyselyExec *>(base);
    ExplainPropertyInteger("VTJ Max Hetus", nullptr, s->kysely_max_hetut, es);
    ExplainPropertyInteger("VTJ Parallel Requests", nullptr, s->parallel, es);
    ExplainPropertyText("VTJ Log", "vtj.kyselyloki", es);
}

void explain_analyze(ScanBase *s, ExplainState *es)
{
    const KyselyCpp &cpp = cpp_of(s);
    std::uint64_t requests = cpp.requests, bytes = cpp.bytes;
    if (cpp.client) {
        requests += cpp.client->stats().requests;
        bytes += cpp.client->stats().bytes_received;
    }
    ExplainPropertyInteger("VTJ Look-ups", nullptr, static_cast<int64>(cpp.lookups), es);
    ExplainPropertyInteger("VTJ Found", nullptr, static_cast<int64>(cpp.found), es);
    ExplainPropertyInteger("VTJ Not Found", nullptr, static_cast<int64>(cpp.not_found), es);
    ExplainPropertyInteger("VTJ Passivated", nullptr, static_cast<int64>(cpp.passivated), es);
    ExplainPropertyInteger("VTJ Requests", nullptr, static_cast<int64>(requests), es);
    ExplainPropertyInteger("VTJ Retries", nullptr, static_cast<int64>(cpp.retries), es);
    ExplainPropertyInteger("VTJ Bytes Received", nullptr, static_cast<int64>(bytes), es);
}

}  // namespace

// endpoint, rows, asks_hetus, begin, iterate, rescan, end, explain_verbose, explain_analyze, check_column
extern const Executor henkilo_executor = {"VTJkysely HenkilonTunnusKysely (SOAP), one request per hetu", nullptr, true,
                                          begin, iterate, rescan, end, explain_verbose, explain_analyze, nullptr};

}  // namespace vtj::pg
