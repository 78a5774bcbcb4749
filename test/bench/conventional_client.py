#!/usr/bin/env python3
"""The conventional client beside vtj_fdw (issue 18): what a register load written the usual way
does. Sequential POST /perustiedot requests of BATCH hetus on one keep-alive connection, each
answer parsed and its rows streamed into one COPY of a keyed table — one row per person and data
group (hetu, tietoryhma, tiedot jsonb: the group's objects as a JSON array; primary key (hetu,
tietoryhma)). No censorship, no bookkeeping: a lower bound on the work a real client does.

The COPY runs in a psql child (psycopg is not installed): rows go to its standard input as the
answers arrive, so the database works while the next answer is awaited only as far as the pipe's
buffer allows, as a simple client's would.

usage: conventional_client.py HETU_FILE ACCOUNT PASSWORD BATCH TABLE   (prints JSON)
Connection from PGHOST/PGPORT/PGUSER/PGDATABASE, the mock from VTJ_MOCK_URL, psql from VTJ_PG_BIN."""
import base64
import http.client
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlparse


def copy_text(value):
    """A value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def rows_of(answer):
    """(hetu, tietoryhma, tiedot) per person and group, the groups in order of first appearance."""
    for person in answer.get("perustiedot", []):
        hetu = person["henkilotunnus"]
        groups = {}
        for obj in person.get("tietoryhmat", []):
            groups.setdefault(obj.get("tietoryhma", ""), []).append(obj)
        for tietoryhma, objects in groups.items():
            yield hetu, tietoryhma, json.dumps(objects, ensure_ascii=False, separators=(",", ":"))


def main():
    hetu_file, account, password, batch, table = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    hetus = [h.strip() for h in open(hetu_file) if h.strip()]
    url = urlparse(os.environ["VTJ_MOCK_URL"])
    auth = "Basic " + base64.b64encode(f"{account}:{password}".encode()).decode()
    psql = os.path.join(os.environ.get("VTJ_PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")

    t = time.monotonic()
    copy = subprocess.Popen([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f"COPY {table} FROM STDIN"],
                            stdin=subprocess.PIPE, text=True, encoding="utf-8")
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    requests = rows = received = 0
    for i in range(0, len(hetus), batch):
        body = json.dumps({"hetulista": hetus[i:i + batch]})
        conn.request("POST", url.path + "/perustiedot", body, {"Authorization": auth, "Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise SystemExit(f"POST /perustiedot answered HTTP {resp.status}")
        requests += 1
        received += len(data)
        lines = []
        for hetu, tietoryhma, tiedot in rows_of(json.loads(data)):
            lines.append(f"{copy_text(hetu)}\t{copy_text(tietoryhma)}\t{copy_text(tiedot)}\n")
        rows += len(lines)
        copy.stdin.write("".join(lines))
    conn.close()
    copy.stdin.close()
    if copy.wait() != 0:
        raise SystemExit("COPY failed")
    dt = time.monotonic() - t
    json.dump({"seconds": dt, "requests": requests, "rows": rows, "bytes": received,
               "persons_per_s": len(hetus) / dt}, sys.stdout)


if __name__ == "__main__":
    main()
