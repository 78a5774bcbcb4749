#!/usr/bin/env python3
"""Crashes (issue 15, item 8), in a private cluster of this script's own: a kill -9 of a backend
restarts every backend of its cluster and pg_ctl stop -m immediate stops it, which the suite's
shared cluster must not see. The private cluster runs the same binaries (VTJ_PG_BIN) with the
same server environment as the suite's (under the sanitize stage: the sanitizer runtime
preloaded, read from the shared postmaster's environment).

- kill -9 of the backend in the middle of vtj.lataa_perustiedot (56_mirror_runs terminates a load
  with pg_terminate_backend, which lets the backend end cleanly; this is a crash);
- kill -9 in the middle of a long vtj.paivita with many pages (the mock slowed by latency);
- pg_ctl stop -m immediate in the middle of vtj.paivita, then a restart (crash recovery);
- the bookmark rewound by months (a replay of changes already applied).

After each: vtj.ajo shows the dead run as 'keskeytynyt' (with when it was last seen alive) and
the one after it as ok; the rerun converges to the mock's truth for every member; the change log
has no row twice and, for a window, exactly the interface's change records of the product's groups
for the members."""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from mirrorlib import OwnMock, PASSWORD, PRODUCTS, compare
from taplib import PSQL, done, eq, ok, shared_server_env, sql, value

PG_BIN = os.environ.get("VTJ_PG_BIN", "/usr/lib/postgresql/15/bin")
DB = "vtj_it_crash"
N = 800
class PrivateCluster:
    def __init__(self, env):
        self.env = env
        self.dir = tempfile.mkdtemp(prefix="vtj_crash_")
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.data = os.path.join(self.dir, "data")
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres",
                        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.port}\nlisten_addresses = ''\nunix_socket_directories = '{self.dir}'\n"
                    "max_connections = 20\nshared_buffers = 64MB\nfsync = off\nfull_page_writes = off\n"
                    "log_min_messages = warning\nlog_line_prefix = '%m [%p] '\n")
        self.start()

    def pg_ctl(self, *args):
        envs = [f"{k}={v}" for k, v in self.env.items()]
        return subprocess.run(["runuser", "-u", "postgres", "--", "env", *envs, f"{PG_BIN}/pg_ctl", "-D", self.data,
                               "-l", os.path.join(self.dir, "server.log"), *args], capture_output=True, text=True)

    def start(self):
        p = self.pg_ctl("-w", "-t", "120", "start")
        if p.returncode != 0:
            raise RuntimeError("private cluster did not start: " + p.stderr + self.log_tail())

    def stop_immediate(self):
        return self.pg_ctl("-m", "immediate", "-w", "stop").returncode == 0

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def destroy(self):
        self.pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def psql_async(command):
    env = dict(os.environ, PGDATABASE=DB)
    return subprocess.Popen([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_for(query, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            v = value(query, db=DB)
            if v:
                return v
        except Exception:
            pass
        time.sleep(0.05)
    return None


def wait_for_server(timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if value("SELECT 1", db=DB) == "1":
                return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


env = shared_server_env()
cluster = PrivateCluster(env)
os.environ.update(PGHOST=cluster.dir, PGPORT=str(cluster.port), PGUSER="postgres")
mock = OwnMock(N, 71, "--start-days", 20, "--change-rate", 0.3, "--turvakielto-share", 0.03, "--page-size", 25)
GROUPS = set(PRODUCTS["ASREK"][0])


def set_today():
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def latency(ms):
    mock.call("POST", "/_control/latency", {"ms": ms})


def members():
    return [r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'r'", db=DB)]


def converged(desc, today):
    now = members()
    diffs = compare(DB, "r", "ASREK", mock.perustiedot(now), today, now)
    ok(not diffs, f"{desc}: the mirror equals the truth for all {len(now)} members",
       "\n".join(json.dumps(d, ensure_ascii=False)[:400] for d in diffs[:4]))


def log_duplicates():
    """Changes of the interface (a person's change record: hetu and muutospv) that more than one
    run logged. (Within one change record two rows may be alike: two guardians added. Members' events
    — JASEN, SENSUROITU — have no muutospv: they are not the interface's change records.)"""
    return int(value("SELECT count(*) FROM (SELECT 1 FROM vtj.muutosloki WHERE rekisteri = 'r' "
                     "AND muutosattribuutti IS DISTINCT FROM 'PERUSTIEDOT' AND muutospv IS NOT NULL "
                     "GROUP BY hetu, muutospv HAVING count(DISTINCT ajo) > 1) d", db=DB))


def window_rows(start, hetus):
    """The interface's change records of the product's groups for the members, after `start`."""
    return sum(1 for _h, g in mock.muutokset(start, hetus) if g.get("tietoryhma") in GROUPS)


def logged_rows(start):
    return int(value(f"SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'r' AND kirjausavain > {start} "
                     "AND muutosattribuutti IS DISTINCT FROM 'PERUSTIEDOT'", db=DB))


def runs(laji):
    return [r[0] for r in sql(f"SELECT tila FROM vtj.ajo WHERE rekisteri = 'r' AND laji = '{laji}' ORDER BY ajo", db=DB)]


try:
    eq(value("SELECT current_setting('port') || ' ' || current_setting('data_directory')", db="postgres"),
       f"{cluster.port} {cluster.data}",
       "the script works in its private cluster" + (f" (server environment: {', '.join(sorted(env))})" if env else ""))
    sql(f"CREATE DATABASE {DB}", db="postgres")
    today = set_today()
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}', max_retries '1',
                   perustiedot_batch_size '50', muutokset_batch_size '100', parallel_requests '2');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('r', 'plain', 'ASREK');""", db=DB)
    hetus = mock.hetut(N)
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[:600]) + "}')", db=DB)

    # ---- 1. kill -9 in the middle of the initial load ---------------------------------------------
    latency(300)
    mock.clear_requests()
    load = psql_async("CALL vtj.lataa_perustiedot('r', 50)")
    pid = wait_for("SELECT pid FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'lataa_perustiedot' AND tila = 'kaynnissa' "
                   "AND henkiloita >= 100")
    ok(pid is not None, "the load runs and has committed batches (its row: kaynnissa, with its backend)")
    if pid:
        os.kill(int(pid), signal.SIGKILL)
    load.communicate(timeout=120)
    ok(wait_for_server(), "the cluster is back after kill -9 of the load's backend")
    latency(0)
    loaded = int(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND ladattu IS NOT NULL", db=DB))
    ok(100 <= loaded < 600 and loaded % 50 == 0, f"the batches committed before the kill stay loaded ({loaded} of 600)")
    eq(sql("SELECT tila, henkiloita::int = " + str(loaded) + ", loppu IS NOT NULL AND loppu = elossa FROM vtj.ajo "
           "WHERE rekisteri = 'r' AND laji = 'lataa_perustiedot'", db=DB), [["keskeytynyt", "t", "t"]],
       "vtj.ajo shows the killed load as keskeytynyt, with the members it loaded and when it was last seen alive")
    time.sleep(0.7)                 # a request in flight at the kill is logged once the mock answers it
    mock.clear_requests()
    sql("CALL vtj.lataa_perustiedot('r', 50)", db=DB)
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND ladattu IS NULL", db=DB), "0",
       "the next load loads the rest")
    eq(sum(r["hetus"] for r in mock.requests("perustiedot")), 600 - loaded,
       "… asking only for the members the killed load had not committed")
    eq(runs("lataa_perustiedot"), ["keskeytynyt", "ok"], "… and vtj.ajo has the dead load and the good one, nothing else")
    eq(value("SELECT count(*) FROM (SELECT hetu FROM vtj.tieto WHERE rekisteri = 'r' GROUP BY hetu, tietoryhma "
             "HAVING count(*) > 1) d", db=DB), "0", "… no person's group is stored twice")
    converged("after the killed load and its rerun", today)

    # ---- 2. kill -9 in the middle of a change run with many pages ------------------------------------
    mock.advance(20)
    today = set_today()
    start = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB))
    asked = members()          # the hetus the run asks the window for
    latency(250)
    mock.clear_requests()
    run = psql_async("CALL vtj.paivita('r')")
    pid = wait_for("SELECT pid FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'paivita' AND tila = 'kaynnissa'")
    deadline = time.time() + 60
    while time.time() < deadline and len(mock.requests("muutokset")) < 3:
        time.sleep(0.05)
    pages_before_kill = len(mock.requests("muutokset"))
    still = run.poll() is None
    if pid:
        os.kill(int(pid), signal.SIGKILL)
    run.communicate(timeout=120)
    ok(still and pages_before_kill >= 3, f"the run was killed mid-scan, after {pages_before_kill} pages")
    ok(wait_for_server(), "the cluster is back after kill -9 of the run's backend")
    latency(0)
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB), str(start),
       "the killed run saved no bookmark")
    eq(logged_rows(start), 0, "… and logged no change")
    eq(runs("paivita"), ["keskeytynyt"], "vtj.ajo shows the killed run as keskeytynyt")
    sql("CALL vtj.paivita('r')", db=DB)
    eq(runs("paivita"), ["keskeytynyt", "ok"], "the rerun is ok")
    converged("after the killed run and its rerun", today)
    want = window_rows(start, asked)
    ok(want > 100, f"(the window has {want} change records of the product's groups)")
    eq(logged_rows(start), want, "the change log holds each change record of the window once")
    eq(log_duplicates(), 0, "… no change-log row is there twice")

    # ---- 3. pg_ctl stop -m immediate in the middle of a change run, then a restart ---------------------
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(hetus[600:700]) + "}')", db=DB)
    mock.advance(15)
    today = set_today()
    start = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB))
    # (the members added now are loaded by the run, not asked for changes)
    asked = [h for h in members() if h not in set(hetus[600:700])]
    latency(250)
    mock.clear_requests()
    run = psql_async("CALL vtj.paivita('r')")
    pid = wait_for("SELECT pid FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'paivita' AND tila = 'kaynnissa'")
    deadline = time.time() + 60
    while time.time() < deadline and len(mock.requests("muutokset")) < 2:
        time.sleep(0.05)
    still = run.poll() is None
    stopped = cluster.stop_immediate()
    run.communicate(timeout=120)
    ok(pid is not None and still and stopped, "pg_ctl stop -m immediate while the run was in its change scan")
    cluster.start()
    ok(wait_for_server(), "the cluster starts again (crash recovery)")
    latency(0)
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB), str(start),
       "the stopped run saved no bookmark")
    eq(sql("SELECT tila, loppu IS NOT NULL FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'paivita' ORDER BY ajo DESC LIMIT 1",
           db=DB), [["keskeytynyt", "t"]], "after the restart vtj.ajo shows the stopped run as keskeytynyt, ended")
    sql("CALL vtj.paivita('r')", db=DB)
    eq(runs("paivita"), ["keskeytynyt", "ok", "keskeytynyt", "ok"], "the rerun is ok; vtj.ajo has every run as it went")
    eq(sql("SELECT tila FROM vtj_internal.ajo WHERE rekisteri = 'r' AND laji = 'paivita' ORDER BY ajo", db=DB),
       [["keskeytynyt"], ["ok"], ["keskeytynyt"], ["ok"]], "… in the table itself too (the next run marked the dead one)")
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND ladattu IS NULL", db=DB), "0",
       "the members added before the stopped run are loaded by the rerun")
    converged("after the stopped run, the restart and the rerun", today)
    eq(logged_rows(start), window_rows(start, asked), "the change log holds each change record of the window once")
    eq(log_duplicates(), 0, "… no change-log row is there twice")

    # ---- 4. the bookmark rewound by months: a replay ---------------------------------------------------
    sql("UPDATE vtj.rekisteri SET sailytysaika = NULL WHERE rekisteri = 'r'", db=DB)
    months_ago = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB))
    want = 0
    for days in (30, 30, 30):
        mock.advance(days)
        today = set_today()
        b, asked = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB)), members()
        sql("CALL vtj.paivita('r')", db=DB)
        want += window_rows(b, asked)
    logged = logged_rows(months_ago)
    eq(logged, want, f"three monthly runs logged each change record once ({want})")
    before = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB)
    sql(f"UPDATE vtj.rekisteri SET kirjausavain = {months_ago} WHERE rekisteri = 'r'", db=DB)
    sql("CALL vtj.paivita('r')", db=DB)
    eq(sql("SELECT tila, kirjausavain_alku::text, kirjausavain_loppu::text FROM vtj.ajo WHERE rekisteri = 'r' "
           "AND laji = 'paivita' ORDER BY ajo DESC LIMIT 1", db=DB), [["ok", str(months_ago), before]],
       "a run from a bookmark three months back is ok and ends at the present's bookmark")
    converged("after replaying three months of changes", today)
    eq(log_duplicates(), 0, "the replay logged no change a second time")
    # The replay asks for the members' hetus of today: a member whose hetu was corrected in those
    # months had its later changes fetched as basic data by the run that moved it, and the replay
    # now sees them as changes; those are the only rows it may add.
    new_rows = sql("SELECT m.hetu, cardinality(j.edelliset) > 0 FROM vtj.muutosloki m "
                   "JOIN vtj.jasen j ON j.rekisteri = m.rekisteri AND j.hetu = m.hetu "
                   "WHERE m.rekisteri = 'r' AND m.ajo = (SELECT max(ajo) FROM vtj_internal.ajo WHERE rekisteri = 'r') "
                   "AND m.muutosattribuutti IS DISTINCT FROM 'PERUSTIEDOT'", db=DB)
    ok(all(r[1] == "t" for r in new_rows),
       f"… the replay logged only changes no run had logged: {len(new_rows)} rows, all of members whose hetu was "
       "corrected in the window", new_rows[:10])
    eq(logged_rows(months_ago), logged + len(new_rows), f"… the change log holds the {logged} rows of the three months once")
finally:
    mock.stop()
    tail = cluster.log_tail()
    cluster.destroy()
    if "AddressSanitizer" in tail or "runtime error:" in tail:
        print("# " + tail.replace("\n", "\n# "))
done()
