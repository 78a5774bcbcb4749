#!/usr/bin/env python3
"""vtj.paivita scheduled with the real pg_cron extension. pg_cron runs jobs in the database
named by cron.database_name ('postgres' in the test cluster), so the register lives there; the
script removes everything it created in 'postgres' at the end, also when a check fails."""
import datetime
import time

from mirrorlib import OwnMock, PASSWORD
from taplib import done, eq, ok, sql, value

DB = "postgres"
mock = OwnMock(300, 41, "--start-days", 5, "--change-rate", 0.5)
created_vtj = created_cron = False
jobid = None
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
    mock.advance(20)
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{mock.state()['present_date']}'", db="postgres")
    bm_before = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'cron_r'", db=DB)

    # every minute: this pg_cron (1.4) has no seconds schedules
    jobid = value("SELECT cron.schedule('vtj_paivita_cron_r', '* * * * *', $$CALL vtj.paivita('cron_r')$$)", db=DB)
    ok(jobid is not None, "cron.schedule('…', '* * * * *', 'CALL vtj.paivita(''cron_r'')')")
    status = None
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        rows = sql(f"SELECT status, return_message FROM cron.job_run_details WHERE jobid = {jobid} "
                   "AND status IN ('succeeded', 'failed') ORDER BY runid", db=DB)
        if rows:
            status = rows[0]
            break
        time.sleep(1)
    ok(status is not None and status[0] == "succeeded", "pg_cron ran the job and it succeeded", status)
    runs = sql("SELECT tila, muutoksia > 0, kirjausavain_loppu FROM vtj.ajo WHERE rekisteri = 'cron_r' AND laji = 'paivita' "
               "ORDER BY ajo LIMIT 1", db=DB)
    ok(runs and runs[0][0] == "ok" and runs[0][1] == "t", "… vtj.ajo has the run, with the changes applied", runs)
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'cron_r'", db=DB), str(mock.state()["bookmark"]),
       "… and the register's bookmark moved to the present")
    ok(bm_before != str(mock.state()["bookmark"]), "(the window was not empty)")
    # Overlapping runs of one register: a manual run while cron keeps firing never interleaves.
    sql("CALL vtj.paivita('cron_r')", db=DB)
    eq(value("SELECT cron.unschedule('vtj_paivita_cron_r')", db=DB), "t", "cron.unschedule removes the job")
    jobid_done = jobid
    jobid = None
    time.sleep(3)
    fails = sql(f"SELECT status, return_message FROM cron.job_run_details WHERE jobid = {jobid_done} AND status = 'failed' "
                "AND return_message NOT LIKE '%already being updated%'", db=DB)
    eq(fails, [], "no cron run failed (a run meeting another one only stops with 'already being updated')")
finally:
    try:
        if jobid is not None:
            sql("SELECT cron.unschedule('vtj_paivita_cron_r')", db=DB)
        sql("DELETE FROM cron.job_run_details WHERE command LIKE '%vtj.paivita(''cron_r'')%'", db=DB) if not created_cron else None
        sql("SELECT vtj.poista_rekisteri('cron_r') WHERE EXISTS (SELECT 1 FROM vtj.rekisteri WHERE rekisteri = 'cron_r')", db=DB)
        sql("DROP SCHEMA IF EXISTS vtj_vtj_cron_mock CASCADE; DROP SERVER IF EXISTS vtj_cron_mock CASCADE", db=DB)
        sql(f"ALTER DATABASE {DB} RESET vtj_testi.tanaan", db="postgres")
        if created_cron:
            sql("DROP EXTENSION pg_cron", db=DB)
        if created_vtj:
            sql("DROP EXTENSION vtj_fdw; DROP SCHEMA IF EXISTS vtj", db=DB)
    finally:
        mock.stop()
left = sql("SELECT (SELECT count(*) FROM pg_extension WHERE extname IN ('vtj_fdw', 'pg_cron')), "
           "(SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vtj%'), "
           "(SELECT count(*) FROM pg_foreign_server WHERE srvname = 'vtj_cron_mock')", db=DB)
eq(left, [[str(2 - int(created_vtj) - int(created_cron)), str(0 if created_vtj else 1), "0"]],
   "everything the script created in database postgres is gone")
done()
