"""Helpers of the mirror's integration scripts (5x_*.py): a mock instance of the script's own
(a fresh present: advance is global to a mock), the interface's truth as the mirror must hold
it (product filter + the censorship rule applied to the uncensored truth), the mirror's state,
and the search for censored values anywhere in schema vtj."""
import base64
import datetime
import json
import os
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import SqlError, sql  # noqa: E402  (and test/mock on the path)
from vtjmock.launch import MockProcess  # noqa: E402

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = os.environ.get("VTJ_MOCK_PASSWORD", "demo")

PRODUCTS = {
    "ASREK": (
        ["HENKILOTUNNUS_KORJAUS", "HENKILON_NIMI", "NIMENMUUTOS", "AIDINKIELI", "ASIOINTIKIELI", "KUOLINPAIVA",
         "TURVAKIELTO", "EDUNVALVONTA", "EDUNVALVONTAVALTUUTUS", "VAKINAINEN_KOTIMAINEN_OSOITE",
         "TILAPAINEN_KOTIMAINEN_OSOITE", "KOTIMAINEN_POSTIOSOITE", "VAKINAINEN_ULKOMAINEN_OSOITE",
         "TILAPAINEN_ULKOMAINEN_OSOITE", "ULKOMAINEN_POSTIOSOITE", "KOTIMAINEN_YHTEYSOSOITE",
         "ULKOMAINEN_YHTEYSOSOITE", "KOTIKUNTA"],
        ["VAKINAINEN_KOTIMAINEN_OSOITE", "TILAPAINEN_KOTIMAINEN_OSOITE", "KOTIMAINEN_POSTIOSOITE",
         "VAKINAINEN_ULKOMAINEN_OSOITE", "TILAPAINEN_ULKOMAINEN_OSOITE", "KOTIKUNTA", "ULKOMAINEN_POSTIOSOITE"]),
    "PALVELUSETELI": (
        ["HENKILOTUNNUS_KORJAUS", "HENKILON_NIMI", "AIDINKIELI", "KUOLINPAIVA", "TURVAKIELTO",
         "VAKINAINEN_KOTIMAINEN_OSOITE", "VAKINAINEN_ULKOMAINEN_OSOITE", "KOTIKUNTA"],
        ["VAKINAINEN_KOTIMAINEN_OSOITE", "VAKINAINEN_ULKOMAINEN_OSOITE", "KOTIKUNTA"]),
}
# every location group any product censors
ALL_CENSORED = sorted(set(PRODUCTS["ASREK"][1]) | set(PRODUCTS["PALVELUSETELI"][1]))
# a product of one's own (a row of vtj.tuote that is the user's data), for populate()
OWN_PRODUCT = "OMA_TUOTE"
PRODUCTS[OWN_PRODUCT] = (["HENKILON_NIMI", "TURVAKIELTO", "KOTIKUNTA", "VAKINAINEN_KOTIMAINEN_OSOITE"],
                         ["KOTIKUNTA", "VAKINAINEN_KOTIMAINEN_OSOITE"])


def fresh_mirror_db(db, mock, rekisteri, account="mutpT1"):
    """A new database `db` following the mock's present (vtj_testi.tanaan), with vtj_fdw, a server
    `plain` on the mock, a user mapping for `account` and register `rekisteri` (ASREK). Returns
    the mock's present date."""
    sql(f"DROP DATABASE IF EXISTS {db}", db="postgres")
    sql(f"CREATE DATABASE {db}", db="postgres")
    today = datetime.date.fromisoformat(mock.state()["present_date"])
    sql(f"ALTER DATABASE {db} SET vtj_testi.tanaan = '{today}'", db="postgres")
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username '{account}', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('{rekisteri}', 'plain', 'ASREK');""", db=db)
    return today


def set_today(db, mock):
    """The database's "today" (vtj_testi.tanaan, read by new sessions) is the mock's present."""
    today = datetime.date.fromisoformat(mock.state()["present_date"])
    sql(f"ALTER DATABASE {db} SET vtj_testi.tanaan = '{today}'", db="postgres")
    return today


def populate(db, mock, n=300, account="mutpT1"):
    """Registers with a history, for the backup and the upgrade tests, in a database made by
    fresh_mirror_db(db, mock, "r"): register r (ASREK) of n members and register oma of a product
    of one's own (OWN_PRODUCT, a user row of vtj.tuote) of n/3 members, both loaded in batches;
    two rounds of change runs over days of the mock's changes, and a run that fails (the
    interface refuses a request) and is run again; VTJkysely look-ups of a server `kysely`,
    logged in vtj.kyselyloki. Only the interface every release has is used (vtj.luo_rekisteri,
    vtj.lisaa_henkilot, vtj.lataa_perustiedot, vtj.paivita). Returns ({register: members}, today)."""
    hetus = mock.hetut(n)
    groups, censored = PRODUCTS[OWN_PRODUCT]
    sql(f"""INSERT INTO vtj.tuote (tuote, kuvaus, tietoryhmat, sensuroitavat)
            VALUES ('{OWN_PRODUCT}', 'a product of our own', '{{{",".join(groups)}}}', '{{{",".join(censored)}}}');
            SELECT vtj.luo_rekisteri('oma', 'plain', '{OWN_PRODUCT}');
            SELECT vtj.lisaa_henkilot('r', '{{{",".join(hetus)}}}');
            SELECT vtj.lisaa_henkilot('oma', '{{{",".join(hetus[:n // 3])}}}');""", db=db)
    sql("CALL vtj.lataa_perustiedot('r', 100)", db=db)
    sql("CALL vtj.lataa_perustiedot('oma')", db=db)
    today = None
    for days in (3, 4):
        mock.advance(days)
        today = set_today(db, mock)
        if days == 4:
            mock.fault("http_400", count=1, endpoint="muutokset")
            try:
                sql("CALL vtj.paivita('r')", db=db)
                raise RuntimeError("populate: the run that should fail did not")
            except SqlError:
                pass
            mock.clear_faults()
        sql("CALL vtj.paivita('r')", db=db)
        sql("CALL vtj.paivita('oma')", db=db)
    sql(f"""CREATE SERVER kysely FOREIGN DATA WRAPPER vtj_fdw OPTIONS (kysely_url '{mock.root}/vtjkysely');
            CREATE USER MAPPING FOR CURRENT_USER SERVER kysely OPTIONS (username '{account}', password '{PASSWORD}');
            CREATE SCHEMA vtjkysely;
            IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER kysely INTO vtjkysely;""", db=db)
    sql(f"SELECT count(*) FROM vtjkysely.henkilo WHERE hetu = ANY ('{{{','.join(hetus[:4])}}}')", db=db,
        settings=("vtj.kayttotarkoitus = 'populate'", "vtj.loppukayttaja = 'testaaja'"))
    return {"r": hetus, "oma": hetus[:n // 3]}, today


class OwnMock(MockProcess):
    """A mock instance of the script's own (vtjmock.launch starts it); stop() ends it."""

    def __init__(self, persons=2000, seed=5, *extra, timeout=180):
        super().__init__("--persons", persons, "--seed", seed, "--password", PASSWORD, "--quiet", *extra,
                         timeout=timeout)

    def call(self, method, path, body=None, account=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.root + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if account:
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{account}:{PASSWORD}".encode()).decode())
        with urllib.request.urlopen(req, timeout=120) as resp:
            raw = resp.read().decode("utf-8")
            return json.loads(raw) if raw else None

    def state(self):
        return self.call("GET", "/_control/state")

    def advance(self, days):
        return self.call("POST", "/_control/advance", {"days": days})

    def hetut(self, n=None, kind=None):
        q = "/_control/hetut?" + (f"limit={n}" if n else "") + (f"&kind={kind}" if kind else "")
        return self.call("GET", q)

    def fault(self, kind, count=1, endpoint="any", **params):
        body = {"kind": kind, "count": count, "endpoint": endpoint}
        body.update(params)
        return self.call("POST", "/_control/fault", body)

    def clear_faults(self):
        return self.call("DELETE", "/_control/fault")

    def requests(self, endpoint=None):
        return [r for r in self.call("GET", "/_control/requests") if endpoint is None or r.get("endpoint") == endpoint]

    def clear_requests(self):
        self.call("DELETE", "/_control/requests")

    def perustiedot(self, hetus, account="mutpT1"):
        """{hetu: [group objects]} for the persons the interface returns."""
        out = {}
        for i in range(0, len(hetus), 1000):
            page = self.call("POST", "/api/v1/perustiedot", {"hetulista": hetus[i:i + 1000]}, account)
            for p in page["perustiedot"]:
                out[p["henkilotunnus"]] = p["tietoryhmat"]
        return out

    def muutokset(self, bookmark, hetus, account="mutpT1"):
        rows = []
        while True:
            page = self.call("POST", "/api/v1/muutokset", {"viimeisinKirjausavain": bookmark, "hetulista": hetus},
                             account)
            for ch in page["muutokset"]:
                for g in ch["tietoryhmat"]:
                    rows.append((ch["henkilotunnus"], g))
            bookmark = page["viimeisinKirjausavain"]
            if page["ajanTasalla"]:
                return rows


def is_marker(g):
    return "turvakiellonAlaisetKentat" in g and all(
        k in ("tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat") for k in g)


def protected(groups, today):
    """In force on `today` (a date) per the person's TURVAKIELTO, or withheld by the interface."""
    if any(is_marker(g) for g in groups):
        return True
    for g in groups:
        if g.get("tietoryhma") == "TURVAKIELTO" and g.get("turvakieltoAktiivinen"):
            end = g.get("turvaLoppuPv")
            if not end or datetime.date.fromisoformat(end["arvo"]) >= today:
                return True
    return False


def expected(groups, product, today):
    """The mirror's content for one person: {group: [records]} after the product filter and the
    censorship rule."""
    wanted, censored = PRODUCTS[product]
    prot = protected(groups, today)
    out = {}
    for g in groups:
        t = g["tietoryhma"]
        if t not in wanted or is_marker(g) or (prot and t in censored):
            continue
        rec = {k: v for k, v in g.items() if k not in ("muutosattribuutti", "voimassaolevatTiedot")}
        out.setdefault(t, []).append(rec)
    return out


def mirror(db, rekisteri):
    """{hetu: {group: [records]}} of the register's stored data; members without data → {}."""
    out = {h: {} for (h,) in sql(f"SELECT hetu FROM vtj.jasen WHERE rekisteri = '{rekisteri}'", db=db)}
    for h, t, recs in sql(f"SELECT hetu, tietoryhma, tietueet::text FROM vtj.tieto WHERE rekisteri = '{rekisteri}'",
                          db=db):
        out.setdefault(h, {})[t] = json.loads(recs)
    return out


def compare(db, rekisteri, product, truth, today, members):
    """Differences between the mirror and the truth: list of (hetu, group, mirror, truth)."""
    got = mirror(db, rekisteri)
    diffs = []
    if sorted(got) != sorted(members):
        diffs.append(("<membership>", None, sorted(set(got) - set(members))[:5], sorted(set(members) - set(got))[:5]))
    for h in members:
        want = expected(truth.get(h, []), product, today)
        have = got.get(h, {})
        for t in sorted(set(want) | set(have)):
            if want.get(t) != have.get(t):
                diffs.append((h, t, have.get(t), want.get(t)))
    return diffs


def censored_values(groups, censored=ALL_CENSORED):
    """Distinctive values of a person's censored groups (from uncensored data) to search for:
    street names, street lines, building ids, and key/value pairs of codes."""
    vals = set()
    for g in groups:
        if g.get("tietoryhma") not in censored or is_marker(g):
            continue
        for k, v in g.items():
            if k in ("katunimi", "postiosoite", "lahiosoite") and isinstance(v, dict):
                vals.update(x for x in v.values() if isinstance(x, str) and len(x) >= 4)
            elif k in ("postiosoite", "lahiosoite", "rakennustunnus", "postiosoiteLisarivi") and isinstance(v, str):
                vals.add(v)
            elif k in ("postinumero", "kuntakoodi") and isinstance(v, str):
                vals.add(json.dumps({k: v})[1:-1])      # '"postinumero": "00100"' as jsonb::text writes it
    return vals


TABLES_WITH_HETU = ("jasen", "tieto", "henkilo", "osoite", "muutosloki")


def person_text(db, rekisteri, hetu):
    """Every stored row of one person in schema vtj, as text."""
    parts = []
    for t in TABLES_WITH_HETU:
        parts += [r[0] for r in sql(f"SELECT x::text || ' ' || row_to_json(x)::text FROM vtj.{t} x "
                                    f"WHERE x.rekisteri = '{rekisteri}' AND x.hetu = '{hetu}'", db=db)]
    return "\n".join(parts)


def whole_schema_text(db):
    """All data of schema vtj as one text (for values that are unique, like building ids)."""
    parts = []
    for (t,) in sql("SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'vtj'::regnamespace AND c.relkind = 'r'",
                    db=db):
        parts += [r[0] for r in sql(f"SELECT row_to_json(x)::text FROM vtj.{t} x", db=db)]
    return "\n".join(parts)


def add_members(db, rekisteri, hetus):
    """vtj.lisaa_henkilot for any number of hetus (through a file: a long list does not fit a
    command line). Returns how many were added."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(hetus) + "\n")
    os.chmod(f.name, 0o644)
    try:
        return int(sql(f"CREATE TEMP TABLE uudet_jasenet (hetu text); COPY uudet_jasenet FROM '{f.name}';"
                       f"SELECT vtj.lisaa_henkilot('{rekisteri}', ARRAY(SELECT hetu FROM uudet_jasenet))", db=db)[0][0])
    finally:
        os.unlink(f.name)
