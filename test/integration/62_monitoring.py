#!/usr/bin/env python3
"""Monitoring: vtj.tila (one row per register) and vtj.tarkistus (OK / WARNING / CRITICAL and a
message) through the states a register goes through: members never loaded; loaded; a good
change run; a last run older than max_ika (a max_ika of one second, and a second waited for:
vtj_testi.tanaan moves the mirror's "today", not clock_timestamp); one failed run, two in a row
(the mock refuses the request), a good run again; a member the interface does not return; one
with another active hetu and one not loaded although added before the last run (both states set
by hand: no path of the mock leads there); a load in progress (members done of its total); a
change run whose backend was terminated (interrupted). A monitoring role of vtj_seuranta gets
the line with psql -Atc; a role without it is refused. No message names a hetu."""
import os
import re
import subprocess
import time

from mirrorlib import OwnMock, PASSWORD, fresh_mirror_db, set_today
from taplib import PSQL, done, eq, ok, sql, sql_error, value

DB = "vtj_it_monitoring"
HETU = re.compile(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]")
mock = OwnMock(800, 62, "--start-days", 5, "--change-rate", 0.3)
messages = []


def tarkistus(max_ika=None):
    q = "SELECT tila, viesti FROM vtj.tarkistus(%s)" % (f"'{max_ika}'" if max_ika else "")
    row = sql(q, db=DB)[0]
    messages.append(row[1])
    return row


def tila(cols):
    return sql(f"SELECT {cols} FROM vtj.tila WHERE rekisteri = 'r'", db=DB)[0]


def psql_async(command):
    env = dict(os.environ, PGDATABASE=DB)
    return subprocess.Popen([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_for(query, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = value(query, db=DB)
        if v:
            return v
        time.sleep(0.05)
    return None


try:
    today = fresh_mirror_db(DB, mock, "r")
    hetus = mock.hetut(300)
    # a valid hetu the mock does not know: the interface does not return it
    population = set(mock.hetut())
    unknown = next(h for h in (f"3112{yy:02d}-9{n:02d}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(f"3112{yy:02d}9{n:02d}") % 31]
                               for yy in range(50, 99) for n in range(90, 100)) if h not in population)

    # ---- a register never loaded, then loaded ------------------------------------------------------
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[:200]) + "}')", db=DB)
    eq(tarkistus(), ["WARNING", "r: never loaded (CALL vtj.lataa_perustiedot)"],
       "members never loaded: WARNING, naming the register and the load")
    eq(tila("jasenia, lataamatta, paivitetty, ladattu, viimeisin_ajo"), ["200", "200", None, None, None],
       "vtj.tila: 200 members, none loaded, no run")
    sql("CALL vtj.lataa_perustiedot('r', 50)", db=DB)
    st, msg = tarkistus()
    ok(st == "OK" and msg.startswith("1 register up to date (the oldest run "),
       f"loaded, no change run yet: OK, the load's age counts ({msg})")
    eq(tila("lataamatta, ladattu IS NOT NULL, paivitetty, viimeisin_ajo"), ["0", "t", None, "ok"],
       "vtj.tila: all loaded, the load's end, no change run")

    # ---- a good change run; a last run older than max_ika --------------------------------------------
    mock.advance(1)
    today = set_today(DB, mock)
    sql("CALL vtj.paivita('r')", db=DB)
    eq(tila("viimeisin_ajo, paivitetty = (SELECT max(loppu) FROM vtj.ajo WHERE laji = 'paivita'), "
            "paivityksen_ika < interval '1 minute', virheita, kaynnissa, "
            "kirjausavain = (SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r')"),
       ["ok", "t", "t", "0", None, "t"],
       "after a good run vtj.tila shows it ended, its age, no failures, nothing running, the bookmark")
    eq(tarkistus()[0], "OK", "after a good run: OK")
    time.sleep(1.2)
    st, msg = tarkistus("1 second")
    ok(st == "CRITICAL" and re.fullmatch(r"r: last successful change run 00:00:0\d ago \(at most 00:00:01\)", msg),
       f"tarkistus('1 second') a second after the run: CRITICAL, the age and the limit ({msg})")
    eq(tarkistus("1 hour")[0], "OK", "tarkistus('1 hour'): OK")
    e = sql_error("SELECT * FROM vtj.tarkistus('0')", db=DB)
    ok(e is not None and e.sqlstate == "22023", "tarkistus('0') is refused (22023)", e and e.text)

    # ---- failed runs ----------------------------------------------------------------------------------
    mock.fault("http_400", count=1, endpoint="muutokset")
    ok(sql_error("CALL vtj.paivita('r')", db=DB) is not None, "the mock makes a change run fail")
    eq(tarkistus(), ["WARNING", "r: the last change run failed (SQLSTATE HV000)"],
       "one failed run: WARNING with its SQLSTATE")
    eq(tila("viimeisin_ajo, virheita, virhe_sqlstate, virhe_aika IS NOT NULL"), ["virhe", "1", "HV000", "t"],
       "vtj.tila: one failure since the last success, its SQLSTATE and time")
    mock.fault("http_400", count=1, endpoint="muutokset")
    sql_error("CALL vtj.paivita('r')", db=DB)
    eq(tarkistus(), ["CRITICAL", "r: 2 change runs failed in a row (the last: SQLSTATE HV000)"],
       "two failed runs in a row: CRITICAL")
    sql("CALL vtj.paivita('r')", db=DB)
    eq((tarkistus()[0], tila("virheita, virhe_sqlstate")), ("OK", ["0", None]),
       "a good run again: OK, no failure since it")

    # ---- members that need a look ----------------------------------------------------------------------
    sql("SELECT vtj.lisaa_henkilot('r', '{" + unknown + "}')", db=DB)
    sql("CALL vtj.paivita('r')", db=DB)
    eq(tarkistus(), ["WARNING", "r: 1 member not returned by the interface (vtj.laatu)"],
       "a member the interface does not return (a hetu it does not know): WARNING")
    sql(f"UPDATE vtj.jasen SET aktiivinen_hetu = '{hetus[0]}' WHERE rekisteri = 'r' AND hetu = '{hetus[1]}'", db=DB)
    # (a member added a day ago, before the last run, that the run did not load)
    sql(f"SELECT vtj.lisaa_henkilot('r', '{{{hetus[299]}}}')", db=DB)
    sql(f"UPDATE vtj.jasen SET lisatty = lisatty - interval '1 day' WHERE rekisteri = 'r' AND hetu = '{hetus[299]}'", db=DB)
    eq(tarkistus(), ["WARNING", "r: 1 member added before the last run not loaded, 1 member not returned by the "
                                "interface (vtj.laatu), 1 member with another active hetu (vtj.laatu)"],
       "… and one with another active hetu, one not loaded although added before the last run (states set by hand)")
    eq(tila("puuttuu, aktiivinen_hetu, lataamatta, lataamatta_ajon_jalkeen"), ["1", "1", "1", "1"],
       "vtj.tila counts them")
    sql(f"UPDATE vtj.jasen SET aktiivinen_hetu = NULL WHERE rekisteri = 'r' AND hetu = '{hetus[1]}'", db=DB)
    sql(f"SELECT vtj.poista_henkilot('r', '{{{unknown}}}')", db=DB)
    sql("CALL vtj.paivita('r')", db=DB)
    eq((tarkistus()[0], tila("lataamatta")), ("OK", ["0"]), "those members dealt with (the run loads the one not loaded): OK")

    # ---- a load in progress ----------------------------------------------------------------------------
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[200:260]) + "}')", db=DB)
    mock.call("POST", "/_control/latency", {"ms": 400})
    load = psql_async("CALL vtj.lataa_perustiedot('r', 10)")
    got = wait_for("SELECT kaynnissa_tehty || '/' || kaynnissa_yhteensa FROM vtj.tila "
                   "WHERE kaynnissa = 'lataa_perustiedot' AND kaynnissa_tehty >= 10")
    st, msg = tarkistus()
    still = load.poll() is None
    load.communicate(timeout=120)
    mock.call("POST", "/_control/latency", {"ms": 0})
    ok(got is not None and re.fullmatch(r"\d+/60", got) and 10 <= int(got.split("/")[0]) < 60 and still,
       f"during a load vtj.tila shows it running, members done of its total ({got})")
    ok(st == "OK" and re.search(r"; r: a load running since \S+ \S+, \d+ of 60 members$", msg),
       f"… tarkistus is OK and says how far it is ({msg})")
    eq((load.returncode, tila("kaynnissa, lataamatta")), (0, [None, "0"]), "the load ended: nothing running, all loaded")

    # ---- an interrupted change run -----------------------------------------------------------------------
    mock.advance(1)
    set_today(DB, mock)
    mock.call("POST", "/_control/latency", {"ms": 3000})
    run = psql_async("CALL vtj.paivita('r')")
    pid = wait_for("SELECT pid FROM vtj.ajo WHERE laji = 'paivita' AND tila = 'kaynnissa'")
    eq(wait_for("SELECT kaynnissa FROM vtj.tila WHERE kaynnissa IS NOT NULL"), "paivita",
       "vtj.tila shows the change run in progress")
    sql(f"SELECT pg_terminate_backend({pid})", db=DB)
    run.communicate(timeout=120)
    mock.call("POST", "/_control/latency", {"ms": 0})
    wait_for("SELECT 1 FROM vtj.tila WHERE viimeisin_ajo = 'keskeytynyt'", timeout=10)
    eq((tila("viimeisin_ajo, virheita"), tarkistus()),
       (["keskeytynyt", "1"], ["WARNING", "r: the last change run failed (interrupted)"]),
       "a change run whose backend was terminated shows interrupted: one failure, WARNING")
    sql("CALL vtj.paivita('r')", db=DB)
    eq(tarkistus()[0], "OK", "the next run: OK")

    # ---- who may ask, and what they see -------------------------------------------------------------------
    sql("DROP ROLE IF EXISTS vtj_it_nagios; DROP ROLE IF EXISTS vtj_it_other; "
        "CREATE ROLE vtj_it_nagios LOGIN; GRANT vtj_seuranta TO vtj_it_nagios; CREATE ROLE vtj_it_other LOGIN", db=DB)
    p = subprocess.run([PSQL, "-X", "-U", "vtj_it_nagios", "-d", DB, "-Atc", "SELECT * FROM vtj.tarkistus()"],
                       capture_output=True, text=True)
    ok(p.returncode == 0 and re.fullmatch(r"OK\|1 register up to date \(the oldest run \S+ ago\)\n", p.stdout),
       f"a role of vtj_seuranta: psql -Atc \"SELECT * FROM vtj.tarkistus()\" gives one line ({p.stdout.strip()})",
       p.stderr)
    eq(value("SELECT count(*) FROM vtj.tila", db=DB, role="vtj_it_nagios"), "1", "… and may read vtj.tila")
    e = sql_error("SELECT * FROM vtj.tarkistus()", db=DB, role="vtj_it_other")
    ok(e is not None and e.sqlstate == "42501", "a role without vtj_seuranta may not run vtj.tarkistus", e and e.text)
    e = sql_error("SELECT * FROM vtj.tila", db=DB, role="vtj_it_other")
    ok(e is not None and e.sqlstate == "42501", "… nor read vtj.tila", e and e.text)
    eq(sql("SELECT p.proname, p.prosecdef, p.proconfig::text FROM pg_proc p WHERE p.oid = 'vtj.tarkistus(interval)'::regprocedure",
           db=DB), [["tarkistus", "t", "{\"search_path=pg_catalog, pg_temp\"}"]],
       "vtj.tarkistus runs as its owner with a fixed search_path")
    found = [m for m in messages if HETU.search(m)]
    ok(not found and len(messages) >= 10, f"none of the {len(messages)} messages names a hetu", found[:3])
finally:
    mock.stop()
    try:
        sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
        sql("DROP ROLE IF EXISTS vtj_it_nagios; DROP ROLE IF EXISTS vtj_it_other", db="postgres")
    except Exception:
        pass
done()
