#!/usr/bin/env python3
"""The life of a run: what a DBA meets around vtj.paivita and vtj.lataa_perustiedot.

- a register never loaded: vtj.paivita refuses and names the load (no giant transaction);
- a CALL inside a transaction block (BEGIN, or psql -c "SET …; CALL …") is refused the same
  friendly way before any work, for both procedures;
- members added and removed while a load runs: both succeed, the load too; only two loads or
  runs of one register refuse each other;
- a run's row is committed before its work: kill -9 of a change run's backend, and
  pg_terminate_backend of a load, leave a row that shows 'keskeytynyt' in vtj.ajo (with when it
  was last seen alive) at once, and the next run marks it so and converges with the truth;
- NOTIFY vtj_paivitetty after every successful change run;
- runs of one register are serialised: their log positions grow in the order they commit."""
import datetime
import os
import signal
import subprocess
import time

from mirrorlib import OwnMock, PASSWORD, compare
from taplib import PSQL, done, eq, ok, sql, sql_error, value

DB = "vtj_it_mirror_runs"
N = 600
mock = OwnMock(N, 56, "--start-days", 10, "--change-rate", 0.3, "--turvakielto-share", 0.03, "--page-size", 50)


def psql_async(*commands, env_extra=None):
    """The commands in one psql session of their own (each -c its own transaction)."""
    env = dict(os.environ, PGDATABASE=DB, **(env_extra or {}))
    args = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-c", "\\set VERBOSITY verbose"]
    for c in commands:
        args += ["-c", c]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def psql_raw(text):
    """One -c string (psql sends it as one query: several statements are one implicit block)."""
    p = subprocess.run([PSQL, "-X", "-q", "-v", "VERBOSITY=verbose", "-d", DB, "-c", text],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr


def set_today():
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def wait_for(query, timeout=60):
    """Polls until the query returns a row (its first value), or None at the timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = value(query, db=DB)
        if v:
            return v
        time.sleep(0.05)
    return None


def wait_for_server(timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if value("SELECT 1", db="postgres") == "1":
                return True
        except Exception:
            pass
        time.sleep(0.3)
    return False


try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    today = set_today()
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}', max_retries '1',
                   perustiedot_batch_size '50', muutokset_batch_size '200', parallel_requests '2');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('r', 'plain', 'ASREK');""", db=DB)
    hetus = mock.hetut(N)
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[:500]) + "}')", db=DB)

    # ---- a register never loaded ----------------------------------------------------------------
    mock.clear_requests()
    e = sql_error("CALL vtj.paivita('r')", db=DB)
    ok(e is not None and e.sqlstate == "55000" and "never been loaded" in e.text and "vtj.lataa_perustiedot('r')" in e.text,
       "vtj.paivita of a register never loaded refuses (55000) and names vtj.lataa_perustiedot", e and e.text)
    eq((value("SELECT count(*) FROM vtj.ajo", db=DB), len(mock.requests()),
        value("SELECT count(*) FROM vtj.jasen WHERE ladattu IS NOT NULL", db=DB)), ("0", 0, "0"),
       "… before any work: no run row, no request, nothing loaded")

    # ---- a CALL inside a transaction block -------------------------------------------------------
    for proc in ("vtj.paivita('r')", "vtj.lataa_perustiedot('r')"):
        name = proc.split("(")[0]
        rc, err = psql_raw(f"BEGIN; CALL {proc}; COMMIT;")
        ok(rc != 0 and "25001" in err and "statement of its own" in err and "2D000" not in err,
           f"BEGIN; CALL {name} is refused the friendly way (25001), not 2D000", err)
        rc, err = psql_raw(f"SET work_mem = '64MB'; CALL {proc}")
        ok(rc != 0 and "25001" in err and "psql -c" in err and "2D000" not in err,
           f"psql -c \"SET …; CALL {name}\" is refused the same way, with a hint for psql", err)
    eq(value("SELECT count(*) FROM vtj.ajo", db=DB), "0", "… and neither left a run behind")

    # ---- members added and removed while a load runs ---------------------------------------------
    # Ten batches of 50, each waiting 300 ms for the mock: the load runs at least 3 s.
    mock.call("POST", "/_control/latency", {"ms": 300})
    load = psql_async("CALL vtj.lataa_perustiedot('r', 50)")
    wait_for("SELECT 1 FROM vtj.jasen WHERE rekisteri = 'r' AND ladattu IS NOT NULL LIMIT 1")
    second = sql_error("CALL vtj.lataa_perustiedot('r')", db=DB)
    added = value("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[500:520]) + "}')", db=DB)
    gone = hetus[490:495]
    removed = value("SELECT vtj.poista_henkilot('r', '{" + ",".join(gone) + "}')", db=DB)
    still = load.poll() is None
    out, err = load.communicate(timeout=180)
    mock.call("POST", "/_control/latency", {"ms": 0})
    ok(still, "the member edits were made while the load ran")
    ok(second is not None and second.sqlstate == "55P03", "a second load of the register is refused at once (55P03)",
       second and second.text)
    eq((added, removed), ("20", "5"), "members added (20) and removed (5) during the load: both succeed")
    ok(load.returncode == 0, "… and so does the load", err)
    # (515 members stay; the 5 removed count if their batch came before the removal)
    eq(sql("SELECT tila, henkiloita::int BETWEEN 515 AND 520 FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'lataa_perustiedot'",
           db=DB), [["ok", "t"]], "the load is ok in vtj.ajo and loaded every member, also those added meanwhile")
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND (ladattu IS NULL OR hetu = ANY ('{"
             + ",".join(gone) + "}'))", db=DB), "0", "… none is left unloaded, none removed came back")

    # ---- a killed change run ---------------------------------------------------------------------
    mock.advance(10)
    today = set_today()
    mock.call("POST", "/_control/latency", {"ms": 3000})
    run = psql_async("CALL vtj.paivita('r')")
    pid = wait_for("SELECT pid FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'paivita' AND tila = 'kaynnissa'")
    ok(pid is not None, "a change run's row is in vtj.ajo while it works ('kaynnissa', with its backend)")
    time.sleep(0.5)
    if pid:
        os.kill(int(pid), signal.SIGKILL)
    run.communicate(timeout=120)
    ok(wait_for_server(), "the server is back after kill -9 of the run's backend")
    mock.call("POST", "/_control/latency", {"ms": 0})
    rows = sql("SELECT tila, loppu IS NOT NULL, loppu <= now() FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'paivita'", db=DB)
    eq(rows, [["keskeytynyt", "t", "t"]], "the killed run shows 'keskeytynyt' in vtj.ajo at once, ended when last seen alive")
    bm = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB)
    sql("CALL vtj.paivita('r')", db=DB)
    rows = sql("SELECT tila FROM vtj_internal.ajo WHERE rekisteri = 'r' AND laji = 'paivita' ORDER BY ajo", db=DB)
    eq(rows, [["keskeytynyt"], ["ok"]], "the next run marks the dead row in the table itself and succeeds")
    ok(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB) != bm, "… and moves the bookmark")
    members = [r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'r'", db=DB)]
    diffs = compare(DB, "r", "ASREK", mock.perustiedot(members), today, members)
    ok(not diffs, f"… the mirror equals the truth for all {len(members)} members", diffs[:5])

    # ---- a terminated load -----------------------------------------------------------------------
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[520:600]) + "}')", db=DB)
    mock.call("POST", "/_control/latency", {"ms": 500})
    load = psql_async("CALL vtj.lataa_perustiedot('r', 10)")
    wait_for("SELECT 1 FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'lataa_perustiedot' AND tila = 'kaynnissa' "
             "AND henkiloita >= 10")
    pid = value("SELECT pid FROM vtj.ajo WHERE rekisteri = 'r' AND tila = 'kaynnissa'", db=DB)
    sql(f"SELECT pg_terminate_backend({pid})", db=DB)
    load.communicate(timeout=120)
    mock.call("POST", "/_control/latency", {"ms": 0})
    time.sleep(0.3)
    row = sql("SELECT tila, henkiloita::int BETWEEN 10 AND 70, loppu = elossa FROM vtj.ajo "
              "WHERE rekisteri = 'r' AND laji = 'lataa_perustiedot' ORDER BY ajo DESC LIMIT 1", db=DB)
    eq(row, [["keskeytynyt", "t", "t"]], "a terminated load shows 'keskeytynyt', with what it had done and when it was last alive")
    sql("CALL vtj.lataa_perustiedot('r')", db=DB)
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND ladattu IS NULL", db=DB), "0",
       "… the next load continues and loads every member")

    # ---- NOTIFY, and positions in commit order ---------------------------------------------------
    mock.advance(5)
    today = set_today()
    listener = psql_async("LISTEN vtj_paivitetty", "SELECT pg_sleep(4)", "SELECT 1")
    time.sleep(1)
    sql("CALL vtj.paivita('r')", db=DB)
    out, err = listener.communicate(timeout=60)
    ok('notification "vtj_paivitetty" with payload "r"' in out + err, "a successful run notifies vtj_paivitetty with the register",
       out + err)
    rows = sql("SELECT positio FROM vtj_internal.ajo WHERE rekisteri = 'r' AND tila IN ('ok', 'virhe') ORDER BY loppu", db=DB)
    pos = [int(r[0]) for r in rows if r[0] is not None]
    ok(len(pos) >= 3 and pos == sorted(pos) and len(set(pos)) == len(pos),
       f"the runs' log positions grow in the order they ended ({pos})")
    eq(value("SELECT count(*) FROM vtj.muutosloki m JOIN vtj_internal.ajo a ON a.ajo = m.ajo "
             "WHERE m.positio IS DISTINCT FROM a.positio AND a.laji = 'paivita'", db=DB), "0",
       "every change-log row of a run carries the run's position")
finally:
    mock.stop()
    try:
        sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    except Exception:
        pass
done()
