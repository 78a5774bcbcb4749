"""TAP-style helpers for the Python integration scripts (test/run counts "ok"/"not ok" lines),
a psql runner against the throwaway cluster, and the mock's control API. A script that needs a
mock of its own starts it with vtjmock.launch.MockProcess (test/mock is put on the path here)."""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mock"))
import mockclient  # noqa: E402

PSQL = os.environ.get("VTJ_PG_BIN", "/usr/lib/postgresql/15/bin") + "/psql"
_n = 0
_failed = 0


def ok(cond, desc, diag=None):
    global _n, _failed
    _n += 1
    if cond:
        print(f"ok {_n} - {desc}", flush=True)
    else:
        _failed += 1
        print(f"not ok {_n} - {desc}", flush=True)
        if diag is not None:
            for line in str(diag)[:4000].splitlines():
                print("#   " + line, flush=True)
    return cond


def eq(got, want, desc):
    return ok(got == want, desc, f"got:  {got!r}\nwant: {want!r}")


def done():
    sys.exit(1 if _failed else 0)


class SqlError(Exception):
    def __init__(self, sqlstate, message, text):
        super().__init__(message)
        self.sqlstate, self.message, self.text = sqlstate, message, text


def sql(query, db=None, role=None, settings=(), timeout=300):
    """Runs SQL; returns the rows of the last statement as lists of strings (NULL -> None).
    Raises SqlError with the SQLSTATE on error."""
    # Each SET is a statement of its own (psql sends every -c separately): a CALL of a procedure
    # that commits must not share a transaction with them.
    pre = [f"SET {s}" for s in settings] + ([f"SET ROLE {role}"] if role else [])
    args = [PSQL, "-X", "-q", "-A", "-t", "-F", "\x1f", "-P", "null=\x1e", "-v", "ON_ERROR_STOP=1",
            "-v", "VERBOSITY=verbose", "-c", "\\set VERBOSITY verbose"]
    for p_ in pre:
        args += ["-c", p_]
    args += ["-c", query]
    if db:
        args += ["-d", db]
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        err = p.stderr
        state = ""
        for line in err.splitlines():
            if line.startswith("ERROR:"):
                parts = line.split(":", 2)
                state = parts[1].strip() if len(parts) > 2 else ""
                break
        raise SqlError(state, err, err)
    rows = []
    for line in p.stdout.split("\n"):  # not splitlines(): it also splits on \x1e, the NULL marker
        if line == "":
            continue
        rows.append([None if v == "\x1e" else v for v in line.split("\x1f")])
    return rows


def sql_error(query, **kw):
    """Runs SQL expecting an error; returns SqlError (or None when it succeeded)."""
    try:
        sql(query, **kw)
    except SqlError as e:
        return e
    return None


def value(query, **kw):
    rows = sql(query, **kw)
    return rows[0][0] if rows else None


def mock(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(mockclient.ROOT + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read().decode()
        return json.loads(raw) if raw else None


def requests(endpoint=None):
    log = mock("GET", "/_control/requests")
    return [r for r in log if endpoint is None or r.get("endpoint") == endpoint]


def clear_requests():
    mock("DELETE", "/_control/requests")


def fault(kind, count=1, endpoint="any", **params):
    body = {"kind": kind, "count": count, "endpoint": endpoint}
    body.update(params)
    mock("POST", "/_control/fault", body)


def clear_faults():
    mock("DELETE", "/_control/fault")


def pg_array(values):
    return "'{" + ",".join(values) + "}'::text[]"


def fresh_db(name):
    sql(f"DROP DATABASE IF EXISTS {name}", db="postgres")
    sql(f"CREATE DATABASE {name}", db="postgres")
    os.environ["PGDATABASE"] = name


def elapsed(fn):
    t = time.monotonic()
    r = fn()
    return r, time.monotonic() - t


SERVER_ENV_NAMES = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "ASAN_SYMBOLIZER_PATH")


def shared_server_env():
    """The sanitizer settings of the suite's running postmaster (empty outside the sanitize stage):
    a private cluster of a script starts with them, so that it runs as the suite's does."""
    try:
        data = value("SHOW data_directory", db="postgres")
        with open(os.path.join(data, "postmaster.pid")) as f:
            pid = int(f.readline())
        with open(f"/proc/{pid}/environ", "rb") as f:
            pairs = [x.split(b"=", 1) for x in f.read().split(b"\0") if b"=" in x]
        return {k.decode(): v.decode() for k, v in pairs if k.decode() in SERVER_ENV_NAMES}
    except (OSError, ValueError):
        return {}
