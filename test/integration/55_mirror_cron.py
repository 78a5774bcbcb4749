#!/usr/bin/env python3
"""vtj.paivita scheduled with the real pg_cron extension. pg_cron runs jobs in the database
named by cron.database_name ('postgres' in the test cluster), so the register lives there; the
script removes everything it created in 'postgres' at the end, also when a check fails.

Two jobs: a superuser's, and one that a login role that is only a member of vtj_ajaja schedules
for itself (README "Security", the cookbook of a non-superuser job): pg_cron runs it as that
role, with the role's own user mapping, and its run is visible to the role."""
import datetime
import time

from mirrorlib import OwnMock, PASSWORD
from taplib import done, eq, ok, sql, value

DB = "postgres"
AJAJA = "vtj_it_cron_ajaja"  # the non-superuser job role
mock = OwnMock(300, 41, "--start-days", 5, "--change-rate", 0.5)
created_vtj = created_cron = False
jobid = jobid_a = None
try:
    eq(value("SHOW cron.database_name", db=DB), "postgres", "pg_cron is preloaded and runs jobs in database postgres")
    created_vtj = value("SELECT count(*) FROM pg_extension WHERE extname = 'vtj_fdw'", db=DB) == "0"
    created_cron = value("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'", db=DB) == "0"
    sql("CREATE EXTENSION IF NOT EXISTS vtj_fdw; CREATE EXTENSION IF NOT EXISTS pg_cron", db=DB)
    ok(value("SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'", db=DB) is not None, "CREATE EXTENSION pg_cron")
    sql(f"""CREATE SERVER vtj_cron_mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER vtj_cron_mock OPTIONS (username 'mutpT1', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('cron_r', 'vtj_cron_mock', 'ASREK');""", db=DB)
    sql("SELECT vtj.lisaa_henkilot('cron_r', '{" + ",".join(mock.hetut(300)) + "}')", db=DB)
    sql("CALL vtj.lataa_perustiedot('cron_r')", db=DB)
    # The job role: LOGIN (pg_cron connects as the job's role), vtj_ajaja, USAGE on the server and
    # on schema cron, its own user mapping; it makes, fills and loads its register itself.
    sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{AJAJA}') THEN CREATE ROLE {AJAJA} LOGIN; END IF; END $$",
        db=DB)
    sql(f"GRANT vtj_ajaja TO {AJAJA}; GRANT USAGE ON FOREIGN SERVER vtj_cron_mock TO {AJAJA}; GRANT USAGE ON SCHEMA cron TO {AJAJA}",
        db=DB)
    eq(value(f"SELECT rolsuper OR rolcreaterole OR rolbypassrls FROM pg_roles WHERE rolname = '{AJAJA}'", db=DB), "f",
       "the job role is no superuser (nor CREATEROLE, nor BYPASSRLS)")
    sql(f"CREATE USER MAPPING FOR CURRENT_USER SERVER vtj_cron_mock OPTIONS (username 'mutpT1', password '{PASSWORD}')",
        db=DB, role=AJAJA)
    sql("SELECT vtj.luo_rekisteri('cron_a', 'vtj_cron_mock', 'ASREK')", db=DB, role=AJAJA)
    sql("SELECT vtj.lisaa_henkilot('cron_a', '{" + ",".join(mock.hetut(300)[100:]) + "}')", db=DB, role=AJAJA)
    sql("CALL vtj.lataa_perustiedot('cron_a')", db=DB, role=AJAJA)
    mock.advance(20)
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{mock.state()['present_date']}'", db="postgres")
    bm_before = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'cron_r'", db=DB)
    bm_before_a = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'cron_a'", db=DB)

    # every minute: this pg_cron (1.4) has no seconds schedules
    jobid = value("SELECT cron.schedule('vtj_paivita_cron_r', '* * * * *', $$CALL vtj.paivita('cron_r')$$)", db=DB)
    ok(jobid is not None, "cron.schedule('…', '* * * * *', 'CALL vtj.paivita(''cron_r'')')")
    jobid_a = value("SELECT cron.schedule('vtj_paivita_cron_a', '* * * * *', $$CALL vtj.paivita('cron_a')$$)",
                    db=DB, role=AJAJA)
    eq(value(f"SELECT username FROM cron.job WHERE jobid = {jobid_a}", db=DB), AJAJA,
       "the job role schedules its own job (cron.schedule as itself): pg_cron will run it as that role")

    def first_run(job):
        rows = sql(f"SELECT status, return_message, username FROM cron.job_run_details WHERE jobid = {job} "
                   "AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1", db=DB)
        return rows[0] if rows else None

    status = status_a = None
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and (status is None or status_a is None):
        status = status or first_run(jobid)
        status_a = status_a or first_run(jobid_a)
        time.sleep(1)
    ok(status is not None and status[0] == "succeeded", "pg_cron ran the job and it succeeded", status)
    ok(status_a is not None and status_a[0] == "succeeded" and status_a[2] == AJAJA,
       "pg_cron ran the job role's job as that role, and it succeeded", status_a)
    runs_a = sql("SELECT tila, muutoksia > 0, kirjausavain_loppu FROM vtj.ajo WHERE rekisteri = 'cron_a' AND laji = 'paivita' "
                 "ORDER BY ajo LIMIT 1", db=DB, role=AJAJA)
    ok(runs_a and runs_a[0][0] == "ok" and runs_a[0][1] == "t", "… the job role sees its run in vtj.ajo, with the changes applied",
       runs_a)
    bm_a = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'cron_a'", db=DB, role=AJAJA)
    eq(bm_a, str(mock.state()["bookmark"]), "… and its register's bookmark moved to the present")
    ok(bm_before_a != bm_a, "(the job role's window was not empty)")
    eq(value("SELECT count(*) > 0 FROM vtj.muutosloki WHERE rekisteri = 'cron_a'", db=DB, role=AJAJA), "t",
       "… and the changes are in its register's change log")
    runs = sql("SELECT tila, muutoksia > 0, kirjausavain_loppu FROM vtj.ajo WHERE rekisteri = 'cron_r' AND laji = 'paivita' "
               "ORDER BY ajo LIMIT 1", db=DB)
    ok(runs and runs[0][0] == "ok" and runs[0][1] == "t", "… vtj.ajo has the run, with the changes applied", runs)
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'cron_r'", db=DB), str(mock.state()["bookmark"]),
       "… and the register's bookmark moved to the present")
    ok(bm_before != str(mock.state()["bookmark"]), "(the window was not empty)")
    # Overlapping runs of one register: a manual run while cron keeps firing never interleaves.
    sql("CALL vtj.paivita('cron_r')", db=DB)
    eq(value("SELECT cron.unschedule('vtj_paivita_cron_r')", db=DB), "t", "cron.unschedule removes the job")
    eq(value("SELECT cron.unschedule('vtj_paivita_cron_a')", db=DB, role=AJAJA), "t", "… and the job role removes its own")
    jobids_done = f"{jobid}, {jobid_a}"
    jobid = jobid_a = None
    time.sleep(3)
    fails = sql(f"SELECT status, return_message FROM cron.job_run_details WHERE jobid IN ({jobids_done}) AND status = 'failed' "
                "AND return_message NOT LIKE '%already being updated%'", db=DB)
    eq(fails, [], "no cron run failed (a run meeting another one only stops with 'already being updated')")
finally:
    try:
        if jobid is not None:
            sql("SELECT cron.unschedule('vtj_paivita_cron_r')", db=DB)
        if jobid_a is not None:
            sql(f"SELECT cron.unschedule({jobid_a})", db=DB)
        if not created_cron:
            sql("DELETE FROM cron.job_run_details WHERE command LIKE '%vtj.paivita(''cron_r'')%' "
                "OR command LIKE '%vtj.paivita(''cron_a'')%'", db=DB)
        for r in ("cron_r", "cron_a"):
            sql(f"SELECT vtj.poista_rekisteri('{r}') WHERE EXISTS (SELECT 1 FROM vtj.rekisteri WHERE rekisteri = '{r}')", db=DB)
        sql("DROP SCHEMA IF EXISTS vtj_vtj_cron_mock CASCADE; DROP SERVER IF EXISTS vtj_cron_mock CASCADE", db=DB)
        sql(f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{AJAJA}') THEN "
            f"EXECUTE 'DROP OWNED BY {AJAJA}'; EXECUTE 'DROP ROLE {AJAJA}'; END IF; END $$", db=DB)
        sql(f"ALTER DATABASE {DB} RESET vtj_testi.tanaan", db="postgres")
        if created_cron:
            sql("DROP EXTENSION pg_cron", db=DB)
        if created_vtj:
            sql("DROP EXTENSION vtj_fdw; DROP SCHEMA IF EXISTS vtj", db=DB)
    finally:
        mock.stop()
left = sql("SELECT (SELECT count(*) FROM pg_extension WHERE extname IN ('vtj_fdw', 'pg_cron')), "
           "(SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vtj%'), "
           "(SELECT count(*) FROM pg_foreign_server WHERE srvname = 'vtj_cron_mock'), "
           f"(SELECT count(*) FROM pg_roles WHERE rolname = '{AJAJA}')", db=DB)
eq(left, [[str(2 - int(created_vtj) - int(created_cron)), str(0 if created_vtj else 1), "0", "0"]],
   "everything the script created in database postgres is gone")
done()
