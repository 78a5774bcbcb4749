#!/usr/bin/env python3
"""Merge jobs never miss a change (issue 19): the worked merge job of docs/merge_job.sql runs in a
loop every 300 ms while change runs go on against a slow interface — hetu corrections,
turvakiellot that start and end, deaths, a failed run — for an uncensoring account (register u,
mutpT1) and a censoring one (register c, mutpT1x). Afterwards its table `asiakas` equals the
mirror for every member, and its rounds cover the change log's positions without a gap and
without an overlap. The same loop reading by time (the old cookbook: vtj.muuttuneet(rekisteri,
timestamptz), the merge's own start as the bookmark) misses the rows of a run that was in flight.

Also: the position API (vtj.positio never past a run in flight: the run holds the register's
lock; refusals with their SQLSTATEs; vtj_lukija may call it), the events a merge job learns from
the log (LADATTU, PUUTTUU, HETU_KORJATTU, SENSUROITU, PALJASTETTU, KUOLINPAIVA, a product that
begins to censor a group), the job run twice, and behind the retention."""
import os
import subprocess
import tempfile
import time

from mirrorlib import OwnMock, PASSWORD, ROOT_DIR, compare, fresh_mirror_db, set_today
from taplib import PSQL, done, eq, ok, sql, sql_error, value

DB = "vtj_it_merge"
N = 300
MERGE_JOB = os.path.join(ROOT_DIR, "docs", "merge_job.sql")
mock = OwnMock(N, 64, "--start-days", 20, "--change-rate", 0.8, "--turvakielto-share", 0.06, "--page-size", 40)

# the jobs: (schema, register, kind) — kind 'positio' is docs/merge_job.sql, 'aika' the time-based reading
JOBS = [("pos_u", "u", "positio"), ("pos_c", "c", "positio"), ("aika_u", "u", "aika"), ("aika_c", "c", "aika")]

# The old cookbook's merge job, with everything else of docs/merge_job.sql unchanged: its bookmark
# is the time the merge began, and it reads vtj.muuttuneet(rekisteri, timestamptz).
TIME_JOB = """
CREATE TABLE aika_kirjanmerkki (rekisteri text PRIMARY KEY, aika timestamptz NOT NULL, kierroksia bigint NOT NULL DEFAULT 0);
CREATE PROCEDURE asiakas_yhdista_ajalla(rekisteri text) LANGUAGE plpgsql AS $$
DECLARE
    v_alku timestamptz;
    v_nyt timestamptz;
    k record;
BEGIN
    COMMIT;
    SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
    v_nyt := now();
    SELECT b.aika INTO v_alku FROM aika_kirjanmerkki b WHERE b.rekisteri = asiakas_yhdista_ajalla.rekisteri;
    IF v_alku IS NULL THEN
        PERFORM asiakas_tuo(rekisteri, NULL, NULL);
    ELSE
        FOR k IN SELECT m.tiedot->>'edellinen_hetu' AS vanha, m.tiedot->>'hetu' AS uusi FROM vtj.muutosloki m
                  WHERE m.rekisteri = asiakas_yhdista_ajalla.rekisteri AND m.kirjattu >= v_alku
                    AND m.tietoryhma = 'JASEN' AND m.muutosattribuutti = 'HETU_KORJATTU' ORDER BY m.id LOOP
            PERFORM asiakas_korjaa_hetu(k.vanha, k.uusi);
        END LOOP;
        PERFORM asiakas_tuo(rekisteri, ARRAY(SELECT c.hetu FROM vtj.muuttuneet(rekisteri, v_alku) c), NULL);
    END IF;
    INSERT INTO aika_kirjanmerkki AS b VALUES (rekisteri, v_nyt, 1)
    ON CONFLICT ON CONSTRAINT aika_kirjanmerkki_pkey DO UPDATE SET aika = EXCLUDED.aika, kierroksia = b.kierroksia + 1;
    COMMIT;
END $$;
"""


def psql_file(path, schema):
    env = dict(os.environ, PGOPTIONS=f"-c search_path={schema},public -c client_min_messages=warning")
    p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-f", path], capture_output=True, text=True,
                       env=env, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"psql -f {path} in {schema}: {p.stderr}")


def merge_call(schema, reg, kind):
    proc = "asiakas_yhdista" if kind == "positio" else "asiakas_yhdista_ajalla"
    return f"CALL {proc}('{reg}')"


def merge_once(schema, reg, kind="positio"):
    return sql(merge_call(schema, reg, kind), db=DB, settings=(f"search_path = {schema}, public",))


def start_loop(schema, reg, kind):
    """The merge job in a loop of its own session, every 300 ms, until a row in public.merge_stop."""
    log = tempfile.TemporaryFile()
    body = (f"DO $$ BEGIN LOOP {merge_call(schema, reg, kind)}; PERFORM pg_sleep(0.3); "
            "EXIT WHEN EXISTS (SELECT 1 FROM public.merge_stop); END LOOP; END $$")
    args = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", f"SET search_path = {schema}, public",
            "-c", "SET client_min_messages = error", "-c", body]
    return subprocess.Popen(args, stdout=log, stderr=log), log


def rounds(schema, kind):
    t = "asiakas_kirjanmerkki" if kind == "positio" else "aika_kirjanmerkki"
    return int(value(f"SELECT coalesce(max(kierroksia), 0) FROM {schema}.{t}", db=DB))


def differences(schema, reg):
    """Members whose row in the job's asiakas differs from the mirror (or is missing, or extra)."""
    return int(value(f"""
        WITH m AS (SELECT j.hetu, h.etunimet, h.sukunimi, l.katuosoite, l.lisarivi, l.postinumero, l.postitoimipaikka,
                          coalesce(l.maa, l.valtiokoodi) AS maa, h.kotikunta, coalesce(h.kuollut, false) AS kuollut,
                          h.kuolinpv, coalesce(h.turvakielto, false) AS turvakielto, j.puuttuu
                     FROM vtj.jasen j
                     LEFT JOIN vtj.henkilo h ON h.rekisteri = j.rekisteri AND h.hetu = j.hetu
                     LEFT JOIN vtj.laskutusosoite l ON l.rekisteri = j.rekisteri AND l.hetu = j.hetu
                    WHERE j.rekisteri = '{reg}'),
             a AS (SELECT hetu, etunimet, sukunimi, katuosoite, lisarivi, postinumero, postitoimipaikka, maa, kotikunta,
                          kuollut, kuolinpv, turvakielto, vtj_puuttuu FROM {schema}.asiakas)
        SELECT count(*) FROM m FULL JOIN a ON a.hetu = m.hetu WHERE row(m.*)::text IS DISTINCT FROM row(a.*)::text""",
                     db=DB))


def holds_lock(reg):
    """Whether another transaction holds the register's data lock (its row, FOR NO KEY UPDATE)."""
    e = sql_error(f"SELECT 1 FROM vtj.rekisteri WHERE rekisteri = '{reg}' FOR NO KEY UPDATE", db=DB,
                  settings=("lock_timeout = '100ms'",))
    return e is not None and e.sqlstate == "55P03"


def wait_until(cond, timeout=90, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def psql_async(command):
    return subprocess.Popen([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


loops = []
try:
    today = fresh_mirror_db(DB, mock, "u", account="mutpT1")
    sql(f"""CREATE SERVER cens FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER cens OPTIONS (username 'mutpT1x', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('c', 'cens', 'ASREK');
            CREATE TABLE public.merge_stop (x int);""", db=DB)
    hetus = mock.hetut(N - 10)
    passivated = mock.hetut(2, "passivated")
    members = hetus + passivated
    M = len(members)
    for reg in ("u", "c"):
        sql(f"SELECT vtj.lisaa_henkilot('{reg}', '{{{','.join(members)}}}')", db=DB)
        sql(f"CALL vtj.lataa_perustiedot('{reg}', 100)", db=DB)

    # ---- the position API ------------------------------------------------------------------------
    p_u = int(value("SELECT vtj.positio('u')", db=DB))
    eq((p_u, p_u - 1), (int(value("SELECT positio FROM vtj.ajo WHERE rekisteri = 'u'", db=DB)),
                        int(value("SELECT max(positio) FROM vtj.muutosloki WHERE rekisteri = 'u'", db=DB))),
       "vtj.positio is the position of the register's last committed writer (the load's last transaction, which "
       "found nothing left to load: the rows are at the one before)")
    events = dict(sql("SELECT muutosattribuutti, count(*) FROM vtj.muutosloki WHERE rekisteri = 'u' AND tietoryhma = 'JASEN' "
                      "GROUP BY 1", db=DB))
    eq((events.get("LADATTU"), events.get("PUUTTUU")), (str(N - 10), str(len(passivated))),
       "the load logs LADATTU for every member it stored, PUUTTUU for those the interface did not return (passivated)")
    eq(value("SELECT count(DISTINCT positio) FROM vtj.muutosloki WHERE rekisteri = 'u'", db=DB), str(-(-M // 100)),
       "… each batch of the load (100 members) under a position of its own")
    n_all = int(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'u'", db=DB))
    eq(value("SELECT count(*) FROM vtj.muutokset_jalkeen('u', 0)", db=DB), str(n_all),
       "vtj.muutokset_jalkeen(r, 0) returns every row")
    eq(value(f"SELECT count(*) FROM vtj.muutokset_jalkeen('u', {p_u})", db=DB), "0", "… and after vtj.positio none")
    eq(value(f"SELECT bool_and(positio > 1) FROM vtj.muutokset_jalkeen('u', 1, {p_u})", db=DB), "t",
       "… after 1: only rows of later positions")
    rows = sql("SELECT positio, id FROM vtj.muutokset_jalkeen('u', 0)", db=DB)
    ok([(int(a), int(b)) for a, b in rows] == sorted((int(a), int(b)) for a, b in rows), "… in position order, then id")
    for q, state, what in ((f"vtj.muutokset_jalkeen('u', {p_u + 1})", "22023", "a position beyond the log"),
                           (f"vtj.muuttuneet_jalkeen('u', 0, {p_u + 5})", "22023", "asti beyond the log"),
                           ("vtj.muutokset_jalkeen('u', -1)", "22023", "a negative position"),
                           ("vtj.muuttuneet_jalkeen('u', NULL)", "22004", "a NULL position"),
                           ("vtj.muutokset_jalkeen('ei_ole', 0)", "42704", "an unknown register"),
                           ("vtj.positio('ei_ole')", "42704", "vtj.positio of an unknown register")):
        e = sql_error(f"SELECT * FROM {q}", db=DB)
        ok(e is not None and e.sqlstate == state and "HINT" in e.text, f"{what} is refused with {state} and a hint",
           e and e.text)
    sql("CREATE ROLE vtj_it_merge_lukija LOGIN; GRANT vtj_lukija TO vtj_it_merge_lukija; CREATE ROLE vtj_it_merge_muu LOGIN",
        db=DB)
    eq(value("SELECT vtj.positio('u') || ' ' || (SELECT count(*) FROM vtj.muuttuneet_jalkeen('u', 0))", db=DB,
             role="vtj_it_merge_lukija"), f"{p_u} {M}", "vtj_lukija reads the position and the members changed after it")
    e = sql_error("SELECT * FROM vtj.muutokset_jalkeen('u', 0)", db=DB, role="vtj_it_merge_muu")
    ok(e is not None and e.sqlstate == "42501", "a role without vtj_lukija may not", e and e.text)

    # ---- the merge jobs: the first run copies, the second changes nothing -------------------------
    for schema, reg, kind in JOBS:
        sql(f"CREATE SCHEMA {schema}", db=DB)
        psql_file(MERGE_JOB, schema)
        if kind == "aika":
            sql(TIME_JOB, db=DB, settings=(f"search_path = {schema}, public",))
        merge_once(schema, reg, kind)
    eq([differences(s, r) for s, r, _k in JOBS], [0, 0, 0, 0], "the first merge of every job copies the mirror")
    eq(value("SELECT positio || ' ' || kierroksia FROM pos_u.asiakas_kirjanmerkki", db=DB), f"{p_u} 1",
       "… and saves vtj.positio as its bookmark")
    before = value("SELECT md5(string_agg(a::text, ',' ORDER BY hetu)) FROM pos_u.asiakas a", db=DB)
    merge_once("pos_u", "u")
    eq((value("SELECT md5(string_agg(a::text, ',' ORDER BY hetu)) FROM pos_u.asiakas a", db=DB),
        value("SELECT positio || ' ' || kierroksia || ' ' || muutoksia FROM pos_u.asiakas_kirjanmerkki", db=DB),
        value("SELECT count(*) FROM pos_u.asiakas_kierros", db=DB)),
       (before, f"{p_u} 2 {M}", "1"), "run twice, the job changes nothing the second time (idempotent)")
    eq(sum(int(r[0]) for r in sql("SELECT count(*) FROM pos_u.asiakas WHERE turvakielto AND kotikunta IS NOT NULL "
                                  "UNION ALL SELECT count(*) FROM pos_c.asiakas WHERE turvakielto AND kotikunta IS NOT NULL",
                                  db=DB)), 0, "no protected customer has a kotikunta in asiakas")
    ok(int(value("SELECT count(*) FROM pos_c.asiakas WHERE turvakielto", db=DB)) > 0
       and int(value("SELECT count(*) FROM pos_u.asiakas WHERE turvakielto", db=DB)) > 0,
       "… and there are protected customers in both registers")

    # ---- change runs while the jobs merge in a loop ----------------------------------------------
    loops = [(j,) + start_loop(*j) for j in JOBS]
    runs_ok = runs_failed = 0
    for day in range(5):
        mock.advance(4)
        today = set_today(DB, mock)
        mock.call("POST", "/_control/latency", {"ms": 150})
        for reg in ("u", "c"):
            if day == 2 and reg == "c":
                mock.fault("http_400", count=1, endpoint="muutokset")
                e = sql_error("CALL vtj.paivita('c')", db=DB)
                mock.clear_faults()
                runs_failed += e is not None
            sql(f"CALL vtj.paivita('{reg}')", db=DB)
            runs_ok += 1
        mock.call("POST", "/_control/latency", {"ms": 0})
    eq((runs_ok, runs_failed), (10, 1), "ten change runs while the jobs merged, and one that failed")
    ok(all(p.poll() is None for _j, p, _l in loops), "… the merge loops still run")

    # ---- the last run, held in flight by a slow interface -----------------------------------------
    mock.advance(4)
    today = set_today(DB, mock)
    held = {}
    mock.call("POST", "/_control/latency", {"ms": 3000})
    for reg in ("u", "c"):
        held[reg] = (int(value(f"SELECT vtj.positio('{reg}')", db=DB)), psql_async(f"CALL vtj.paivita('{reg}')"))
    in_flight = wait_until(lambda: holds_lock("u") and holds_lock("c"), 60)
    ok(in_flight, "both runs are in flight, holding their register's lock (no other writer can take a position)")
    r0 = {(s, k): rounds(s, k) for s, _r, k in JOBS}
    for reg in ("u", "c"):
        eq((int(value(f"SELECT vtj.positio('{reg}')", db=DB)),
            value(f"SELECT count(*) FROM vtj.muutokset_jalkeen('{reg}', {held[reg][0]})", db=DB)),
           (held[reg][0], "0"), f"{reg}: while the run is in flight, vtj.positio stays at the last committed position "
                                f"and nothing is after it")
    merged = wait_until(lambda: all(rounds(s, k) >= r0[(s, k)] + 2 for s, _r, k in JOBS), 60)
    still = holds_lock("u") and holds_lock("c")
    ok(merged and still, "every job merged twice while the runs were in flight")
    aika_bm = value("SELECT aika FROM aika_u.aika_kirjanmerkki", db=DB)
    mock.call("POST", "/_control/latency", {"ms": 0})
    for reg in ("u", "c"):
        out, err = held[reg][1].communicate(timeout=300)
        ok(held[reg][1].returncode == 0, f"{reg}: the held run succeeds", err)
    held_run = {reg: value(f"SELECT ajo || ' ' || positio FROM vtj.ajo WHERE rekisteri = '{reg}' ORDER BY ajo DESC LIMIT 1",
                           db=DB).split() for reg in ("u", "c")}
    for reg in ("u", "c"):
        ajo, pos = held_run[reg]
        eq((int(pos), int(value(f"SELECT vtj.positio('{reg}')", db=DB)),
            value(f"SELECT count(*) FROM vtj.muutokset_jalkeen('{reg}', {held[reg][0]})", db=DB)),
           (held[reg][0] + 1, held[reg][0] + 1, value(f"SELECT count(*) FROM vtj.muutosloki WHERE ajo = {ajo}", db=DB)),
           f"{reg}: committed, the run's position is the next one, and the rows after the old bookmark are exactly its rows")
    missed_rows = int(value(f"SELECT count(*) FROM vtj.muutosloki WHERE ajo = {held_run['u'][0]} "
                            f"AND kirjattu < '{aika_bm}'", db=DB))
    ok(missed_rows > 0, f"the held run's {missed_rows} rows are stamped before the time-based job's bookmark, saved while "
                        f"they were not yet visible")

    # ---- the jobs catch up, and stop --------------------------------------------------------------
    r1 = {(s, k): rounds(s, k) for s, _r, k in JOBS}
    caught = wait_until(lambda: all(rounds(s, k) >= r1[(s, k)] + 2 for s, _r, k in JOBS)
                        and all(value(f"SELECT positio FROM {s}.asiakas_kirjanmerkki", db=DB)
                                == value(f"SELECT vtj.positio('{r}')", db=DB) for s, r, k in JOBS if k == "positio"), 90)
    ok(caught, "the jobs merged twice more after the runs, up to vtj.positio")
    sql("INSERT INTO public.merge_stop VALUES (1)", db=DB)
    for (schema, _r, _k), p, log in loops:
        p.wait(60)
        log.seek(0)
        ok(p.returncode == 0, f"the loop of {schema} ended without an error", log.read()[-2000:])
    loops = []

    # ---- the figures ----------------------------------------------------------------------------
    figures = {}
    for schema, reg, kind in JOBS:
        diff = differences(schema, reg)
        if kind == "positio":
            kier = sql(f"SELECT alku_positio, loppu_positio, lokirivit FROM {schema}.asiakas_kierros ORDER BY aika", db=DB)
            tiled = all(kier[i + 1][0] is not None and int(kier[i + 1][0]) == int(kier[i][1]) for i in range(len(kier) - 1))
            l0 = int(kier[0][1])
            read = sum(int(k[2]) for k in kier[1:])
            want = int(value(f"SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = '{reg}' AND positio > {l0}", db=DB))
            ok(tiled and kier[0][0] is None and int(kier[-1][1]) == int(value(f"SELECT vtj.positio('{reg}')", db=DB)),
               f"{schema}: its {len(kier)} rounds with work cover positions {l0}..{kier[-1][1]} with no gap and no overlap")
            eq(read, want, f"{schema}: they read each of the {want} change-log rows after its first copy exactly once")
            bm = sql(f"SELECT kierroksia, muutoksia FROM {schema}.asiakas_kirjanmerkki", db=DB)[0]
            figures[schema] = (int(bm[0]), int(bm[1]) - int(value(f"SELECT muutoksia FROM {schema}.asiakas_kierros "
                                                                  "WHERE alku_positio IS NULL", db=DB)), read, diff)
            eq(diff, 0, f"{schema}: asiakas equals the mirror for every member ({reg}: "
                        f"{'censoring' if reg == 'c' else 'uncensoring'} account)")
        else:
            figures[schema] = (rounds(schema, kind), None, None, diff)
    ok(figures["aika_u"][3] > 0, f"the time-based reading misses changes: {figures['aika_u'][3]} members differ in u, "
                                 f"{figures['aika_c'][3]} in c")
    for schema, (kier, applied, read, diff) in figures.items():
        print(f"# {schema}: {kier} merge rounds, "
              + (f"{applied} changes applied, {read} change-log rows read, " if applied is not None else "")
              + f"differences: {diff}")
    print(f"# the held run of u: {missed_rows} change-log rows stamped before the time-based bookmark")

    # ---- the mirror is the truth, and the log told everything --------------------------------------
    for reg, account in (("u", "mutpT1"), ("c", "mutpT1x")):
        mem = [r[0] for r in sql(f"SELECT hetu FROM vtj.jasen WHERE rekisteri = '{reg}'", db=DB)]
        diffs = compare(DB, reg, "ASREK", mock.perustiedot(mem, account), today, mem)
        ok(not diffs, f"{reg}: the mirror equals the interface for all {len(mem)} members", diffs[:3])
    kinds = dict(sql("SELECT CASE WHEN tietoryhma IN ('JASEN', 'KUOLINPAIVA') THEN tietoryhma || ':' || muutosattribuutti "
                     "ELSE muutosattribuutti END, count(*) FROM vtj.muutosloki "
                     "WHERE positio > 0 AND ajo IN (SELECT ajo FROM vtj.ajo WHERE laji = 'paivita') GROUP BY 1", db=DB))
    for k in ("JASEN:HETU_KORJATTU", "SENSUROITU", "JASEN:PALJASTETTU", "PERUSTIEDOT"):
        ok(int(kinds.get(k, 0)) >= 1, f"the runs logged {k} rows ({kinds.get(k, 0)})")
    ok(any(k.startswith("KUOLINPAIVA:") for k in kinds), "… and deaths (KUOLINPAIVA rows)",
       {k: v for k, v in kinds.items() if k.startswith("KUOLINPAIVA")})
    eq(value("SELECT count(*) FROM vtj.muutosloki m JOIN vtj.jasen j USING (rekisteri, hetu) "
             "WHERE m.muutosattribuutti = 'HETU_KORJATTU' AND NOT (m.tiedot->>'edellinen_hetu' = ANY (j.edelliset) "
             "AND m.tiedot->>'hetu' = j.hetu)", db=DB), "0",
       "HETU_KORJATTU rows name the old hetu and the new one, under the member's current hetu")
    eq(value("SELECT count(*) FROM vtj.muutosloki m JOIN vtj.ajo a USING (ajo) WHERE m.tietoryhma <> 'JASEN' "
             "AND m.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', 'KOTIKUNTA') AND m.tiedot ? 'sensuroitu' "
             "AND m.tiedot - 'tietoryhma' - 'sensuroitu' <> '{}'", db=DB), "0", "censored rows hold nothing but the group")

    # ---- a product that begins to censor a group -------------------------------------------------
    sql("""INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat)
           VALUES ('OMA64', '{HENKILON_NIMI,TURVAKIELTO,KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE}', '{VAKINAINEN_KOTIMAINEN_OSOITE}');
           SELECT vtj.luo_rekisteri('o', 'plain', 'OMA64');""", db=DB)
    sql(f"SELECT vtj.lisaa_henkilot('o', '{{{','.join(hetus)}}}')", db=DB)
    sql("CALL vtj.lataa_perustiedot('o')", db=DB)
    sql("CREATE SCHEMA pos_o", db=DB)
    psql_file(MERGE_JOB, "pos_o")
    merge_once("pos_o", "o")
    n_cens = int(value("SELECT count(*) FROM pos_o.asiakas WHERE turvakielto AND kotikunta IS NOT NULL", db=DB))
    ok(n_cens > 0, f"censored customers of o have a kotikunta while the product does not censor it ({n_cens})")
    p_o = int(value("SELECT vtj.positio('o')", db=DB))
    sql("UPDATE vtj.tuote SET sensuroitavat = '{VAKINAINEN_KOTIMAINEN_OSOITE,KOTIKUNTA}' WHERE tuote = 'OMA64'", db=DB)
    eq((int(value("SELECT vtj.positio('o')", db=DB)),
        value(f"SELECT string_agg(DISTINCT tietoryhma || ':' || muutosattribuutti, ',') || ' ' || count(*) "
              f"FROM vtj.muutokset_jalkeen('o', {p_o})", db=DB)),
       (p_o + 1, f"KOTIKUNTA:SENSUROITU {value('SELECT count(*) FROM vtj.jasen WHERE rekisteri = ' + chr(39) + 'o' + chr(39) + ' AND sensuroitu', db=DB)}"),
       "the product change takes a position and logs a SENSUROITU row of the group for every censored member")
    merge_once("pos_o", "o")
    eq((value("SELECT count(*) FROM pos_o.asiakas WHERE turvakielto AND kotikunta IS NOT NULL", db=DB), differences("pos_o", "o")),
       ("0", 0), "… the next merge blanks their kotikunta: asiakas equals the mirror")

    # ---- behind the retention -------------------------------------------------------------------
    mock.advance(1)
    set_today(DB, mock)
    sql("UPDATE vtj.rekisteri SET sailytysaika = '1 microsecond' WHERE rekisteri = 'o'", db=DB)
    sql("CALL vtj.paivita('o')", db=DB)
    gone = int(value("SELECT poistettu_positio FROM vtj.rekisteri WHERE rekisteri = 'o'", db=DB))
    ok(gone > p_o, f"the retention deleted the log of o up to position {gone}")
    e = sql_error(f"SELECT * FROM vtj.muutokset_jalkeen('o', {gone - 1})", db=DB)
    ok(e is not None and e.sqlstate == "55000" and "reload" in e.text.lower(),
       "a bookmark behind the retention is refused with 55000 and a hint to reload", e and e.text)
    eq(value(f"SELECT count(*) >= 0 FROM vtj.muutokset_jalkeen('o', {gone})", db=DB), "t", "… the retention's own position is not")
    sql("UPDATE pos_o.asiakas_kirjanmerkki SET positio = 1; UPDATE pos_o.asiakas SET sukunimi = 'x'", db=DB)
    merge_once("pos_o", "o")
    eq((value("SELECT alku_positio IS NULL FROM pos_o.asiakas_kierros ORDER BY aika DESC LIMIT 1", db=DB),
        differences("pos_o", "o")), ("t", 0), "a job that fell behind reloads in full and equals the mirror again")
finally:
    for _j, p, _l in loops:
        if p.poll() is None:
            p.terminate()
    mock.stop()
    try:
        sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
        sql("DROP ROLE IF EXISTS vtj_it_merge_lukija; DROP ROLE IF EXISTS vtj_it_merge_muu", db="postgres")
    except Exception:
        pass
done()
