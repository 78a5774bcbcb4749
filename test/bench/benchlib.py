"""Pieces of the benchmarks: a throwaway cluster (through test/lib.sh, so that it is set up
exactly as in the tests), a mock process, psql sessions, the backend's memory figures."""
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.append(os.path.join(ROOT, "test", "mock"))
from vtjmock.launch import MockProcess  # noqa: E402

PG_BIN = os.environ.get("VTJ_PG_BIN", "/usr/lib/postgresql/15/bin")
PASSWORD = os.environ.get("VTJ_MOCK_PASSWORD", "vtj-mock-Salasana-7f3e")


def lib(script):
    """Runs bash with test/lib.sh sourced; returns the environment it ends with."""
    out = subprocess.run(["bash", "-c", f"source '{ROOT}/test/lib.sh' && {script} >&2 && export VTJ_CLUSTER_DIR && env -0"],
                         check=True, stdout=subprocess.PIPE).stdout
    return dict(kv.split("=", 1) for kv in out.decode().split("\0") if "=" in kv)


class Cluster:
    def __init__(self, *conf):
        args = " ".join("'" + c.replace("'", "'\\''") + "'" for c in conf)
        env = lib(f"vtj_start_cluster {args}")
        self.dir = env["VTJ_CLUSTER_DIR"]
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
            os.environ[k] = env[k]

    def stop(self):
        lib(f"VTJ_CLUSTER_DIR='{self.dir}' vtj_stop_cluster")


class Mock(MockProcess):
    """The benchmark's mock (vtjmock.launch starts it); its URLs go to the environment too."""

    def __init__(self, persons, *flags):
        super().__init__("--persons", persons, "--seed", 1, "--password", PASSWORD, "--quiet", *flags, timeout=1800)
        os.environ["VTJ_MOCK_ROOT"], os.environ["VTJ_MOCK_URL"] = self.root, self.url

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.root + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def requests(self):
        return self.call("GET", "/_control/requests")

    def clear_requests(self):
        self.call("DELETE", "/_control/requests")

    def rss_mb(self):
        with open(f"/proc/{self.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def psql(sql, db=None, app="vtj_bench", check=True):
    """Runs SQL in one session; returns (stdout lines, seconds). `sql` may be a list: each
    element is sent as its own -c (its own transaction), which CALL of a procedure that
    commits needs."""
    env = dict(os.environ, PGAPPNAME=app)
    args = [f"{PG_BIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    for statement in ([sql] if isinstance(sql, str) else sql):
        args += ["-c", statement]
    if db:
        args += ["-d", db]
    t = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    dt = time.monotonic() - t
    if check and p.returncode != 0:
        raise RuntimeError(f"psql failed: {p.stderr.strip()}\n-- {str(sql)[:300]}")
    return [line for line in p.stdout.split("\n") if line], dt


# The last statement of a measured session: the backend's own memory figures (it reads /proc/self).
MEMORY_SQL = "SELECT 'VmHWM=' || substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\\s+(\\d+)')"


def peak_mb(lines):
    for line in lines:
        if line.startswith("VmHWM="):
            return int(line[6:]) / 1024
    return float("nan")


class PrivateMemory:
    """Samples the private (anonymous) resident memory of the backend whose application_name is
    `app`, every 50 ms, while a measured statement runs: VmHWM also counts the shared buffers
    the backend touched, which are the server's cache, not the backend's own memory."""

    def __init__(self, app):
        self.app, self.peak_kb, self._stop = app, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        pid = None
        while not self._stop.is_set():
            if pid is None:
                lines, _ = psql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{self.app}'",
                                app="vtj_bench_probe", check=False)
                pid = lines[0] if lines else None
            else:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        m = re.search(r"RssAnon:\s+(\d+)", f.read())
                    self.peak_kb = max(self.peak_kb, int(m.group(1)))
                except OSError:
                    pid = None
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self):
        return self.peak_kb / 1024


def table(rows, headers):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out)
