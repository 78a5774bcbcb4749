#!/usr/bin/env python3
"""Every fault mode of the mock, through the foreign tables: the SQLSTATE, the message, the
retries in the request log, cancels and timeouts during a slow response."""
import json
import os
import subprocess
import threading
import time

from taplib import (clear_faults, clear_requests, done, eq, fault, fresh_db, mock, mockclient, ok, pg_array, requests,
                    sql, sql_error, value)

PASSWORD = os.environ["VTJ_MOCK_PASSWORD"]
URL = os.environ["VTJ_MOCK_URL"]
fresh_db("vtj_it_faults")
sql("CREATE EXTENSION vtj_fdw")
sql(f"""CREATE SERVER mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{URL}', max_retries '2', request_timeout '5');
        CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (username 'mutpT1x', password '{PASSWORD}');
        CREATE SCHEMA v; IMPORT FOREIGN SCHEMA muutosrajapinta FROM SERVER mock INTO v;""")
hetus = mockclient.hetut(5)
H = hetus[0]
Q = f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{H}'"
baseline = value(Q)
ok(int(baseline) > 0, "a person's basic data without faults")


def attempts():
    return len(requests("perustiedot"))


def check_error(kind, sqlstate, n_attempts, text=None, **params):
    clear_faults()
    clear_requests()
    fault(kind, count=10, endpoint="perustiedot", **params)
    e = sql_error(Q)
    clear_faults()
    ok(e is not None and e.sqlstate == sqlstate, f"{kind}: SQLSTATE {sqlstate}", e and e.text)
    eq(attempts(), n_attempts, f"{kind}: {n_attempts} attempt(s)")
    if text:
        ok(e is not None and text in e.text, f"{kind}: the error says '{text}'", e and e.text)
    ok(e is None or (PASSWORD not in e.text and H not in e.text), f"{kind}: no credential or hetu in the error",
       e and e.text)


def check_retried(kind, **params):
    clear_faults()
    clear_requests()
    fault(kind, count=1, endpoint="perustiedot", **params)
    t = time.monotonic()
    got = value(Q)
    dt = time.monotonic() - t
    clear_faults()
    eq(got, baseline, f"{kind} once: retried, the same result")
    eq(attempts(), 2, f"{kind} once: two attempts")
    return dt


for k in ("http_500", "http_502", "http_503", "http_504"):
    check_retried(k)
dt = check_retried("http_429", retry_after=2)
ok(dt >= 1.9, "http_429: the retry waited for Retry-After (2 s)", f"{dt:.2f} s")
check_retried("reset")

check_error("http_400", "HV000", 1, "HTTP 400")
check_error("http_401", "HV00N", 1, "user mapping")
check_error("http_403", "HV00N", 1)
check_error("http_404", "HV000", 1, "HTTP 404")
check_error("http_503", "HV000", 3, "3 attempts")
check_error("xroad_fault", "HV000", 3, "X-Road fault")
check_error("html_error", "HV000", 3)
check_error("reset", "HV00M", 3, "cut short")  # an answer broken mid-body every time
check_error("invalid_json", "HV00M", 1, "not valid JSON")
check_error("truncated_json", "HV00M", 1)

# Valid JSON that jsonb refuses (\u0000): an error that quotes nothing of the group.
clear_faults()
fault("nul_escape", count=1, endpoint="perustiedot")
e = sql_error(f"SELECT tiedot FROM v.perustiedot WHERE hetu = '{H}'")
clear_faults()
ok(e is not None and e.sqlstate == "HV00M" and "cannot be stored as jsonb" in e.text,
   "nul_escape: HV00M, the group cannot be stored as jsonb", e and e.text)
ok(e is not None and "JSON data" not in e.text and "sukunimi" not in e.text and H not in e.text,
   "nul_escape: PostgreSQL's CONTEXT quoting the group does not reach the error", e and e.text)
fault("nul_escape", count=1, endpoint="perustiedot")
eq(value(Q), baseline, "nul_escape: without the tiedot column the rows are still read")
clear_faults()

# huge body: bounded by max_response_mb.
sql("ALTER SERVER mock OPTIONS (ADD max_response_mb '2')")
check_error("huge_body", "HV001", 1, mb=50)
sql("ALTER SERVER mock OPTIONS (DROP max_response_mb)")

# A page whose bookmark does not advance stops the scan instead of looping.
clear_requests()
fault("stuck_bookmark", count=5, endpoint="muutokset")
base_bookmark = mock("GET", "/_control/state")["base_bookmark"]  # a bookmark the interface issues (0 is none)
e = sql_error(f"SELECT count(*) FROM v.muutokset WHERE hetu = '{H}' AND kirjausavain > {base_bookmark}")
clear_faults()
ok(e is not None and e.sqlstate == "HV000" and "bookmark" in e.text, "stuck_bookmark: HV000, says the bookmark did not advance",
   e and e.text)

# A slow response beyond request_timeout: a timeout error with a breakdown, after retries.
sql("ALTER SERVER mock OPTIONS (SET request_timeout '1', SET max_retries '0')")
clear_requests()
fault("slow", count=1, endpoint="perustiedot", delay_ms=4000)
e = sql_error(Q)
clear_faults()
ok(e is not None and e.sqlstate == "HV00N" and "request_timeout" in e.text, "slow beyond request_timeout: HV00N with a hint",
   e and e.text)
sql("ALTER SERVER mock OPTIONS (SET request_timeout '60', SET max_retries '2')")

# Cancel during a slow response: statement_timeout, and pg_cancel_backend from another session.
fault("slow", count=1, endpoint="perustiedot", delay_ms=20000)
t = time.monotonic()
e = sql_error(Q, settings=["statement_timeout = '1s'"])
dt = time.monotonic() - t
clear_faults()
ok(e is not None and e.sqlstate == "57014" and "statement timeout" in e.text,
   "statement_timeout interrupts a slow transfer with 57014", e and e.text)
ok(dt < 10, "… well before the 20 s response", f"{dt:.1f} s")

fault("slow_body", count=1, endpoint="perustiedot", delay_ms=2000)
result = {}


def run():
    result["e"] = sql_error(Q, settings=["application_name = 'vtj_cancel_me'"])


th = threading.Thread(target=run)
t = time.monotonic()
th.start()
pid = None
for _ in range(100):
    pid = value("SELECT pid FROM pg_stat_activity WHERE application_name = 'vtj_cancel_me' AND state = 'active'", db="postgres")
    if pid:
        break
    time.sleep(0.1)
time.sleep(1.0)
value(f"SELECT pg_cancel_backend({pid})", db="postgres")
th.join(60)
dt = time.monotonic() - t
clear_faults()
e = result.get("e")
ok(e is not None and e.sqlstate == "57014" and "user request" in e.text, "pg_cancel_backend interrupts a trickling body",
   e and e.text)

# ---- answers that do not fit the request, bookmarks the interface cannot have issued ----------
# Each case: a complete scan first (so the session has a bookmark), then the faulty scan in the
# same session: it must fail with HV00M, return no row as a complete scan, leave
# vtj.viimeisin_kirjausavain() NULL, and name no hetu.
state = mock("GET", "/_control/state")
if state["changes_visible"] < 50:
    mock("POST", "/_control/advance", {"days": 30})
    state = mock("GET", "/_control/state")
B0 = mockclient.call("GET", f"/api/v1/kirjausavain/{state['history_start']}", account="mutpT1")["viimeisinKirjausavain"]
population = mockclient.hetut(3000)
window = mockclient.muutokset("mutpT1x", B0, mockclient.hetut(3000, "changed"))
W = sorted({r["hetu"] for r in window["rows"]})[:30]
quiet = next(h for h in population if h not in set(r["hetu"] for r in window["rows"]))  # no change in the window
stranger = next(h for h in population if h not in W and h != quiet)
ok(len(W) >= 5, "(persons with changes in the window)", len(W))
sql("""CREATE FUNCTION kokeile(hyva text, q text, OUT ennen bigint, OUT tila text, OUT rivit bigint, OUT viesti text,
                               OUT avain bigint) LANGUAGE plpgsql AS $$
       DECLARE d text; h text;
       BEGIN
           EXECUTE hyva;
           ennen := vtj.viimeisin_kirjausavain();
           BEGIN
               EXECUTE 'SELECT count(*) FROM (' || q || ') x' INTO rivit;
               tila := '00000';
           EXCEPTION WHEN OTHERS THEN
               GET STACKED DIAGNOSTICS tila = RETURNED_SQLSTATE, viesti = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
                                       h = PG_EXCEPTION_HINT;
               viesti := viesti || ' / ' || d || ' / ' || h;
               rivit := NULL;
           END;
           avain := vtj.viimeisin_kirjausavain();
       END $$""")
GOOD = f"SELECT count(*) FROM v.muutokset WHERE hetu = '{quiet}' AND kirjausavain > {B0}"
SCAN = f"SELECT * FROM v.muutokset WHERE hetu = ANY({pg_array(W)}) AND kirjausavain > {B0}"


def refused(desc, kind, endpoint="muutokset", text=None, scan=SCAN, **params):
    """The good scan makes one request of each endpoint: the fault skips it (skip=1)."""
    clear_faults()
    clear_requests()
    fault(kind, count=params.pop("count", 2), endpoint=endpoint, skip=params.pop("skip", 1), **params)
    r = sql(f"SELECT * FROM kokeile($q${GOOD}$q$, $q${scan}$q$)")[0]
    clear_faults()
    ennen, tila, rivit, viesti, avain = r
    ok(ennen is not None, f"{desc}: (a complete scan before it left a bookmark)", r)
    eq(tila, "HV00M", f"{desc}: HV00M")
    ok(rivit is None, f"{desc}: no row came back as a complete scan", r)
    eq(avain, None, f"{desc}: vtj.viimeisin_kirjausavain() is NULL after it")
    ok(viesti is not None and not any(h in viesti for h in W + [stranger, quiet]), f"{desc}: the error names no hetu", viesti)
    if text:
        ok(viesti is not None and text in viesti, f"{desc}: the error says '{text}'", viesti)
    return viesti


refused("a change of a hetu not asked", "foreign_hetu", hetu=stranger, text="did not ask for")
refused("a garbled hetu", "garbled_hetu", text="did not ask for")
refused("a key twice in a group", "duplicate_key", text='has the key "turvakieltoAktiivinen" more than once')
refused("an unreadable muutospv", "bad_muutospv", text='unreadable "muutospv"')
refused("a change without muutospv", "bad_muutospv", missing=True, text='no "muutospv"')
refused("bookmark int64 max", "bookmark", value=9223372036854775807, text="from 1 to 2^62")
refused("a bookmark with a fraction", "bookmark", value=5446600000.5, text="fraction")
refused("a bookmark as a string", "bookmark", value=str(B0 + 1), text="found a string")
refused("a negative bookmark", "bookmark", value=-1, text="negative")
refused("a bookmark below the window start, ajanTasalla true", "bookmark", offset=-1, empty=True, ajanTasalla=True,
        text="below the one it was asked for")
mock("POST", "/_control/config", {"page_size": 1})
refused("a bookmark going backwards on page 2", "bookmark", count=3, skip=2, offset=-1, text="below the one it was asked for")
mock("POST", "/_control/config", {"page_size": 500})
refused("a final bookmark beyond the present", "bookmark", endpoint="kirjausavain", value=state["bookmark"] - 1,
        text="beyond the present")

# The present check leans on GET /kirjausavain/{tomorrow}; an interface that refuses future dates
# leaves it undone, and the scan works all the same.
mock("POST", "/_control/config", {"future_kirjausavain": 404})
clear_requests()
out = sql(f"SELECT count(*) FROM ({SCAN}) x; SELECT vtj.viimeisin_kirjausavain()")
eq(int(out[-1][0]), window["final"], "GET /kirjausavain/{tomorrow} answered 404: the scan is complete all the same")
ok(any(r["status"] == 404 for r in requests("kirjausavain")), "… (the check was asked and refused)", requests("kirjausavain"))
plan = "\n".join(r[0] for r in sql(f"EXPLAIN (ANALYZE) {SCAN}"))
ok("VTJ Present Check: not available" in plan, "… EXPLAIN ANALYZE says VTJ Present Check: not available", plan)
mock("POST", "/_control/config", {"future_kirjausavain": None})
plan = "\n".join(r[0] for r in sql(f"EXPLAIN (ANALYZE) {SCAN}"))
ok("VTJ Present Check: passed" in plan, "… and passed when the interface answers", plan)

# /perustiedot: a person not asked in that batch, garbled, or twice in one answer.
for table in ("perustiedot", "perustiedot_ryhmittain"):
    for kind, text in (("foreign_hetu", "did not ask for"), ("garbled_hetu", "did not ask for"), ("duplicate_person", "twice")):
        clear_faults()
        fault(kind, count=1, endpoint="perustiedot")
        e = sql_error(f"SELECT count(*) FROM v.{table} WHERE hetu = ANY({pg_array(W)})")
        clear_faults()
        ok(e is not None and e.sqlstate == "HV00M" and text in e.text, f"{table}, {kind}: HV00M, '{text}'", e and e.text)
        ok(e is not None and not any(h in e.text for h in W + population[:50]), f"{table}, {kind}: names no hetu", e and e.text)
clear_faults()
fault("duplicate_key", count=1, endpoint="perustiedot")
e = sql_error(f"SELECT count(*) FROM v.perustiedot WHERE hetu = ANY({pg_array(W)})")
ok(e is not None and e.sqlstate == "HV00M" and "more than once" in e.text, "perustiedot, duplicate_key: HV00M", e and e.text)
clear_faults()

# A window start the interface cannot be asked for: 22008 before any request.
clear_requests()
e = sql_error(f"SELECT count(*) FROM v.muutokset WHERE hetu = ANY({pg_array(W)}) AND muutospv >= 'infinity'")
ok(e is not None and e.sqlstate == "22008" and "HINT" in e.text, "muutospv >= 'infinity': 22008 with a hint", e and e.text)
eq(len(requests()), 0, "… and no request")

# ---- what a failed read learned about protection survives the failure -----------------------
# One change record a page: the person with a TURVAKIELTO record comes first, others after; the
# scan fails on a later page (a malformed page, a cancel) inside an exception block (a
# subtransaction rollback), and the facts of the pages read before stay readable until the end of
# the transaction.
mock("POST", "/_control/config", {"page_size": 1})
seq = mockclient.muutokset("mutpT1x", B0, mockclient.hetut(3000, "changed") + mockclient.hetut(100, "turvakielto"))["rows"]
mock("POST", "/_control/config", {"page_size": 500})
records = []  # (hetu, bookmark, groups) per change record, in the interface's order
for r in seq:
    if records and records[-1][1] == r["kirjausavain"]:
        records[-1][2].append(r["tiedot"])
    else:
        records.append((r["hetu"], r["kirjausavain"], [r["tiedot"]]))
first_tk = next(i for i, rec in enumerate(records) if any(g.get("tietoryhma") == "TURVAKIELTO" for g in rec[2]))
P = records[first_tk][0]
last_of_p = max(i for i, rec in enumerate(records) if rec[0] == P)
others = []
for i, rec in enumerate(records):
    if i > last_of_p and rec[0] != P and rec[0] not in others and all(x[0] != rec[0] for x in records[:last_of_p + 1]):
        others.append(rec[0])
others = others[:6]
p_pages = sum(1 for rec in records if rec[0] == P)
ok(len(others) >= 3, "(a person with a TURVAKIELTO record, and others whose changes come after)", (p_pages, len(others)))


def want_facts(recs):
    out = {}
    for hetu, _b, groups in recs:
        for g in groups:
            if "turvakiellonAlaisetKentat" not in g and g.get("tietoryhma") != "TURVAKIELTO":
                continue
            f = out.setdefault(hetu, [False, None])
            f[0] = f[0] or "turvakiellonAlaisetKentat" in g
            if g.get("tietoryhma") == "TURVAKIELTO":
                f[1] = f[1] or []
                whole = "turvakiellonAlaisetKentat" in g and not (set(g) - {"tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat"})
                if not whole:
                    f[1].append({k: v for k, v in g.items() if k not in ("muutosattribuutti", "voimassaolevatTiedot")})
    return out


sql("""CREATE FUNCTION lue_ja_kaadu(q text, OUT tila text, OUT luetut jsonb) LANGUAGE plpgsql AS $$
       BEGIN
           BEGIN
               EXECUTE 'SELECT count(*) FROM (' || q || ') x';
               tila := '00000';
           EXCEPTION WHEN OTHERS OR query_canceled THEN
               tila := SQLSTATE;
           END;
           SELECT jsonb_object_agg(s.hetu, jsonb_build_array(s.henkilolla_salattua, s.henkilon_turvakielto))
             INTO luetut FROM vtj_internal.protection_facts_read() s;
       END $$""")
M = [P] + others
MSCAN = f"SELECT hetu, henkilolla_salattua FROM v.muutokset WHERE hetu = ANY({pg_array(M)}) AND kirjausavain > {B0}"
mine = [rec for rec in records if rec[0] in set(M)]
# scripted: a malformed page right after P's pages (the pages of P pass: skip)
mock("POST", "/_control/config", {"page_size": 1})
clear_faults()
fault("bad_muutospv", count=p_pages + 1, skip=p_pages)
out = sql(f"SELECT tila, luetut::text FROM lue_ja_kaadu($q${MSCAN}$q$); SELECT count(*) FROM vtj_internal.protection_facts_read()")
clear_faults()
tila, luetut = out[0]
eq(tila, "HV00M", "a malformed page after the protected person's pages fails the scan (person columns read)")
got = {h: [v[0], v[1]] for h, v in json.loads(luetut or "{}").items()}
eq(got, want_facts(mine[:p_pages]), "… what the pages before it said of protection is still there, after the rollback")
ok(P in got and got[P][1], "… (the person's TURVAKIELTO records among it)", got)
eq(value("SELECT count(*) FROM vtj_internal.protection_facts_read()"), "0", "… and gone at the end of the transaction")
out = sql(f"BEGIN; SELECT tila FROM lue_ja_kaadu($q${MSCAN}$q$); SELECT count(*) FROM vtj_internal.protection_facts_read(); "
          f"SELECT vtj_internal.reset_protection_facts(); SELECT count(*) FROM vtj_internal.protection_facts_read(); COMMIT")
eq(out[0][0], "00000", "without a fault the same scan completes")
eq(int(out[1][0]), len(want_facts(mine)), "… the store holds every protected person it read")
eq(out[-1][0], "0", "… and vtj_internal.reset_protection_facts() forgets it")
# The same without the person columns: the store is filled all the same.
clear_faults()
fault("bad_muutospv", count=p_pages + 1, skip=p_pages)
scan_plain = f"SELECT hetu FROM v.muutokset WHERE hetu = ANY({pg_array(M)}) AND kirjausavain > {B0}"
tila, luetut = sql(f"SELECT tila, luetut::text FROM lue_ja_kaadu($q${scan_plain}$q$)")[0]
clear_faults()
eq((tila, {h: [v[0], v[1]] for h, v in json.loads(luetut or "{}").items()}), ("HV00M", want_facts(mine[:p_pages])),
   "… also when the query reads no person column (a streaming scan)")

# A cancel during a later page: 400 ms a request, cancelled once the pages of P were read. The
# page after the next one stalls (30 s), so that the cancel lands while the scan waits for it
# however fast the rest is (under ASan on a busy machine the scan could end before the cancel).
mock("POST", "/_control/config", {"latency_ms": 400})
clear_requests()
clear_faults()
fault("slow", count=p_pages + 2, endpoint="muutokset", skip=p_pages + 1, delay_ms=30000)
res = {}


def read_cancelled():
    res["out"] = sql(f"SELECT tila, luetut::text FROM lue_ja_kaadu($q${MSCAN}$q$)",
                     settings=["application_name = 'vtj_suojaus_peru'"])


th = threading.Thread(target=read_cancelled)
th.start()
deadline = time.monotonic() + 60
while time.monotonic() < deadline and len(requests("muutokset")) < p_pages + 1:
    time.sleep(0.05)
pid = value("SELECT pid FROM pg_stat_activity WHERE application_name = 'vtj_suojaus_peru' AND state = 'active'", db="postgres")
value(f"SELECT pg_cancel_backend({pid})", db="postgres")
th.join(120)
clear_faults()
mock("POST", "/_control/config", {"latency_ms": 0, "page_size": 500})
tila, luetut = res["out"][0]
eq(tila, "57014", "a cancel during a later page stops the scan (57014)")
got = {h: [v[0], v[1]] for h, v in json.loads(luetut or "{}").items()}
ok(P in got and [got[P][0], got[P][1]] == want_facts(mine[:p_pages])[P], "… the protected person's facts read before it survive",
   got)
ok(len(requests("muutokset")) < len(mine), "… (cancelled before the last page)", len(requests("muutokset")))

# Still healthy afterwards: the cached connection is reusable.
eq(value(Q), baseline, "after the faults the same query works again")

sql("DROP DATABASE vtj_it_faults", db="postgres")
done()
