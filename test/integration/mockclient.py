#!/usr/bin/env python3
"""A plain, independent client of the mock for the integration tests: what the interface
serves, fetched without vtj_fdw, to compare the foreign tables with.

Usage (prints JSON on stdout):
  mockclient.py hetut N [KIND]                 hetus of the population (array)
  mockclient.py perustiedot ACCOUNT HETUS_JSON [(persons, groups) summary and rows]
  mockclient.py muutokset ACCOUNT BOOKMARK HETUS_JSON
  mockclient.py kirjausavain ACCOUNT DAY
  mockclient.py requests [ENDPOINT]            request log entries
Environment: VTJ_MOCK_ROOT, VTJ_MOCK_PASSWORD.
"""
import base64
import json
import os
import sys
import urllib.request

ROOT = os.environ["VTJ_MOCK_ROOT"]
PASSWORD = os.environ.get("VTJ_MOCK_PASSWORD", "demo")


def call(method, path, body=None, account=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(ROOT + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if account:
        token = base64.b64encode(f"{account}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read().decode("utf-8"))


def hetut(n, kind=None):
    q = f"/_control/hetut?limit={n}" + (f"&kind={kind}" if kind else "")
    return call("GET", q)


def perustiedot(account, hetus):
    rows = []
    for i in range(0, len(hetus), 1000):
        page = call("POST", "/api/v1/perustiedot", {"hetulista": hetus[i:i + 1000]}, account)
        for person in page["perustiedot"]:
            for g in person["tietoryhmat"]:
                rows.append({"hetu": person["henkilotunnus"], "tiedot": g})
    return rows


def muutokset(account, bookmark, hetus):
    rows, pages = [], 0
    while True:
        page = call("POST", "/api/v1/muutokset", {"viimeisinKirjausavain": bookmark, "hetulista": hetus}, account)
        pages += 1
        for change in page["muutokset"]:
            for g in change["tietoryhmat"]:
                rows.append({"hetu": change["henkilotunnus"], "muutospv": change["muutospv"],
                             "kirjausavain": page["viimeisinKirjausavain"], "tiedot": g})
        bookmark = page["viimeisinKirjausavain"]
        if page["ajanTasalla"]:
            return {"rows": rows, "final": bookmark, "pages": pages}


def main(argv):
    cmd = argv[1]
    if cmd == "hetut":
        out = hetut(int(argv[2]), argv[3] if len(argv) > 3 else None)
    elif cmd == "perustiedot":
        out = perustiedot(argv[2], json.loads(argv[3]))
    elif cmd == "muutokset":
        out = muutokset(argv[2], int(argv[3]), json.loads(argv[4]))
    elif cmd == "kirjausavain":
        out = call("GET", f"/api/v1/kirjausavain/{argv[3]}", account=argv[2])
    elif cmd == "requests":
        log = call("GET", "/_control/requests")
        out = [r for r in log if len(argv) < 3 or r.get("endpoint") == argv[2]]
    else:
        raise SystemExit("unknown command " + cmd)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv)
