#!/usr/bin/env python3
"""Every fault mode of the mock, through the foreign tables: the SQLSTATE, the message, the
retries in the request log, cancels and timeouts during a slow response."""
import os
import subprocess
import threading
import time

from taplib import (clear_faults, clear_requests, done, eq, fault, fresh_db, mockclient, ok, requests, sql,
                    sql_error, value)

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
e = sql_error(f"SELECT count(*) FROM v.muutokset WHERE hetu = '{H}' AND kirjausavain > 0")
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

# Still healthy afterwards: the cached connection is reusable.
eq(value(Q), baseline, "after the faults the same query works again")

sql("DROP DATABASE vtj_it_faults", db="postgres")
done()
