#!/usr/bin/env python3
"""The fault matrix (issue 15, item 7): every fault kind of the mock and of the corrupting proxy
(test/proxy/corrupting_proxy.py), each applied to a scan and to CALL vtj.paivita (the VTJkysely
ones to a look-up), with the SQLSTATE asserted, then healed and run again: the mirror equals the
mock's truth for every member after each heal.

For a failed change run it also checks what is kept: the bookmark is unchanged and the run's row
in vtj.ajo is 'virhe' with the same SQLSTATE. For a failed look-up: the accountability log has
its row ("sent, no answer": paluukoodi NULL). A fault the extension should refuse but takes in
silently (00000 where an error class is expected) fails the check of that row.

The server's timeouts are low (request_timeout 2 s, connect_timeout 1 s, no retry but in the
rows that test a retry), so a stalled answer ends within seconds; the proxy holds a stalled
answer at most 20 s.

VTJ_MATRIX_ONLY=kind1,kind2 runs only those rows (for working on one fault)."""
import datetime
import importlib.util
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.request

from mirrorlib import OwnMock, PASSWORD, ROOT_DIR, compare
from taplib import done, eq, ok, sql, sql_error, value

DB = "vtj_it_fault_matrix"
PROXY = os.path.join(ROOT_DIR, "test", "proxy", "corrupting_proxy.py")
_spec = importlib.util.spec_from_file_location("corrupting_proxy", PROXY)
_proxy_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_proxy_module)
PROXY_FAULTS = _proxy_module.FAULTS
ONLY = set(filter(None, os.environ.get("VTJ_MATRIX_ONLY", "").split(",")))
POP = 400
MEMBERS = 150


class OwnProxy:
    def __init__(self, upstream):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, PROXY, "--upstream", upstream, "--port", "0",
                                      "--hold-seconds", "20"], stdout=subprocess.PIPE, stderr=self.err)
        r, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if r else b""
        if not line.strip().isdigit():
            self.stop()
            self.err.seek(0)
            raise RuntimeError("proxy did not start: %r %s" % (line, self.err.read()[-2000:]))
        self.root = "http://127.0.0.1:%d" % int(line)
        self.stall_port = self.call("GET", "/_proxy/state")["stall_port"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.root + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def fault(self, kind, endpoint, count=3, skip=0):
        self.call("POST", "/_proxy/fault", {"kind": kind, "endpoint": endpoint, "count": count, "skip": skip})

    def clear(self):
        self.call("DELETE", "/_proxy/fault")

    def log(self):
        return self.call("GET", "/_proxy/log")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- the matrix ------------------------------------------------------------------------------------
# (source, kind, endpoint, params, scan SQLSTATE, paivita SQLSTATE, what is kept)
# source: "mock" (its /_control/fault, the server's url on the mock) or "proxy".
# endpoint: muutokset (a v.muutokset scan; the change scan of vtj.paivita), perustiedot (a
# v.perustiedot scan; vtj.paivita fetching a new member's basic data), kirjausavain (a scan with a
# muutospv window start; the present check of vtj.paivita), kysely (a vtjkysely.henkilo look-up).
# SQLSTATE "00000": the answer is read correctly (an unknown key, a status the client recovers from).
# (the README explains the two marks under its table)
FAILED_RUN = "nothing applied ¹"
FAILED_LOOKUP = "no row ²"
M = []


def row(source, kind, endpoint, scan, run, kept=None, label=None, **params):
    M.append({"source": source, "kind": kind, "endpoint": endpoint, "params": params, "scan": scan, "run": run,
              "kept": kept or (FAILED_RUN if run != "00000" else "everything: the answer is read"),
              "label": label or kind})


# the mock's fault kinds, on the REST interface (every kind on the change scan; on the basic-data
# fetch the kinds whose handling differs there)
for ep in ("muutokset", "perustiedot"):
    both = ep == "muutokset"
    for k in ("http_400", "http_404") if both else ("http_400",):
        row("mock", k, ep, "HV000", "HV000")
    for k in ("http_401", "http_403") if both else ("http_401",):
        row("mock", k, ep, "HV00N", "HV00N")
    for k in ("http_500", "http_502", "http_503", "http_504", "xroad_fault", "html_error") if both else ("http_500",):
        row("mock", k, ep, "HV000", "HV000", label=f"{k} (every attempt)", count=5)
    row("mock", "http_503", ep, "00000", "00000", label="http_503 once (retried)", count=1, retries=1,
        kept="everything: the retry's answer")
    if both:
        row("mock", "http_429", ep, "00000", "00000", label="http_429 once (retried after Retry-After)", count=1,
            retries=1, retry_after=1, kept="everything: the retry's answer")
    row("mock", "invalid_json", ep, "HV00M", "HV00M")
    row("mock", "truncated_json", ep, "HV00M", "HV00M")
    row("mock", "reset", ep, "HV00M", "HV00M", label="reset (every attempt)", count=5)
    row("mock", "reset", ep, "00000", "00000", label="reset once (retried)", count=1, retries=1,
        kept="everything: the retry's answer")
    row("mock", "slow", ep, "HV00N", "HV00N", label="slow 3 s (beyond request_timeout 2 s)", count=5, delay_ms=3000)
    if both:
        row("mock", "slow_body", ep, "HV00N", "HV00N", label="slow_body 10 × 400 ms", count=5, delay_ms=400)
    row("mock", "huge_body", ep, "HV001", "HV001", label="huge_body 100 MiB (max_response_mb 64)", mb=100)
    row("mock", "foreign_hetu", ep, "HV00M", "HV00M")
    row("mock", "garbled_hetu", ep, "HV00M", "HV00M")
    row("mock", "duplicate_key", ep, "HV00M", "HV00M")
row("mock", "nul_escape", "perustiedot", "HV00M", "HV00M")
row("mock", "duplicate_person", "perustiedot", "HV00M", "HV00M")
row("mock", "stuck_bookmark", "muutokset", "HV000", "HV000", count=5)
row("mock", "bad_muutospv", "muutokset", "HV00M", "HV00M")
row("mock", "bad_muutospv", "muutokset", "HV00M", "HV00M", label="bad_muutospv missing", missing=True)
for label, params in (("bookmark int64 max", {"value": 9223372036854775807}),
                      ("bookmark with a fraction", {"value": 5446600000.5}),
                      ("bookmark as a string", {"value": "5446600000"}),
                      ("bookmark negative", {"value": -1}),
                      ("bookmark below the request's, ajanTasalla", {"offset": -1, "empty": True, "ajanTasalla": True})):
    row("mock", "bookmark", "muutokset", "HV00M", "HV00M", label=label, **params)
row("mock", "bookmark", "kirjausavain", "HV00M", "HV00M", label="present check below the final bookmark",
    value=5446600001)
row("mock", "future_kirjausavain_404", "kirjausavain", "00000", "00000",
    label="future_kirjausavain_404 (present check not available)", count=5,
    kept="everything: the run completes without the present check")

# the proxy's kinds, on the REST interface (every kind on the change scan; on the basic-data fetch
# one of each family)
PROXY_REST = (("garbage", "HV00M"), ("banner", "HV00M"), ("silent", "HV00N"), ("slowloris", "HV00N"),
              ("trickle", "HV00N"), ("huge_cl", "HV001"), ("huge_nocl", "HV001"), ("cut", "HV00M"),
              ("empty_200", "HV00M"), ("lying_gzip", "HV00M"), ("bad_utf8", "HV00M"), ("overlong_utf8", "HV00M"),
              ("deep_json", "HV00M"), ("big_string", "00000"), ("foreign_hetu", "HV00M"), ("garbled_hetu", "HV00M"),
              ("dup_key_hetu", "HV00M"), ("wrong_type_list", "HV00M"), ("wrong_type_hetu", "HV00M"),
              ("wrong_type_groups", "HV00M"))
for k, st in PROXY_REST:
    row("proxy", k, "muutokset", st, st, kept="everything: the unknown key is ignored" if st == "00000" else None)
for k, st in PROXY_REST:
    if k in ("garbage", "silent", "huge_nocl", "cut", "empty_200", "lying_gzip", "overlong_utf8", "deep_json", "big_string",
             "foreign_hetu", "garbled_hetu", "dup_key_hetu", "wrong_type_list", "wrong_type_hetu"):
        row("proxy", k, "perustiedot", st, st, kept="everything: the unknown key is ignored" if st == "00000" else None)
# VTJkysely: the mock's and the proxy's kinds, on a look-up
for k, st in (("soap_fault", "HV000"), ("malformed_xml", "HV00M"), ("xml_entity_attack", "HV00M"),
              ("soap_paluukoodi", "HV000"), ("xml_deep_nesting", "HV00M"), ("xml_invalid_utf8", "HV00M"),
              ("xml_external_entity", "HV00M"), ("xml_xinclude", "HV00M"), ("xml_wrong_encoding", "HV00M"),
              ("xml_huge_attribute", "HV00M"), ("http_500", "HV000"), ("reset", "HV00M")):
    row("mock", k, "kysely", st, None, kept=FAILED_LOOKUP, count=5)
for v in ("entity", "tag", "utf8"):
    row("mock", "xml_quoting_error", "kysely", "HV00M", None, kept=FAILED_LOOKUP, label=f"xml_quoting_error {v}",
        variant=v, text="Katu 1")
row("mock", "soap_turvakielto", "kysely", "00000", None, kept="the row, as protected (addresses NULL, vastaus from the allowlist)")
for k in ("soap_comment", "soap_unknown_element", "soap_attribute"):
    row("mock", k, "kysely", "00000", None, kept="the row, the same as without the fault")
for k, st in (("soap_deep", "HV00M"), ("soap_bad_utf8", "HV00M"), ("soap_xxe", "HV00M"), ("soap_xinclude", "HV00M"),
              ("soap_wrong_label", "HV00M"), ("garbage", "HV00M"), ("silent", "HV00N"), ("cut", "HV00M"),
              ("empty_200", "HV00M"), ("huge_cl", "HV001")):
    row("proxy", k, "kysely", st, None, kept=FAILED_LOOKUP)
row("proxy", "tls_stall", "kysely", "HV00N", None, kept=FAILED_LOOKUP, label="TLS handshake stall (https kysely_url)")


def table_markdown():
    """The README's table (VTJ_MATRIX_TABLE=1 prints it): one line per fault, its endpoints merged."""
    lines, seen = [], {}
    for r in M:
        key = (r["source"], r["label"], r["scan"], r["run"], r["kept"])
        if key in seen:
            seen[key].append(r["endpoint"])
            continue
        seen[key] = [r["endpoint"]]
        lines.append(key)
    out = ["| fault (source) | applied to | scan / look-up | `vtj.paivita` | what is kept |", "|---|---|---|---|---|"]
    for key in lines:
        src, label, scan, run, kept = key
        eps = ", ".join(seen[key]).replace("kysely", "VTJkysely look-up").replace("any", "https url")
        kind = label.split(" ")[0]
        if src == "proxy" and kind in PROXY_FAULTS and label == kind:
            label = f"{kind}: {PROXY_FAULTS[kind]}"
        out.append(f"| {label.replace('|', '/')} ({src}) | {eps} | `{scan}` | {'`' + run + '`' if run else '—'} | {kept} |")
    return "\n".join(out)


if os.environ.get("VTJ_MATRIX_TABLE"):
    print(table_markdown())
    sys.exit(0)

# ---- the set-up ---------------------------------------------------------------------------------
mock = OwnMock(POP, 70, "--start-days", 40, "--change-rate", 0.3, "--turvakielto-share", 0.03, "--page-size", 40)
proxy = OwnProxy(mock.root)
SERVER_OPTS = "request_timeout '2', connect_timeout '1', max_retries '0', max_response_mb '64', " \
              "perustiedot_batch_size '100', muutokset_batch_size '200', parallel_requests '2'"


def set_today():
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def point(source, https=False):
    """The server's urls: on the mock, on the proxy, or https on the proxy's stall port."""
    if https:
        root = f"https://127.0.0.1:{proxy.stall_port}"
    else:
        root = mock.root if source == "mock" else proxy.root
    sql(f"ALTER SERVER plain OPTIONS (SET url '{root}/api/v1', SET kysely_url '{root}/vtjkysely')", db=DB)


def state(sqlstate_of):
    try:
        sqlstate_of()
        return "00000", None
    except Exception as e:  # SqlError
        return getattr(e, "sqlstate", "?"), getattr(e, "text", str(e))


try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    today = set_today()
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}', kysely_url '{mock.root}/vtjkysely',
                   {SERVER_OPTS});
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            CREATE SCHEMA v; IMPORT FOREIGN SCHEMA muutosrajapinta FROM SERVER plain INTO v;
            CREATE SCHEMA k; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER plain INTO k;
            SELECT vtj.luo_rekisteri('r', 'plain', 'ASREK');""", db=DB)
    population = mock.hetut(POP)
    members = population[:MEMBERS]
    spare = population[MEMBERS:]          # added one by one, for the runs that fetch basic data
    sql("SELECT vtj.lisaa_henkilot('r', '{" + ",".join(members) + "}')", db=DB)
    sql("CALL vtj.lataa_perustiedot('r')", db=DB)
    base = mock.state()["base_bookmark"]
    scan_members = "'{" + ",".join(members[:60]) + "}'::text[]"
    SCANS = {
        "muutokset": f"SELECT count(*), sum(length(tiedot::text)) FROM v.muutokset WHERE hetu = ANY({scan_members}) "
                     f"AND kirjausavain > {base}",
        "perustiedot": f"SELECT count(*), sum(length(tiedot::text)) FROM v.perustiedot WHERE hetu = ANY({scan_members})",
        "kirjausavain": f"SELECT count(*) FROM v.muutokset WHERE hetu = ANY({scan_members}) "
                        f"AND muutospv >= '{mock.state()['history_start']}'",
        "any": f"SELECT count(*), sum(length(tiedot::text)) FROM v.perustiedot WHERE hetu = ANY({scan_members})",
    }
    lookup_hetu = members[3]
    LOOKUP = (f"SELECT paluukoodi, sukunimi, turvakielto, kotikunta, lahiosoite, postinumero FROM k.henkilo "
              f"WHERE hetu = '{lookup_hetu}'")
    KYSELY = ("vtj.kayttotarkoitus = 'vikamatriisi'", "vtj.loppukayttaja = 'testaaja'")
    healthy_lookup = sql(LOOKUP, db=DB, settings=KYSELY)
    ok(len(healthy_lookup) == 1 and healthy_lookup[0][0] == "0000" and healthy_lookup[0][2] == "f"
       and healthy_lookup[0][3] is not None, "(a healthy look-up finds the person, unprotected, with a kotikunta)",
       healthy_lookup)
    eq(sql(SCANS["muutokset"], db=DB)[0][0] != "0", True, "(a healthy change scan has rows)")

    n_rows = 0
    for r in M:
        if ONLY and r["kind"] not in ONLY:
            continue
        n_rows += 1
        name = f"[{r['source']} {r['label']} @ {r['endpoint']}]"
        src, kind, ep, params = r["source"], r["kind"], r["endpoint"], dict(r["params"])
        count = params.pop("count", 3)
        retries = params.pop("retries", 0)

        def arm():
            mock.clear_faults()
            proxy.clear()
            if kind == "tls_stall":
                point(src, https=True)
            elif src == "mock":
                mock.fault(kind, count=count, endpoint=ep, **params)
            else:
                proxy.fault(kind, ep, count=count)

        def disarm():
            mock.clear_faults()
            proxy.clear()
            if kind == "tls_stall":
                point(src)

        point(src)
        t_row = time.monotonic()
        if retries:
            sql(f"ALTER SERVER plain OPTIONS (SET max_retries '{retries}')", db=DB)
        # -- a look-up ------------------------------------------------------------------------------
        if ep == "kysely":
            # (the mock's present moved during the change runs: the person's answer of now)
            healthy_lookup = sql(LOOKUP, db=DB, settings=KYSELY)
            before = int(value(f"SELECT count(*) FROM vtj.kyselyloki WHERE hetu = '{lookup_hetu}'", db=DB))
            arm()
            got = {}
            st, text = state(lambda: got.update(rows=sql(LOOKUP, db=DB, settings=KYSELY)))
            disarm()
            eq(st, r["scan"], f"{name} look-up: SQLSTATE {r['scan']}" + ("" if st == r["scan"] else f" ({text})"))
            if kind == "soap_turvakielto":
                h = healthy_lookup[0]
                eq(got.get("rows"), [[h[0], h[1], "t", None, None, None]],
                   f"{name} the person is protected: the name, no municipality, no address")
            elif st == "00000":
                eq(got.get("rows"), healthy_lookup, f"{name} the row is the same as without the fault")
            log = sql(f"SELECT paluukoodi FROM vtj.kyselyloki WHERE hetu = '{lookup_hetu}' ORDER BY id", db=DB)
            ok(len(log) == before + 1 and (r["scan"] == "00000") == (log[-1][0] is not None),
               f"{name} the look-up is logged (" + ("its Paluukoodi" if r["scan"] == "00000" else "sent, no answer") + ")",
               log[-2:])
            ok(text is None or (PASSWORD not in text and lookup_hetu not in text and "Katu 1" not in text
                                and "root:" not in text), f"{name} the error names no hetu, credential or answer byte", text)
            eq(sql(LOOKUP, db=DB, settings=KYSELY), healthy_lookup, f"{name} healed: the look-up finds the person")
            print(f"# {name}: {time.monotonic() - t_row:.1f} s", flush=True)
            continue

        # -- a scan -------------------------------------------------------------------------------------
        arm()
        st, text = state(lambda: sql(SCANS[ep], db=DB, timeout=120))
        disarm()
        eq(st, r["scan"], f"{name} scan: SQLSTATE {r['scan']}" + ("" if st == r["scan"] else f" ({text and text[:300]})"))
        ok(text is None or (PASSWORD not in text and not any(h in text for h in members[:60])),
           f"{name} the scan's error names no hetu or credential", text)

        # -- a change run ----------------------------------------------------------------------------
        mock.advance(1)
        today = set_today()
        if ep == "perustiedot":
            sql(f"SELECT vtj.lisaa_henkilot('r', '{{{spare.pop(0)}}}')", db=DB)
        bm = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB)
        arm()
        st, text = state(lambda: sql("CALL vtj.paivita('r')", db=DB, timeout=120))
        disarm()
        eq(st, r["run"], f"{name} vtj.paivita: SQLSTATE {r['run']}" + ("" if st == r["run"] else f" ({text and text[:300]})"))
        last = sql("SELECT tila, sqlstate FROM vtj.ajo WHERE rekisteri = 'r' AND laji = 'paivita' ORDER BY ajo DESC LIMIT 1",
                   db=DB)
        if r["run"] != "00000":
            eq((value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB), last),
               (bm, [["virhe", r["run"]]]), f"{name} the failed run kept the bookmark and is recorded as virhe {r['run']}")
        else:
            eq(last, [["ok", None]], f"{name} the run is ok in vtj.ajo")

        # -- healed ---------------------------------------------------------------------------------------
        sql("CALL vtj.paivita('r')", db=DB, timeout=120)
        now = [x[0] for x in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'r'", db=DB)]
        diffs = compare(DB, "r", "ASREK", mock.perustiedot(now), today, now)
        ok(not diffs, f"{name} healed and run again: the mirror equals the truth for all {len(now)} members",
           "\n".join(json.dumps(d, ensure_ascii=False)[:400] for d in diffs[:4]))
        if retries:
            sql("ALTER SERVER plain OPTIONS (SET max_retries '0')", db=DB)
        print(f"# {name}: {time.monotonic() - t_row:.1f} s", flush=True)
    ok(n_rows > 0, f"the matrix ran {n_rows} faults")
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB), str(mock.state()["bookmark"]),
       "at the end the register's bookmark is the present's")
finally:
    proxy.stop()
    mock.stop()
    try:
        sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    except Exception:
        pass
done()
