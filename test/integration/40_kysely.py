#!/usr/bin/env python3
"""VTJkysely look-ups (vtjkysely.henkilo) against the mock's SOAP endpoint: columns equal the
SOAP answer fetched directly (and the mock's truth), not found, passivated hetu, turvakielto
censored by vtj_fdw itself (also on the uncensored account) and failing closed on hostile answers, SOAP faults,
broken and hostile XML (no answer byte in an error), a reset retried, an
entity-expansion attack, refused credentials, what the request carries (through a recording
proxy), the accountability log vtj.kyselyloki (durable whatever the caller's transaction does,
read-only transactions, cancel and terminate, a worker that cannot connect, no free worker slot,
a standby) and its per-database reader role, the per-statement bulk guard, EXPLAIN."""
import http.server
import json
import os
import pwd
import shutil
import tempfile
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from taplib import (PSQL as PSQL_BIN, SqlError, shared_server_env, clear_faults, clear_requests, done, eq, fault, fresh_db, mockclient,
                    ok, pg_array, requests, sql, sql_error, value)
from vtjmock.launch import MockProcess  # (taplib puts test/mock on the path)

PASSWORD = os.environ["VTJ_MOCK_PASSWORD"]
ROOT = os.environ["VTJ_MOCK_ROOT"]
KYSELY_URL = ROOT + "/vtjkysely"
NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "v": "http://xml.vrk.fi/schema/vtjkysely",
      "k": "http://xml.vrk.fi/ws/vtj/vtjkysely/1", "xrd": "http://x-road.eu/xsd/xroad.xsd",
      "id": "http://x-road.eu/xsd/identifiers"}
V = "{http://xml.vrk.fi/schema/vtjkysely}"
XROAD_CLIENT = "FI-TEST/MUN/0123456-7/vtj-testi"
LOCATION_ELEMENTS = ["VakinainenKotimainenLahiosoite", "VakinainenUlkomainenLahiosoite", "TilapainenKotimainenLahiosoite",
                     "KotimainenPostiosoite", "Kotikunta", "LahiosoiteS", "Postinumero", "Kuntanumero", "KuntaS",
                     "PostitoimipaikkaS", "UlkomainenLahiosoite", "Asuinpaikantunnus"]
COLUMNS = ("hetu, paluukoodi, hetu_voimassa, sukunimi, etunimet, aidinkieli, kuollut, kuolinpv, turvakielto, "
           "turvakielto_loppupv, kotikunta, kotikunta_nimi, lahiosoite, postinumero, postitoimipaikka, postiosoite")


def hetu_with_check(ddmmyy, marker, nnn):
    return ddmmyy + marker + nnn + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(ddmmyy + nnn) % 31]


# ---- an independent SOAP client of the mock: the expected values ----------------------------

def soap_raw(hetu, account="mutpT1", url=KYSELY_URL):
    body = ('<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">'
            '<S:Body><HenkilonTunnusKysely xmlns="http://xml.vrk.fi/ws/vtj/vtjkysely/1"><request>'
            f'<SoSoNimi>Perussanoma 3</SoSoNimi><Kayttajatunnus>{account}</Kayttajatunnus>'
            f'<Salasana>{PASSWORD}</Salasana><Loppukayttaja>testi</Loppukayttaja><Henkilotunnus>{hetu}</Henkilotunnus>'
            '</request></HenkilonTunnusKysely></S:Body></S:Envelope>').encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/xml; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read().decode("utf-8")


def t(el, path):
    if el is None:
        return None
    x = el.find(path, NS)
    if x is None or (x.text or "").strip() == "":
        return None
    return x.text.strip()


def ymd(s):
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}" if s and len(s) == 8 and s.isdigit() and s[4:6] != "00" and s[6:8] != "00" else None


def expected(hetu, account="mutpT1", url=KYSELY_URL):
    """The row vtj_fdw should return (as psql prints it), the raw answer and its Henkilo element."""
    raw = soap_raw(hetu, account, url)
    root = ET.fromstring(raw)
    msg = root.find(".//v:VTJHenkiloVastaussanoma", NS)
    koodi = msg.find("v:Paluukoodi", NS).get("koodi")
    h = msg.find("v:Henkilo", NS)
    if koodi == "0001":
        return None, raw, None
    tk = t(h, "v:Turvakielto/v:TurvakieltoTieto")
    protected = tk not in ("0", None) if h is not None and h.find("v:Turvakielto", NS) is not None else True
    kuollut = t(h, "v:Kuolintiedot/v:Kuollut")
    hv = "f" if koodi == "0002" or (h is not None and h.find("v:Henkilotunnus", NS).get("voimassaolokoodi") == "0") else "t"
    loc = (lambda v: None) if protected else (lambda v: v)
    row = [hetu, koodi, hv, t(h, "v:NykyinenSukunimi/v:Sukunimi"), t(h, "v:NykyisetEtunimet/v:Etunimet"),
           t(h, "v:Aidinkieli/v:Kielikoodi"),
           None if h is None or h.find("v:Kuolintiedot", NS) is None else ("t" if kuollut == "1" else "f"),
           ymd(t(h, "v:Kuolintiedot/v:Kuolinpvm")),
           "t" if protected else "f",
           ymd(t(h, "v:Turvakielto/v:TurvakieltoPaattymispvm")),
           loc(t(h, "v:Kotikunta/v:Kuntanumero")), loc(t(h, "v:Kotikunta/v:KuntaS")),
           loc(t(h, "v:VakinainenKotimainenLahiosoite/v:LahiosoiteS") or t(h, "v:VakinainenKotimainenLahiosoite/v:LahiosoiteR")),
           loc(t(h, "v:VakinainenKotimainenLahiosoite/v:Postinumero")),
           loc(t(h, "v:VakinainenKotimainenLahiosoite/v:PostitoimipaikkaS") or
               t(h, "v:VakinainenKotimainenLahiosoite/v:PostitoimipaikkaR")),
           loc(t(h, "v:KotimainenPostiosoite/v:PostiosoiteS") or t(h, "v:KotimainenPostiosoite/v:PostiosoiteR"))]
    return row, raw, h


def canonical(el):
    return ET.tostring(el, encoding="unicode") if el is not None else None


def vastaus_henkilo(vastaus):
    return ET.fromstring(vastaus).find("v:Henkilo", NS)


def location_values(h):
    """Non-empty texts of the location elements of a raw Henkilo."""
    out = []
    for name in ("VakinainenKotimainenLahiosoite", "TilapainenKotimainenLahiosoite", "KotimainenPostiosoite",
                 "Kotikunta", "VakinainenUlkomainenLahiosoite", "VakinainenAsuinpaikka"):
        for el in h.iter(V + name):
            for sub in el.iter():
                if sub is not el and (sub.text or "").strip() and not sub.tag.endswith("pvm"):
                    out.append(sub.text.strip())
    return out


def log_rows(where="true"):
    return sql("SELECT tietokantakayttaja, loppukayttaja, kayttotarkoitus, hetu, paluukoodi FROM vtj.kyselyloki "
               f"WHERE {where} ORDER BY aika, hetu")


def sql_as(user, query):
    """Runs SQL in a session that logged in as `user` (session_user = user)."""
    old = os.environ.get("PGUSER")
    os.environ["PGUSER"] = user
    try:
        return sql(query)
    finally:
        os.environ["PGUSER"] = old


def sql_error_as(user, query):
    old = os.environ.get("PGUSER")
    os.environ["PGUSER"] = user
    try:
        return sql_error(query)
    finally:
        os.environ["PGUSER"] = old


def tried(fn):
    """fn()'s result, or the first line of its SQL error (so that a failing check reports, not stops)."""
    try:
        return fn()
    except SqlError as e:
        return "error: " + e.message.strip().splitlines()[0]


def kysely_requests():
    return requests("kysely")


# ---- a recording proxy in front of the mock: what vtj_fdw sends ------------------------------

RECORDED = []


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        RECORDED.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body": body.decode("utf-8")})
        req = urllib.request.Request(ROOT + self.path, data=body, method="POST",
                                     headers={"Content-Type": self.headers.get("Content-Type", "text/xml")})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, data, ct = resp.status, resp.read(), resp.headers.get("Content-Type", "text/xml")
        except urllib.error.HTTPError as e:
            status, data, ct = e.code, e.read(), e.headers.get("Content-Type", "text/xml")
        self.send_response(status)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
threading.Thread(target=proxy.serve_forever, daemon=True).start()
PROXY_URL = f"http://127.0.0.1:{proxy.server_address[1]}/vtjkysely"

# ---- set-up ----------------------------------------------------------------------------------

fresh_db("vtj_it_kysely")
sql("CREATE EXTENSION vtj_fdw")
sql(f"""CREATE SERVER k FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{KYSELY_URL}', xroad_client '{XROAD_CLIENT}',
          parallel_requests '3', kysely_max_hetut '5', max_retries '2');
        CREATE USER MAPPING FOR CURRENT_USER SERVER k OPTIONS (username 'mutpT1', password '{PASSWORD}');
        CREATE SCHEMA k; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER k INTO k;
        CREATE SERVER kx FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{KYSELY_URL}');
        CREATE USER MAPPING FOR CURRENT_USER SERVER kx OPTIONS (username 'mutpT1x', password '{PASSWORD}');
        CREATE SCHEMA kx; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER kx INTO kx;
        CREATE SERVER kp FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{PROXY_URL}', xroad_client '{XROAD_CLIENT}',
          kysely_palvelu 'FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1');
        CREATE USER MAPPING FOR CURRENT_USER SERVER kp OPTIONS (username 'mutpT1', password '{PASSWORD}');
        CREATE SCHEMA kp; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER kp INTO kp;
        CREATE SERVER bad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{KYSELY_URL}', max_retries '3');
        CREATE USER MAPPING FOR CURRENT_USER SERVER bad OPTIONS (username 'mutpT1', password 'wrong-Salasana-4d2');
        CREATE SCHEMA bad; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER bad INTO bad;""")

cols = sql("SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute "
           "WHERE attrelid = 'k.henkilo'::regclass AND attnum > 0 ORDER BY attnum")
eq([c[0] for c in cols],
   ["hetu text", "paluukoodi text", "hetu_voimassa boolean", "sukunimi text", "etunimet text", "aidinkieli text",
    "kuollut boolean", "kuolinpv date", "turvakielto boolean", "turvakielto_loppupv date", "kotikunta text",
    "kotikunta_nimi text", "lahiosoite text", "postinumero text", "postitoimipaikka text", "postiosoite text",
    "vastaus xml"], "IMPORT FOREIGN SCHEMA vtjkysely creates henkilo with its columns")

protected = set(mockclient.hetut(200, "turvakielto"))
plain = [h for h in mockclient.hetut(60) if h not in protected][:5]
eq(len(plain), 5, "the mock lists five persons without turvakielto")

# ---- found: every column equals the SOAP answer fetched directly ----------------------------

want = {h: expected(h) for h in plain}
clear_requests()
sql("DELETE FROM vtj.kyselyloki")
rows = sql(f"SELECT {COLUMNS}, vastaus::text FROM k.henkilo WHERE hetu = ANY({pg_array(plain)}) ORDER BY hetu")
eq(len(rows), 5, "five hetus, five rows")
eq([r[:16] for r in rows], [want[h][0] for h in sorted(plain)], "every column equals the SOAP answer fetched directly")
ok(all(canonical(vastaus_henkilo(r[16])) == canonical(want[r[0]][2]) for r in rows),
   "vastaus carries the answer's Henkilo element as sent", rows[0][16][:300])
ok(all(r[16].startswith("<VTJHenkiloVastaussanoma") and "Kayttajatunnus" not in r[16] for r in rows),
   "vastaus is the answer message only (not the envelope with the echoed request)")
truth_ok = True
for h in plain:
    truth = mockclient.call("GET", f"/_control/truth?hetu={h}&account=mutpT1")
    persons = truth.get("perustiedot", [])
    gr = {g.get("tietoryhma"): g for g in (persons[0]["tietoryhmat"] if persons else [])}
    r = [x for x in rows if x[0] == h][0]
    nimi = gr.get("HENKILON_NIMI", {})
    if nimi and r[3] != nimi.get("sukunimiUTF8", nimi.get("sukunimi")):
        truth_ok = False
    kk = gr.get("KOTIKUNTA")
    if kk and r[10] != kk.get("kuntakoodi"):
        truth_ok = False
ok(truth_ok, "surnames and municipalities agree with the mock's truth (/perustiedot)")
eq(len(kysely_requests()), 5, "one request per hetu")
eq(sorted(r[3] for r in log_rows()), sorted(plain), "one log row per look-up")
eq({r[4] for r in log_rows()}, {"0000"}, "… with Paluukoodi 0000")
eq(value(f"SELECT count(*) FROM k.henkilo WHERE hetu = '{plain[0]}' AND sukunimi IS NOT NULL"), "1",
   "hetu = '…' looks up one person")
got = value(f"SELECT (xpath('/v:VTJHenkiloVastaussanoma/v:Henkilo/v:NykyinenSukunimi/v:Sukunimi/text()', vastaus, "
            f"ARRAY[ARRAY['v', 'http://xml.vrk.fi/schema/vtjkysely']]))[1]::text = sukunimi FROM k.henkilo "
            f"WHERE hetu = '{plain[1]}'")
eq(got, "t", "vastaus is usable with PostgreSQL's xpath()")

# A parameter and a generic plan.
clear_requests()
out = sql(f"PREPARE q(text) AS SELECT sukunimi FROM k.henkilo WHERE hetu = $1; SET plan_cache_mode = force_generic_plan; "
          f"EXECUTE q('{plain[2]}')")
eq(out[0][0], want[plain[2]][0][3], "hetu = $1 under a generic plan")
eq(len(kysely_requests()), 1, "… one request")

# Duplicates and NULLs: each person once.
clear_requests()
eq(value(f"SELECT count(*) FROM k.henkilo WHERE hetu = ANY(ARRAY['{plain[0]}', '{plain[0]}', NULL, '{plain[1]}'])"),
   "2", "duplicated hetus are looked up once, NULLs skipped")
eq(len(kysely_requests()), 2, "… two requests")

# The deceased.
dead = mockclient.hetut(3, "deceased")
row = sql(f"SELECT {COLUMNS} FROM k.henkilo WHERE hetu = '{dead[0]}'")
eq(row[0] if row else None, expected(dead[0])[0], "a deceased person: kuollut and kuolinpv as answered")
ok(row and row[0][6] == "t" and row[0][7] is not None, "… kuollut is true with a date", row)

# ---- not found ---------------------------------------------------------------------------------

unknown = hetu_with_check("010190", "-", "899")
clear_requests()
sql("DELETE FROM vtj.kyselyloki")
e = sql_error(f"SELECT * FROM k.henkilo WHERE hetu = '{unknown}'")
ok(e is None, "a person not found is no error", e and e.text)
eq(value(f"SELECT count(*) FROM k.henkilo WHERE hetu = '{unknown}'"), "0", "a person not found is no row")
eq([r[3:] for r in log_rows()], [[unknown, "0001"], [unknown, "0001"]], "… and a log row with Paluukoodi 0001 each time")

# ---- passivated hetu: a private mock whose present has the hetu corrections ------------------

mock2 = MockProcess("--persons", 3000, "--seed", 42, "--password", PASSWORD, "--start-days", 400, "--quiet")
url2 = mock2.root
try:
    with urllib.request.urlopen(url2 + "/_control/hetut?limit=2&kind=passivated", timeout=60) as resp:
        passivated = json.loads(resp.read().decode())
    ok(len(passivated) >= 1, "the private mock lists passivated hetus", passivated)
    sql(f"""CREATE SERVER k2 FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{url2}/vtjkysely');
            CREATE USER MAPPING FOR CURRENT_USER SERVER k2 OPTIONS (username 'mutpT1', password '{PASSWORD}');
            CREATE SCHEMA k2; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER k2 INTO k2;""")
    old = passivated[0]
    row = sql(f"SELECT {COLUMNS} FROM k2.henkilo WHERE hetu = '{old}'")
    w = expected(old, url=url2 + "/vtjkysely")[0]
    eq(row[0] if row else None, w, "a passivated hetu: a row as answered")
    ok(row and row[0][1] == "0002" and row[0][2] == "f" and row[0][0] == old,
       "… with paluukoodi 0002, hetu_voimassa false, the hetu asked", row)
    eq(log_rows(f"hetu = '{old}'")[-1][3:] if log_rows(f"hetu = '{old}'") else None, [old, "0002"], "… and logged")
finally:
    mock2.stop()

# The same through the mock's Paluukoodi fault (no Henkilo at all).
clear_faults()
fault("soap_paluukoodi", count=1, endpoint="kysely", koodi="0002")
row = sql(f"SELECT paluukoodi, hetu_voimassa, sukunimi, vastaus IS NOT NULL FROM k.henkilo WHERE hetu = '{plain[0]}'")
eq(row, [["0002", "f", None, "t"]], "Paluukoodi 0002 without a Henkilo: a row with hetu_voimassa false")
fault("soap_paluukoodi", count=1, endpoint="kysely", koodi="0009")
e = sql_error(f"SELECT * FROM k.henkilo WHERE hetu = '{plain[0]}'")
ok(e is not None and e.sqlstate == "HV000" and "Paluukoodi 0009" in e.text and plain[0] not in e.text,
   "another Paluukoodi is an error with the code, without the hetu (HV000)", e and e.text)
clear_faults()

# ---- turvakielto: censored by vtj_fdw, on the uncensored account too --------------------------

prot = sorted(protected)[:3]
raws = {h: expected(h) for h in prot}
leaky = [h for h in prot if location_values(raws[h][2])]
ok(len(leaky) >= 1, "the uncensored account's raw answer carries the protected persons' locations",
   {h: location_values(raws[h][2]) for h in prot})
for schema, account in (("k", "mutpT1"), ("kx", "mutpT1x")):
    rows = sql(f"SELECT {COLUMNS}, vastaus::text FROM {schema}.henkilo WHERE hetu = ANY({pg_array(prot)}) ORDER BY hetu")
    eq(len(rows), len(prot), f"{account}: a row for each protected person")
    ok(all(r[8] == "t" for r in rows), f"{account}: turvakielto is true", rows)
    ok(all(r[10:16] == [None] * 6 for r in rows), f"{account}: address and municipality columns are NULL",
       [r[10:16] for r in rows])
    ok(all(r[3] is not None and r[3] == raws[r[0]][0][3] for r in rows), f"{account}: the name is still there")
    bad_v = []
    for r in rows:
        for name in LOCATION_ELEMENTS:
            if name in r[16]:
                bad_v.append((r[0], name))
        for v in location_values(raws[r[0]][2]):
            if v in r[16]:
                bad_v.append((r[0], v))
    ok(not bad_v and all("<Turvakielto><TurvakieltoTieto>1</TurvakieltoTieto>" in r[16] for r in rows),
       f"{account}: vastaus has no location element and no location value", bad_v)

# ---- fail closed: what the answer does not say plainly protects --------------------------------

ok(all("<TurvakieltoTieto>0</TurvakieltoTieto>" in want[h][1] for h in plain),
   "the mock sends TurvakieltoTieto 0 explicitly for unprotected persons")
MARK = "Piilokatu 7 B 12"


def row_text(rows):
    return "\n".join(str(v) for r in rows for v in r if v is not None)


plain_loc = [v for v in want[plain[0]][0][10:16] if v]
prot_loc = location_values(raws[prot[0]][2])
ok(plain_loc and prot_loc, "the hostile answers below carry real location values", (plain_loc, prot_loc))
for kind, params, person, loc in (("soap_turvakielto", {}, plain[0], plain_loc),
                                  ("soap_turvakielto", {"value": "2"}, plain[0], plain_loc),
                                  ("soap_turvakielto", {"value": "0 0"}, plain[0], plain_loc),
                                  ("soap_turvakielto", {"drop": True}, plain[0], plain_loc),
                                  ("soap_comment", {"text": MARK}, prot[0], prot_loc),
                                  ("soap_unknown_element", {"text": MARK}, prot[0], prot_loc),
                                  ("soap_attribute", {"text": MARK}, prot[0], prot_loc)):
    clear_faults()
    fault(kind, count=1, endpoint="kysely", **params)
    rows = sql(f"SELECT {COLUMNS}, vastaus::text FROM k.henkilo WHERE hetu = '{person}'")
    txt = row_text(rows)
    what = f"{kind} {params}"
    ok(len(rows) == 1 and rows[0][8] == "t" and rows[0][10:16] == [None] * 6,
       f"{what}: counted as protected, no address or municipality column", rows)
    leaked = [v for v in loc + [MARK] if v in txt]
    ok(not leaked, f"{what}: no address value in any column or vastaus", leaked)
    ok(len(rows) == 1 and rows[0][3] is not None, f"{what}: the name is shown")
clear_faults()

# ---- faults ----------------------------------------------------------------------------------

Q = f"SELECT * FROM k.henkilo WHERE hetu = '{plain[0]}'"
start_time = value("SELECT pg_postmaster_start_time()")


def check_fault(kind, sqlstate, expect, attempts=1, **params):
    clear_faults()
    clear_requests()
    fault(kind, count=5, endpoint="kysely", **params)
    t0 = time.monotonic()
    e = sql_error(Q)
    dt = time.monotonic() - t0
    clear_faults()
    ok(e is not None and e.sqlstate == sqlstate and expect in e.text, f"{kind}: {sqlstate}, '{expect}'", e and e.text)
    eq(len(kysely_requests()), attempts, f"{kind}: {attempts} request(s)")
    ok(e is None or (PASSWORD not in e.text and plain[0] not in e.text and "Virtanen" not in e.text),
       f"{kind}: no credential, hetu or personal data in the error", e and e.text)
    return e, dt


e, _ = check_fault("soap_fault", "HV000", "SOAP fault")
ok(e is not None and "VTJ service temporarily unavailable" in e.text, "soap_fault: the faultstring is in DETAIL",
   e and e.text)
check_fault("malformed_xml", "HV00M", "not well-formed XML")
e, dt = check_fault("xml_entity_attack", "HV00M", "DOCTYPE")
ok(dt < 10, "xml_entity_attack: refused fast", f"{dt:.2f} s")
eq(value("SELECT pg_postmaster_start_time()"), start_time, "the server did not restart (no backend crashed)")
eq(value(f"SELECT count(*) FROM k.henkilo WHERE hetu = '{plain[0]}'"), "1", "look-ups work after the faults")
check_fault("http_503", "HV000", "HTTP 503", attempts=3)
clear_faults()
clear_requests()
fault("http_503", count=1, endpoint="kysely")
eq(value(Q.replace("*", "count(*)")), "1", "http_503 once: retried, answered")
eq(len(kysely_requests()), 2, "… in two requests")
clear_faults()

# No byte of an answer in an error: the error point holds a distinctive string.
for variant, what in (("entity", "not well-formed XML (libxml2 error"), ("tag", "not well-formed XML (libxml2 error"),
                      ("utf8", "not valid UTF-8 (at byte")):
    e, _ = check_fault("xml_quoting_error", "HV00M", what, variant=variant, text="Salaosoite7")
    ok(e is not None and "Salaosoite7" not in e.text and "0xFF" not in e.text,
       f"xml_quoting_error {variant}: the error quotes nothing of the answer", e and e.text)

# Hostile SOAP answers: refused, nothing logged as found, no crash.
for kind, state, text, params in (("xml_deep_nesting", "HV00M", "not well-formed XML", {}),
                                  ("xml_invalid_utf8", "HV00M", "not valid UTF-8", {}),
                                  ("xml_external_entity", "HV00M", "DOCTYPE", {}),
                                  ("xml_xinclude", "HV00M", "XInclude", {}),
                                  ("xml_wrong_encoding", "HV00M", "labelled ISO-8859-1", {}),
                                  ("xml_wrong_encoding", "HV00M", "encoding other than UTF-8", {"encoding": "UTF-16"}),
                                  ("xml_huge_attribute", "HV00M", "attribute value", {}),
                                  ("xml_huge_attribute", "HV001", "larger than", {"kb": 9000})):
    sql("DELETE FROM vtj.kyselyloki")
    e, _ = check_fault(kind, state, text, **params)
    eq([r[3:] for r in log_rows()], [[plain[0], None]], f"{kind} {params}: logged as sent, not as found")
eq(value("SELECT pg_postmaster_start_time()"), start_time, "the server did not restart (no backend crashed)")

# A connection reset in the middle of an answer is a look-up with no answer: retried.
clear_faults()
clear_requests()
fault("reset", count=1, endpoint="kysely")
eq(tried(lambda: value(Q.replace("*", "count(*)"))), "1", "reset mid-answer once: retried, answered")
eq(len(kysely_requests()), 2, "… in two requests")
clear_faults()

# Refused credentials: a SOAP fault, never repeated.
clear_requests()
e = sql_error(f"SELECT * FROM bad.henkilo WHERE hetu = '{plain[0]}'")
ok(e is not None and e.sqlstate == "HV000" and "refused the credentials" in e.text and "user mapping" in e.text,
   "wrong password: HV000 with a hint about the user mapping", e and e.text)
ok(e is not None and "wrong-Salasana-4d2" not in e.text, "… without the password", e and e.text)
eq(len(kysely_requests()), 1, "… after one request (a refused password is not retried)")

# Cancel while waiting for VTJkysely: the statement fails, the log keeps what was sent.
sql("DELETE FROM vtj.kyselyloki")
fault("slow", count=1, endpoint="kysely", delay_ms=8000)
t0 = time.monotonic()
e = sql_error(Q, settings=["statement_timeout = '1s'"])
ok(e is not None and e.sqlstate == "57014" and time.monotonic() - t0 < 5, "statement_timeout cancels a look-up",
   e and e.text)
eq([r[3:] for r in log_rows()], [[plain[0], None]], "… and the log keeps the look-up that was sent (no Paluukoodi)")
clear_faults()

# pg_terminate_backend of the caller in the middle of a statement.
sql("DELETE FROM vtj.kyselyloki")
clear_requests()
fault("slow", count=1, endpoint="kysely", delay_ms=8000)
env = dict(os.environ, PGAPPNAME="vtj_kysely_terminate")
victim = subprocess.Popen([PSQL_BIN, "-X", "-q", "-c", f"SELECT * FROM k.henkilo WHERE hetu = '{plain[1]}'"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
for _ in range(100):  # the row is committed before the request is sent
    if value(f"SELECT count(*) FROM vtj.kyselyloki WHERE hetu = '{plain[1]}'") == "1":
        break
    time.sleep(0.1)
time.sleep(0.5)
terminated = value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'vtj_kysely_terminate'")
_, err = victim.communicate(timeout=60)
ok(terminated == "1" and victim.returncode != 0 and "terminating connection" in err,
   "pg_terminate_backend ends the caller in the middle of a look-up", (terminated, victim.returncode, err))
eq([r[3:] for r in log_rows()], [[plain[1], None]], "… and the log keeps the look-up that was sent")
clear_faults()
# The mock logs a request when it has answered it: the two slow requests above (statement_timeout's
# and this one, both abandoned by their callers) are logged 8 s after they came, so after this
# section's clear_requests. Waiting for both keeps them out of a later "nothing was sent"
# (under the sanitize stage the checks below can take those 8 s, and one was counted there once).
deadline = time.monotonic() + 30
while sum(1 for r in kysely_requests() if r.get("fault") == "slow") < 2 and time.monotonic() < deadline:
    time.sleep(0.2)

# ---- what the request carries (through the recording proxy) -----------------------------------

RECORDED.clear()
sql(f"SELECT * FROM kp.henkilo WHERE hetu = ANY({pg_array(plain[:2])})",
    settings=["vtj.loppukayttaja = 'kasittelija@kunta.example'", "vtj.kayttotarkoitus = 'asiakkuuden tarkistus'"])
eq(len(RECORDED), 2, "two requests through the proxy")
r0 = ET.fromstring(RECORDED[0]["body"])
eq(r0.findtext(".//k:Loppukayttaja", namespaces=NS), "kasittelija@kunta.example", "Loppukayttaja is vtj.loppukayttaja")
eq(r0.findtext(".//xrd:userId", namespaces=NS), "kasittelija@kunta.example", "… and so is the X-Road userId")
eq(r0.findtext(".//k:SoSoNimi", namespaces=NS), "Perussanoma 3", "SoSoNimi is the default product")
eq(r0.findtext(".//k:Kayttajatunnus", namespaces=NS), "mutpT1", "Kayttajatunnus is the mapping's username")
eq(sorted(ET.fromstring(r["body"]).findtext(".//k:Henkilotunnus", namespaces=NS) for r in RECORDED), sorted(plain[:2]),
   "one Henkilotunnus per request")
client = r0.find(".//xrd:client", NS)
eq([client.findtext(f"id:{x}", namespaces=NS) for x in ("xRoadInstance", "memberClass", "memberCode", "subsystemCode")],
   XROAD_CLIENT.split("/"), "X-Road client from xroad_client")
service = r0.find(".//xrd:service", NS)
eq([service.findtext(f"id:{x}", namespaces=NS) for x in
    ("xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion")],
   "FI-TEST/GOV/0245437-2/VTJkysely/HenkilonTunnusKysely/v1".split("/"), "X-Road service from kysely_palvelu")
eq(r0.findtext(".//xrd:protocolVersion", namespaces=NS), "4.0", "protocolVersion 4.0")
ids = [ET.fromstring(r["body"]).findtext(".//xrd:id", namespaces=NS) for r in RECORDED]
ok(len(set(ids)) == 2 and all(re.fullmatch(r"[0-9a-f-]{36}", i or "") for i in ids), "a fresh id per request", ids)
h0 = RECORDED[0]["headers"]
ok(h0.get("content-type") == "text/xml; charset=utf-8" and "soapaction" in h0 and "authorization" not in h0,
   "text/xml, a SOAPAction header, no HTTP credentials", h0)
ok(all(r["path"] == "/vtjkysely" for r in RECORDED), "POSTed to kysely_url")

RECORDED.clear()
sql(f"SELECT * FROM kp.henkilo WHERE hetu = '{plain[0]}'")
eq(ET.fromstring(RECORDED[0]["body"]).findtext(".//k:Loppukayttaja", namespaces=NS), "postgres",
   "without vtj.loppukayttaja, Loppukayttaja is the session user")
RECORDED.clear()
sql(f"SELECT * FROM kp.henkilo WHERE hetu = '{plain[0]}'", settings=["vtj.loppukayttaja = 'A & <B> \"C\"'"])
eq(ET.fromstring(RECORDED[0]["body"]).findtext(".//k:Loppukayttaja", namespaces=NS), 'A & <B> "C"',
   "Loppukayttaja is XML-escaped")

# ---- the accountability log -----------------------------------------------------------------

sql("DELETE FROM vtj.kyselyloki")
sql(f"SELECT * FROM k.henkilo WHERE hetu = '{plain[0]}'",
    settings=["vtj.loppukayttaja = 'kasittelija@kunta.example'", "vtj.kayttotarkoitus = 'asiakkuuden tarkistus'"])
sql(f"SELECT * FROM k.henkilo WHERE hetu = '{plain[1]}'")
eq(log_rows(), [["postgres", "kasittelija@kunta.example", "asiakkuuden tarkistus", plain[0], "0000"],
                ["postgres", "postgres", None, plain[1], "0000"]],
   "the log has the session user, loppukayttaja, kayttotarkoitus, hetu and Paluukoodi")
ok(value("SELECT bool_and(aika > now() - interval '5 minutes' AND aika <= clock_timestamp()) FROM vtj.kyselyloki") == "t",
   "… and the time of the look-up")

sql("DELETE FROM vtj.kyselyloki")
sql(f"BEGIN; SELECT * FROM k.henkilo WHERE hetu = '{plain[0]}'; ROLLBACK")
eq(log_rows(), [["postgres", "postgres", None, plain[0], "0000"]],
   "ROLLBACK after a look-up keeps its log row (the log worker committed it)")
sql("DELETE FROM vtj.kyselyloki")
e = sql_error(f"BEGIN; SELECT * FROM k.henkilo WHERE hetu = '{plain[1]}'; SELECT 1 / 0; COMMIT")
ok(e is not None and e.sqlstate == "22012", "an error later in the same transaction fails it", e and e.text)
eq(log_rows(), [["postgres", "postgres", None, plain[1], "0000"]], "… and the look-up's log row stays")
sql("DELETE FROM vtj.kyselyloki")
sql(f"BEGIN; SAVEPOINT s; SELECT * FROM k.henkilo WHERE hetu = '{plain[2]}'; ROLLBACK TO SAVEPOINT s; COMMIT")
eq(len(log_rows()), 1, "ROLLBACK TO SAVEPOINT keeps it too")
# A read-only transaction can look up: the caller's transaction writes nothing.
sql("DELETE FROM vtj.kyselyloki")
got = tried(lambda: sql(f"BEGIN READ ONLY; SELECT current_setting('transaction_read_only'), count(*) "
                         f"FROM k.henkilo WHERE hetu = '{plain[0]}'; COMMIT"))
eq(got, [["on", "1"]], "a look-up in a read-only transaction works")
os.environ["PGOPTIONS"] = "-c default_transaction_read_only=on"
try:
    got = tried(lambda: sql(f"SELECT current_setting('transaction_read_only'), count(*) FROM k.henkilo "
                            f"WHERE hetu = '{plain[1]}'"))
finally:
    del os.environ["PGOPTIONS"]
eq(got, [["on", "1"]], "a look-up under default_transaction_read_only = on works")
eq(sorted(r[3] for r in log_rows()), sorted(plain[:2]), "… and both are logged")
sql("DELETE FROM vtj.kyselyloki")
sql(f"SELECT sukunimi FROM k.henkilo WHERE hetu = ANY({pg_array(plain[:3])}) LIMIT 1")
eq(len(log_rows()), 3, "LIMIT 1 over three look-ups still logs all three")
eq(tried(lambda: value("SELECT count(*) FROM vtj.kyselyloki WHERE paluukoodi = '0000' AND vastattu >= aika")), "3",
   "… each with its Paluukoodi and the time it was recorded")
clear_requests()
sql(f"EXPLAIN SELECT * FROM k.henkilo WHERE hetu = ANY({pg_array(plain[:3])})")
eq((len(kysely_requests()), len(log_rows())), (0, 3), "EXPLAIN without ANALYZE looks nobody up and logs nothing")
sql(f"CREATE ROLE regress_kysely_definer; GRANT USAGE ON SCHEMA k TO regress_kysely_definer; "
    f"GRANT SELECT ON k.henkilo TO regress_kysely_definer; "
    f"CREATE USER MAPPING FOR regress_kysely_definer SERVER k OPTIONS (username 'mutpT1', password '{PASSWORD}')")
sql(f"SET ROLE regress_kysely_definer; SELECT count(*) FROM k.henkilo WHERE hetu = '{plain[4]}'; RESET ROLE")
eq(tried(lambda: sql(f"SELECT tietokantakayttaja, nykyinen_kayttaja FROM vtj.kyselyloki WHERE hetu = '{plain[4]}'")),
   [["postgres", "regress_kysely_definer"]], "the log names the session user and the current user (SET ROLE)")
sql("DROP USER MAPPING FOR regress_kysely_definer SERVER k; DROP OWNED BY regress_kysely_definer; "
    "DROP ROLE regress_kysely_definer")

READER = tried(lambda: value("SELECT vtj.kyselyloki_lukija()"))
eq(READER, "vtj_kyselyloki_lukija_vtj_it_kysely", "this database's reader role is vtj_kyselyloki_lukija_<database>")
if READER.startswith("error"):
    READER = "vtj_kyselyloki_lukija"

# Privileges: an ordinary role cannot read or change the log; a reader can read only.
sql(f"""CREATE ROLE regress_kysely_user LOGIN; CREATE ROLE regress_kysely_reader LOGIN;
        GRANT {READER} TO regress_kysely_reader;
        GRANT USAGE ON SCHEMA vtj TO regress_kysely_user;  -- so that the table's own privileges are what is tested
        GRANT USAGE ON SCHEMA k TO regress_kysely_user; GRANT SELECT ON k.henkilo TO regress_kysely_user;
        CREATE USER MAPPING FOR regress_kysely_user SERVER k OPTIONS (username 'mutpT1', password '{PASSWORD}')""")
for stmt, what in (("SELECT count(*) FROM vtj.kyselyloki", "read"), ("DELETE FROM vtj.kyselyloki", "delete from"),
                   ("UPDATE vtj.kyselyloki SET hetu = 'x'", "update"),
                   ("INSERT INTO vtj.kyselyloki (hetu) VALUES ('x')", "insert into"),
                   ("SELECT vtj.kyselyloki_kirjaa('a', 'b', 'c', 'd', 'e')", "call the log function of"),
                   ("SELECT vtj.kyselyloki_vastaus(1, '0000')", "call the answer function of")):
    e = sql_error_as("regress_kysely_user", stmt)
    ok(e is not None and e.sqlstate == "42501", f"an ordinary role cannot {what} vtj.kyselyloki", e and e.text)
n_before = int(value("SELECT count(*) FROM vtj.kyselyloki"))
got = sql_as("regress_kysely_user", f"SELECT sukunimi FROM k.henkilo WHERE hetu = '{plain[2]}'")
eq(got, [[want[plain[2]][0][3]]], "… but can look a person up (with their own mapping)")
eq(log_rows(f"hetu = '{plain[2]}' AND tietokantakayttaja = 'regress_kysely_user'")[-1:],
   [["regress_kysely_user", "regress_kysely_user", None, plain[2], "0000"]],
   "… and the look-up is logged under their name")
eq(value("SELECT count(*) FROM vtj.kyselyloki"), str(n_before + 1), "… once")
eq(sql_as("regress_kysely_reader", "SELECT count(*) FROM vtj.kyselyloki"), [[str(n_before + 1)]],
   "a member of vtj_kyselyloki_lukija_vtj_it_kysely can read the log")
e = sql_error_as("regress_kysely_reader", "DELETE FROM vtj.kyselyloki")
ok(e is not None and e.sqlstate == "42501", "… but not delete from it", e and e.text)
e = sql_error_as("regress_kysely_reader", "UPDATE vtj.kyselyloki SET paluukoodi = '0001'")
ok(e is not None and e.sqlstate == "42501", "… nor update it", e and e.text)
sql("SET ROLE regress_kysely_user; SELECT count(*) FROM k.henkilo WHERE hetu = '" + plain[3] + "'; RESET ROLE")
eq(log_rows(f"hetu = '{plain[3]}'")[-1][:2], ["postgres", "postgres"],
   "under SET ROLE, the log names the session user (who logged in)")

# ---- bulk use and missing or invalid conditions ------------------------------------------------

six = mockclient.hetut(6)
clear_requests()
n_before = int(value("SELECT count(*) FROM vtj.kyselyloki"))
e = sql_error(f"SELECT * FROM k.henkilo WHERE hetu = ANY({pg_array(six)})")
ok(e is not None and e.sqlstate == "54000" and "not for bulk use" in e.text and "kysely_max_hetut (5)" in e.text,
   "kysely_max_hetut + 1 hetus: refused with 54000", e and e.text)
ok(e is not None and "change interface" in e.text, "… with a hint to use the change interface", e and e.text)
ok(e is not None and not any(h in e.text for h in six), "… without hetus", e and e.text)
eq(len(kysely_requests()), 0, "… and no request was sent")
eq(value("SELECT count(*) FROM vtj.kyselyloki"), str(n_before), "… nor anything logged")
eq(value(f"SELECT count(*) FROM k.henkilo WHERE hetu = ANY({pg_array(six[:5] + six[:5])})"), "5",
   "ten entries that are five distinct hetus are allowed (counted after de-duplication)")

sql(f"CREATE TABLE asiakas (hetu text); INSERT INTO asiakas SELECT unnest({pg_array(six)})")
clear_requests()
e = sql_error("SELECT (SELECT sukunimi FROM k.henkilo h WHERE h.hetu = a.hetu) FROM asiakas a")
ok(e is not None and e.sqlstate == "54000" and "all its VTJkysely scans and rescans together" in e.text,
   "a correlated sub-query cannot look up more than kysely_max_hetut persons in one statement", e and e.text)
eq(len(kysely_requests()), 5, "… it stopped before the sixth request")
eq(value("SELECT count(*) FROM (SELECT (SELECT sukunimi FROM k.henkilo h WHERE h.hetu = a.hetu) s FROM asiakas a "
         "LIMIT 4) x WHERE s IS NOT NULL"), "4", "… and works within the limit")

clear_requests()
e = sql_error("SELECT * FROM asiakas a JOIN k.henkilo h ON h.hetu = a.hetu")
ok(e is not None and e.sqlstate == "HV002", "a join on hetu is refused by the planner", e and e.text)
eq(value("SELECT count(*) FROM k.henkilo WHERE hetu = ANY(ARRAY(SELECT hetu FROM asiakas ORDER BY hetu LIMIT 3))"), "3",
   "hetu = ANY(ARRAY(SELECT …)) looks the members up")
eq(len(kysely_requests()), 3, "… in three requests")
clear_requests()
e = sql_error("SELECT * FROM k.henkilo WHERE sukunimi = 'Virtanen'")
ok(e is not None and e.sqlstate == "HV002" and "not for bulk use" in e.text, "no hetu condition: a planner error",
   e and e.text)
e = sql_error("SELECT * FROM k.henkilo")
ok(e is not None and e.sqlstate == "HV002", "no condition at all: the same error", e and e.text)
bad_list = [plain[0], "131052-308U", "x"]
e = sql_error(f"SELECT * FROM k.henkilo WHERE hetu = ANY({pg_array(bad_list)})")
ok(e is not None and e.sqlstate == "22P02" and "2 of 3 hetus are invalid, at positions 2, 3" in e.text,
   "invalid hetus: 22P02 with positions", e and e.text)
ok(e is not None and "131052-308U" not in e.text and plain[0] not in e.text, "… without values", e and e.text)
eq(value("SELECT count(*) FROM k.henkilo WHERE hetu = ANY('{}'::text[])"), "0", "an empty array: no rows")
eq(len(kysely_requests()), 0, "… and none of these sent a request")

# kysely_max_hetut counts the statement, not one scan node.
clear_requests()
e = sql_error(f"SELECT hetu FROM k.henkilo WHERE hetu = ANY({pg_array(six[:3])}) "
              f"UNION ALL SELECT hetu FROM k.henkilo WHERE hetu = ANY({pg_array(six[3:])})")
ok(e is not None and e.sqlstate == "54000" and "this statement would look up 6 persons" in e.text,
   "UNION ALL of two scans of 3 cannot look up 6 persons past kysely_max_hetut 5", e and e.text)
eq(len(kysely_requests()), 3, "… refused before the second scan's requests")
e = sql_error("SELECT (SELECT sukunimi FROM k.henkilo h WHERE h.hetu = a.hetu) FROM (SELECT hetu FROM asiakas ORDER BY 1 "
              "LIMIT 3) a UNION ALL SELECT (SELECT sukunimi FROM k.henkilo h WHERE h.hetu = b.hetu) FROM "
              "(SELECT hetu FROM asiakas ORDER BY 1 OFFSET 3) b")
ok(e is not None and e.sqlstate == "54000", "a correlated sub-query in two places counts once for the statement",
   e and e.text)
eq(value(f"SELECT count(*) FROM (SELECT hetu FROM k.henkilo WHERE hetu = ANY({pg_array(six[:3])}) "
         f"UNION ALL SELECT hetu FROM k.henkilo WHERE hetu = ANY({pg_array(six[:3])})) x"), "6",
   "… and the same persons in two scans count once")

# A cursor fetched in several statements keeps one count (its executor stays open).
clear_requests()
script = ("BEGIN;\nDECLARE c NO SCROLL CURSOR FOR SELECT (SELECT sukunimi FROM k.henkilo h WHERE h.hetu = a.hetu) "
          "FROM asiakas a;\nFETCH 3 FROM c;\nFETCH 3 FROM c;\nCOMMIT;\n")
p = subprocess.run([PSQL_BIN, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script, capture_output=True, text=True, timeout=120)
ok(p.returncode != 0 and "not for bulk use" in p.stderr, "a cursor fetched in two FETCH statements cannot look up 6",
   p.stderr)
eq(len(kysely_requests()), 5, "… it stopped before the sixth request")

# ---- a second database: its own reader role; a log worker that cannot connect ------------------

DB_B = "vtj_it_kysely_b"


def sql_in(db, query, user=None):
    env_old = (os.environ.get("PGDATABASE"), os.environ.get("PGUSER"))
    os.environ["PGDATABASE"] = db
    if user:
        os.environ["PGUSER"] = user
    try:
        return sql(query)
    finally:
        os.environ["PGDATABASE"], os.environ["PGUSER"] = env_old


def error_in(db, query, user=None):
    try:
        sql_in(db, query, user)
    except SqlError as e:
        return e
    return None


sql(f"DROP DATABASE IF EXISTS {DB_B}", db="postgres")
sql("DROP ROLE IF EXISTS regress_kysely_owner; CREATE ROLE regress_kysely_owner SUPERUSER LOGIN")
sql(f"CREATE DATABASE {DB_B}", db="postgres")
sql_in(DB_B, "CREATE EXTENSION vtj_fdw", user="regress_kysely_owner")
sql_in(DB_B, f"""CREATE SERVER k FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{KYSELY_URL}');
                 CREATE USER MAPPING FOR postgres SERVER k OPTIONS (username 'mutpT1', password '{PASSWORD}');
                 CREATE SCHEMA k; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER k INTO k;""")
eq(tried(lambda: sql_in(DB_B, "SELECT vtj.kyselyloki_lukija()")), [["vtj_kyselyloki_lukija_" + DB_B]],
   "the second database has a reader role of its own")
sql_in(DB_B, f"SELECT count(*) FROM k.henkilo WHERE hetu = '{plain[0]}'")
e = error_in(DB_B, "SELECT count(*) FROM vtj.kyselyloki", user="regress_kysely_reader")
ok(e is not None and e.sqlstate == "42501", "a reader of database A's log cannot read database B's", e and e.text)
eq(tried(lambda: sql("SELECT pg_has_role('regress_kysely_reader', 'vtj_kyselyloki_lukija_" + DB_B + "', 'MEMBER')")),
   [["f"]], "… (not a member of B's reader role)")

# The log worker connects as the extension's owner; if it cannot, nothing is sent.
sql("ALTER ROLE regress_kysely_owner NOLOGIN")
clear_requests()
e = error_in(DB_B, f"SELECT * FROM k.henkilo WHERE hetu = '{plain[1]}'")
ok(e is not None and e.sqlstate == "55000" and "log worker" in e.text and "log in" in e.text,
   "a log worker that cannot connect: the look-up is refused and the error says why", e and e.text)
eq(len(kysely_requests()), 0, "… and no request reached VTJkysely")
ok(e is not None and plain[1] not in e.text and PASSWORD not in e.text, "… without the hetu or a credential", e and e.text)
eq(sql_in(DB_B, f"SELECT count(*) FROM vtj.kyselyloki WHERE hetu = '{plain[1]}'"), [["0"]], "… nor a log row")
sql("ALTER ROLE regress_kysely_owner LOGIN")
eq(tried(lambda: sql_in(DB_B, f"SELECT count(*) FROM k.henkilo WHERE hetu = '{plain[1]}'")), [["1"]],
   "with the owner able to log in again, it works")
sql(f"DROP DATABASE {DB_B}", db="postgres")
sql("DROP ROLE regress_kysely_owner; DROP ROLE IF EXISTS vtj_kyselyloki_lukija_" + DB_B)

# ---- a private cluster: no free worker slot, and a hot standby ---------------------------------

PGBIN = os.environ.get("VTJ_PG_BIN", "/usr/lib/postgresql/15/bin")
pg = pwd.getpwnam("postgres")
cdir = tempfile.mkdtemp(prefix="vtj_kysely_cluster.")
os.chown(cdir, pg.pw_uid, pg.pw_gid)


SERVER_ENV = shared_server_env()     # under the sanitize stage: the sanitizer runtime, as the suite's


def as_postgres(*args):
    env = [f"{k}={v}" for k, v in sorted(SERVER_ENV.items())]
    return subprocess.run(["runuser", "-u", "postgres", "--", "env"] + env + list(args), capture_output=True, text=True,
                          timeout=120)


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def sql_at(port, query):
    old = (os.environ.get("PGHOST"), os.environ.get("PGPORT"), os.environ.get("PGDATABASE"))
    os.environ.update(PGHOST=cdir, PGPORT=str(port), PGDATABASE="postgres")
    try:
        return sql(query)
    except SqlError as e:
        return e
    finally:
        os.environ["PGHOST"], os.environ["PGPORT"], os.environ["PGDATABASE"] = old


p1, p2 = free_port(), free_port()
try:
    r = as_postgres(PGBIN + "/initdb", "-D", cdir + "/primary", "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                    "--locale=C.UTF-8")
    with open(cdir + "/primary/postgresql.conf", "a") as f:
        f.write(f"port = {p1}\nlisten_addresses = ''\nunix_socket_directories = '{cdir}'\nmax_worker_processes = 0\n"
                "fsync = off\n")
    r = as_postgres(PGBIN + "/pg_ctl", "-D", cdir + "/primary", "-l", cdir + "/primary.log", "-w", "start")
    ok(r.returncode == 0, "a private cluster with max_worker_processes = 0 starts", r.stderr)
    sql_at(p1, f"""CREATE EXTENSION vtj_fdw;
                   CREATE SERVER k FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{KYSELY_URL}');
                   CREATE USER MAPPING FOR postgres SERVER k OPTIONS (username 'mutpT1', password '{PASSWORD}');
                   CREATE SCHEMA k; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER k INTO k;""")
    clear_requests()
    cleared = time.time()
    e = sql_at(p1, f"SELECT * FROM k.henkilo WHERE hetu = '{plain[0]}'")
    ok(isinstance(e, SqlError) and e.sqlstate == "53000" and "max_worker_processes" in e.text,
       "no free background worker slot: refused, naming max_worker_processes", e)
    stray = kysely_requests()
    # (what the mock logged of a stray request — endpoint, path, status, fault, time, not the
    # hetus — is printed; the one seen twice under sanitize was the slow look-up abandoned above)
    ok(len(stray) == 0, "… and nothing was sent",
       [{k: v for k, v in r.items() if k != "hetus"} | {"seconds_after_clear": round(r.get("time", 0) - cleared, 3)}
        for r in stray])
    r = as_postgres(PGBIN + "/pg_basebackup", "-h", cdir, "-p", str(p1), "-U", "postgres", "-D", cdir + "/standby",
                    "-R", "-X", "stream")
    ok(r.returncode == 0, "a standby is made with pg_basebackup", r.stderr)
    with open(cdir + "/standby/postgresql.conf", "a") as f:
        f.write(f"port = {p2}\n")
    r = as_postgres(PGBIN + "/pg_ctl", "-D", cdir + "/standby", "-l", cdir + "/standby.log", "-w", "start")
    ok(r.returncode == 0, "… and starts as a hot standby", r.stderr)
    eq(sql_at(p2, "SELECT pg_is_in_recovery()"), [["t"]], "… in recovery")
    clear_requests()
    e = sql_at(p2, f"SELECT * FROM k.henkilo WHERE hetu = '{plain[0]}'")
    ok(isinstance(e, SqlError) and e.sqlstate == "25006" and "standby" in e.text,
       "a look-up on a hot standby is refused clearly (25006)", e)
    eq(len(kysely_requests()), 0, "… and nothing was sent")
finally:
    for d in ("standby", "primary"):
        if os.path.isdir(cdir + "/" + d):
            as_postgres(PGBIN + "/pg_ctl", "-D", cdir + "/" + d, "-m", "immediate", "-w", "stop")
    shutil.rmtree(cdir, ignore_errors=True)

# ---- EXPLAIN -----------------------------------------------------------------------------------

plan = "\n".join(r[0] for r in sql(f"EXPLAIN (VERBOSE) SELECT * FROM k.henkilo WHERE hetu = ANY({pg_array(plain[:3])})"))
ok("VTJkysely" in plan and "VTJ Hetus: 3" in plan and "VTJ Max Hetus: 5" in plan, "EXPLAIN VERBOSE describes the scan",
   plan)
plan = "\n".join(r[0] for r in sql(f"EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM k.henkilo WHERE hetu = ANY({pg_array(plain[:3])})"))
ok(PASSWORD not in plan and "mutpT1" not in plan and not any(h in plan for h in plain),
   "EXPLAIN ANALYZE VERBOSE shows no credential and no hetu", plan)
ok("VTJ Look-ups: 3" in plan and "VTJ Found: 3" in plan and "VTJ Requests: 3" in plan,
   "EXPLAIN ANALYZE counts the look-ups", plan)

sql("DROP USER MAPPING FOR regress_kysely_user SERVER k; DROP OWNED BY regress_kysely_user; "
    "DROP ROLE regress_kysely_user; DROP ROLE regress_kysely_reader")
proxy.shutdown()
sql("DROP DATABASE vtj_it_kysely", db="postgres")
done()
