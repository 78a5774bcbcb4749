#!/usr/bin/env python3
"""Foreign tables against the mock: results equal what the interface serves (a plain client's
view), batching and de-duplication in the request log, parameters, generic plans, joins,
window starts, the last bookmark, connection functions, privileges and secrets."""
import json
import math
import os

from taplib import (clear_requests, done, eq, fresh_db, mock, mockclient, ok, pg_array, requests, sql,
                    sql_error, value)

PASSWORD = os.environ["VTJ_MOCK_PASSWORD"]
URL = os.environ["VTJ_MOCK_URL"]
fresh_db("vtj_it_fdw")
sql("CREATE EXTENSION vtj_fdw")
sql(f"""CREATE SERVER mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{URL}', perustiedot_batch_size '40',
        muutokset_batch_size '50', parallel_requests '3');
        CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (username 'mutpT1', password '{PASSWORD}');
        CREATE SCHEMA v; IMPORT FOREIGN SCHEMA muutosrajapinta FROM SERVER mock INTO v;""")

hetus = mockclient.hetut(100)
eq(len(hetus), 100, "the mock lists 100 hetus")
arr = pg_array(hetus)

# EXPLAIN without ANALYZE makes no request.
clear_requests()
sql(f"EXPLAIN (VERBOSE) SELECT * FROM v.perustiedot WHERE hetu = ANY({arr})")
eq(len(requests()), 0, "EXPLAIN without ANALYZE sends no request")

# perustiedot equals the interface, row for row.
clear_requests()
rows = sql(f"SELECT hetu, jarjestys, tietoryhma, alkupv, loppupv, turvakiellon_alaiset_kentat, tiedot::text "
           f"FROM v.perustiedot WHERE hetu = ANY({arr}) ORDER BY jarjestys")
log = requests("perustiedot")  # before the plain client adds its own requests
want = mockclient.perustiedot("mutpT1", hetus)
eq(len(rows), len(want), "perustiedot returns as many rows as the interface serves")
eq(len({r[0] for r in rows}), len({w["hetu"] for w in want}), "… for the same persons")
by_hetu_got, by_hetu_want = {}, {}
for r in rows:
    by_hetu_got.setdefault(r[0], []).append(json.loads(r[6]))
for w in want:
    by_hetu_want.setdefault(w["hetu"], []).append(w["tiedot"])
eq(by_hetu_got, by_hetu_want, "tiedot is every group object as served, in the interface's order, person by person")
typed_ok = True
for r in rows:
    g = json.loads(r[6])
    if r[2] != g.get("tietoryhma"):
        typed_ok = False
    a = g.get("alkupv")
    if isinstance(a, dict) and a.get("tarkkuus", "PAIVA") == "PAIVA" and r[3] != a.get("arvo"):
        typed_ok = False
    if a is None and r[3] is not None:
        typed_ok = False
ok(typed_ok, "typed columns tietoryhma and alkupv agree with tiedot")
seq = [int(r[1]) for r in rows]
ok(seq == sorted(seq) and len(set(seq)) == len(seq), "jarjestys increases")

eq(sorted(r["hetus"] for r in log), [20, 40, 40], "100 hetus in batches of 40: three requests (40, 40, 20)")

# perustiedot_ryhmittain equals the same answer grouped here, independently of the extension:
# per person and group the objects in order, without the change keys and without the objects
# withheld whole; the withheld fields; the person's facts on each of its rows. The account
# mutpT1x is answered with the protected persons' groups withheld.
sql(f"""CREATE SERVER mockx FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{URL}', perustiedot_batch_size '40');
        CREATE USER MAPPING FOR CURRENT_USER SERVER mockx OPTIONS (username 'mutpT1x', password '{PASSWORD}');
        CREATE SCHEMA vx; IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (perustiedot_ryhmittain) FROM SERVER mockx INTO vx;
        CREATE FOREIGN TABLE vx.ryhmat_tekstina (hetu text, tietoryhma text, tiedot text)
            SERVER mockx OPTIONS (endpoint 'perustiedot_ryhmittain');""")
many = mockclient.hetut(400)
want_groups, want_person = {}, {}
for w in mockclient.perustiedot("mutpT1x", many):
    g = w["tiedot"]
    key = (w["hetu"], g.get("tietoryhma"))
    entry = want_groups.setdefault(key, {"tiedot": [], "fields": None})
    person = want_person.setdefault(w["hetu"], {"salattua": False, "turvakielto": None})
    withheld = "turvakiellonAlaisetKentat" in g
    if withheld:
        entry["fields"] = entry["fields"] or []
        for f in g["turvakiellonAlaisetKentat"] if isinstance(g["turvakiellonAlaisetKentat"], list) else []:
            if isinstance(f, str) and f not in entry["fields"]:
                entry["fields"].append(f)
        person["salattua"] = True
    whole = withheld and not (set(g) - {"tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat"})
    state = {k: v for k, v in g.items() if k not in ("muutosattribuutti", "voimassaolevatTiedot")}
    if not whole:
        entry["tiedot"].append(state)
    if g.get("tietoryhma") == "TURVAKIELTO":
        person["turvakielto"] = person["turvakielto"] or []
        if not whole:
            person["turvakielto"].append(state)
got = sql(f"SELECT hetu, tietoryhma, tiedot::text, turvakiellon_alaiset_kentat, henkilolla_salattua, "
          f"henkilon_turvakielto::text, jarjestys FROM vx.perustiedot_ryhmittain WHERE hetu = ANY({pg_array(many)})")
got_groups = {(r[0], r[1]): {"tiedot": json.loads(r[2]),
                             "fields": None if r[3] is None else [x for x in r[3].strip("{}").split(",") if x]}
              for r in got}
eq(len(got), len(got_groups), "perustiedot_ryhmittain: one row per person and group")
eq(got_groups, want_groups, "… each group's objects in order, without change keys or objects withheld whole; its withheld fields")
ok(sum(1 for v in want_groups.values() if v["fields"] is not None) > 0
   and sum(1 for v in want_groups.values() if v["tiedot"] == []) > 0,
   "… (the answer has withheld groups, some withheld whole)")
persons_ok = all(r[4] == ("t" if want_person[r[0]]["salattua"] else "f")
                 and (json.loads(r[5]) if r[5] is not None else None) == want_person[r[0]]["turvakielto"] for r in got)
ok(persons_ok, "… and each row carries its person's facts (some group withheld; the TURVAKIELTO records)")
ok(any(v["turvakielto"] for v in want_person.values()), "… (the answer has persons with TURVAKIELTO records)")
seq = [int(r[6]) for r in sorted(got, key=lambda r: int(r[6]))]
eq(len(set(seq)), len(seq), "… jarjestys is unique")
some = ["HENKILON_NIMI", "TURVAKIELTO", "KOTIKUNTA"]
filtered = sql(f"SELECT hetu, tietoryhma, tiedot::text, henkilolla_salattua FROM vx.perustiedot_ryhmittain "
               f"WHERE hetu = ANY({pg_array(many)}) AND tietoryhma = ANY({pg_array(some)})")
eq({(r[0], r[1]): json.loads(r[2]) for r in filtered},
   {k: v["tiedot"] for k, v in want_groups.items() if k[1] in some},
   "… tietoryhma = ANY(…) returns just those groups")
ok(all(r[3] == ("t" if want_person[r[0]]["salattua"] else "f") for r in filtered),
   "… and the person's facts still count every group")
text_rows = sql(f"SELECT hetu, tietoryhma, tiedot FROM vx.ryhmat_tekstina WHERE hetu = ANY({pg_array(many)})")
eq({(r[0], r[1]): json.loads(r[2]) for r in text_rows}, {k: v["tiedot"] for k, v in want_groups.items()},
   "… declared as text, tiedot is the same array as JSON text")
# The jsonb the scan builds from the decoder's tokens is the very value jsonb_in makes of the
# same JSON text: equal, printed alike byte for byte (keys in jsonb's order: by length, then
# bytewise), and every key found by ->, which searches that order. (json.loads above cannot see
# an object whose keys are stored out of order.)
same = sql(f"""WITH b AS (SELECT hetu, tietoryhma, tiedot FROM vx.perustiedot_ryhmittain WHERE hetu = ANY({pg_array(many)})),
                    t AS (SELECT hetu, tietoryhma, tiedot::jsonb AS tiedot FROM vx.ryhmat_tekstina WHERE hetu = ANY({pg_array(many)}))
               SELECT count(*), count(*) FILTER (WHERE b.tiedot = t.tiedot AND b.tiedot::text = t.tiedot::text),
                      (SELECT count(*) FROM b, jsonb_array_elements(b.tiedot) e(x), jsonb_object_keys(e.x) k(k)),
                      (SELECT count(*) FROM b, jsonb_array_elements(b.tiedot) e(x), jsonb_object_keys(e.x) k(k)
                        WHERE e.x->k.k IS NOT NULL AND e.x ? k.k)
                 FROM b JOIN t USING (hetu, tietoryhma)""")[0]
eq(same[0], str(len(got)), "jsonb from tokens: every group row has its text twin")
eq(same[1], same[0], "… and its jsonb equals jsonb_in's of the same text, printed byte for byte alike")
ok(int(same[2]) > 1000 and same[3] == same[2], f"… every one of its {same[2]} keys is found by -> and ?")

# Duplicates are sent once; NULLs are ignored.
clear_requests()
dup = pg_array(hetus[:30] + hetus[:30])
n = value(f"SELECT count(DISTINCT hetu) FROM v.perustiedot WHERE hetu = ANY({dup})")
eq(n, "30", "duplicated hetus give each person once")
eq([r["hetus"] for r in requests("perustiedot")], [30], "… and are sent once")
clear_requests()
eq(value(f"SELECT count(*) FROM v.perustiedot WHERE hetu = ANY(ARRAY['{hetus[0]}', NULL])") != "0", True,
   "a NULL in the array is skipped")

# Empty and NULL restrictions: no request at all.
clear_requests()
eq(value("SELECT count(*) FROM v.perustiedot WHERE hetu = ANY('{}'::text[])"), "0", "an empty array returns nothing")
eq(value("SELECT count(*) FROM v.perustiedot WHERE hetu = NULL::text"), "0", "hetu = NULL returns nothing")
eq(value("SELECT count(*) FROM v.muutokset WHERE hetu = ANY('{}'::text[]) AND muutospv >= '2026-01-01'"), "0",
   "an empty array on muutokset returns nothing")
eq(len(requests()), 0, "… and none of them sends a request (not even GET /kirjausavain)")

# Invalid hetus: an error with count and positions, no values, no request.
clear_requests()
bad = pg_array([hetus[0], "131052-308U", hetus[1], "xx"])
e = sql_error(f"SELECT count(*) FROM v.perustiedot WHERE hetu = ANY({bad})")
ok(e is not None and e.sqlstate == "22P02", "invalid hetus are refused with SQLSTATE 22P02", e and e.text)
ok(e is not None and "2 of 4 hetus are invalid, at positions 2, 4" in e.text, "the error gives count and positions",
   e and e.text)
ok(e is not None and "131052-308U" not in e.text and hetus[0] not in e.text, "the error prints no hetu", e and e.text)
eq(len(requests()), 0, "no request was sent")

# Parameters and generic plans: a PL/pgSQL loop past the plan cache's five custom plans.
sql("""CREATE FUNCTION ryhmia(h text[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE total bigint := 0; x text; c bigint;
BEGIN
  FOREACH x IN ARRAY h LOOP
    SELECT count(*) INTO c FROM v.perustiedot WHERE hetu = x;
    total := total + c;
  END LOOP;
  RETURN total;
END $$""")
clear_requests()
eight = hetus[:8]
got = value(f"SELECT ryhmia({pg_array(eight)})", settings=["plan_cache_mode = force_generic_plan"])
want8 = sum(1 for w in want if w["hetu"] in set(eight))
eq(got, str(want8), "a PL/pgSQL variable pushes down under force_generic_plan (counts)")
eq(len(requests("perustiedot")), 8, "… one request per iteration, each for one hetu")
ok(all(r["hetus"] == 1 for r in requests("perustiedot")), "… never a scan without the hetu")

clear_requests()
sql(f"PREPARE q(text[]) AS SELECT count(*) FROM v.perustiedot WHERE hetu = ANY($1)")
got = sql(f"PREPARE q(text[]) AS SELECT count(*) FROM v.perustiedot WHERE hetu = ANY($1); "
          f"SET plan_cache_mode = force_generic_plan; EXECUTE q({pg_array(hetus[:50])})")
want50 = sum(1 for w in want if w["hetu"] in set(hetus[:50]))
eq(got[0][0], str(want50), "a prepared statement's array parameter pushes down under a generic plan")
eq(sorted(r["hetus"] for r in requests("perustiedot")), [10, 40], "… batched 40 + 10")

# ARRAY(SELECT …) sub-plan and a join on hetu.
sql(f"CREATE TABLE jasen (hetu text PRIMARY KEY); INSERT INTO jasen SELECT unnest({pg_array(hetus[:12])}); ANALYZE jasen")
clear_requests()
got = value("SELECT count(*) FROM v.perustiedot WHERE hetu = ANY(ARRAY(SELECT hetu FROM jasen))")
want12 = sum(1 for w in want if w["hetu"] in set(hetus[:12]))
eq(got, str(want12), "hetu = ANY(ARRAY(SELECT …)) returns the members' rows")
eq([r["hetus"] for r in requests("perustiedot")], [12], "… in one request of 12 hetus")
clear_requests()
plan = "\n".join(r[0] for r in sql("EXPLAIN SELECT j.hetu, p.tietoryhma FROM jasen j JOIN v.perustiedot p ON p.hetu = j.hetu"))
got = value("SELECT count(*) FROM jasen j JOIN v.perustiedot p ON p.hetu = j.hetu")
eq(got, str(want12), "a join on hetu returns the members' rows")
ok("Nested Loop" in plan, "… through a nested loop with a parameterized foreign scan", plan)
eq(len(requests("perustiedot")), 12, "… one request per member")

# muutokset: advance the mock a month and compare with a plain client's paging.
state = mock("GET", "/_control/state")
start_day = state["history_start"]
b0 = int(value(f"SELECT kirjausavain FROM v.kirjausavain WHERE paiva = '{start_day}'"))
eq(b0, mockclient.call("GET", f"/api/v1/kirjausavain/{start_day}", account="mutpT1")["viimeisinKirjausavain"],
   "kirjausavain equals GET /kirjausavain/{date}")
mock("POST", "/_control/advance", {"days": 30})
changed = mockclient.hetut(120, "changed")
ok(len(changed) > 0, "the mock has persons with changes")
carr = pg_array(changed)
clear_requests()
rows = sql(f"SELECT hetu, kirjausavain, jarjestys, tietoryhma, muutosattribuutti, tiedot::text, muutospv "
           f"FROM v.muutokset WHERE hetu = ANY({carr}) AND kirjausavain > {b0} ORDER BY jarjestys")
mlog = requests("muutokset")  # before the plain client's own paging
direct = mockclient.muutokset("mutpT1", b0, changed)
eq(len(rows), len(direct["rows"]), "muutokset returns as many group rows as the interface serves")
got_seq = {}
for r in rows:
    got_seq.setdefault(r[0], []).append((r[3], r[4], json.loads(r[5])))
want_seq = {}
for d in direct["rows"]:
    want_seq.setdefault(d["hetu"], []).append((d["tiedot"].get("tietoryhma"), d["tiedot"].get("muutosattribuutti"), d["tiedot"]))
eq(got_seq, want_seq, "per person, the same groups in the interface's order (KORJATTAVA before its KORJATTU)")
nb = math.ceil(len(changed) / 50)
ok(len(mlog) >= nb, f"{len(changed)} hetus → at least {nb} requests (batches of ≤ 50, paged)", mlog)
ok(all(r["hetus"] <= 50 for r in mlog), "no muutokset request carries more than 50 hetus", mlog)
eq(sum(r["hetus"] for r in mlog if r["status"] == 200) >= len(changed), True, "every hetu was asked for")
both = sql(f"SELECT count(*) FROM v.muutokset WHERE hetu = ANY({carr}) AND kirjausavain > {b0}; "
           f"SELECT vtj.viimeisin_kirjausavain()")
eq(int(both[-1][0]), direct["final"], "vtj.viimeisin_kirjausavain() is the final bookmark (ajanTasalla), same session")
eq(value("SELECT vtj.viimeisin_kirjausavain()"), None, "… and NULL in a session that scanned nothing")
both = sql(f"SELECT count(*) FROM v.muutokset WHERE hetu = ANY({carr}) AND kirjausavain > {b0}; "
           f"SELECT hetu FROM v.muutokset WHERE hetu = ANY({carr}) AND kirjausavain > {b0} LIMIT 1; "
           f"SELECT vtj.viimeisin_kirjausavain()")
eq(both[-1][0], None, "… and NULL again after a scan that did not run to the end (the old one is not kept)")
ok(all(int(r[1]) > b0 for r in rows), "every row's kirjausavain is after the window start")

# muutospv >= t resolves the window through GET /kirjausavain/{date}; the recheck is exact.
mid = sorted(d["muutospv"] for d in direct["rows"])[len(direct["rows"]) // 2] if direct["rows"] else None
if mid:
    clear_requests()
    got = value(f"SELECT count(*) FROM v.muutokset WHERE hetu = ANY({carr}) AND muutospv >= '{mid}'")
    want_n = sum(1 for d in direct["rows"] if d["muutospv"] >= mid)
    eq(got, str(want_n), "muutospv >= t returns exactly the changes from t on")
    kl = [r["path"].rsplit("/", 1)[-1] for r in requests("kirjausavain")]
    day_of_mid = value(f"SELECT (timestamptz '{mid}' AT TIME ZONE 'Europe/Helsinki')::date")
    tomorrow = value("SELECT ((now() AT TIME ZONE 'Europe/Helsinki')::date + 1)::text")
    eq(kl, [day_of_mid, tomorrow], "… after one GET /kirjausavain/{date of t}, and one for the present check at the end")
    got = value(f"SELECT count(*) FROM v.muutokset WHERE hetu = ANY({carr}) AND kirjausavain > {b0} AND muutospv < '{mid}'")
    want_n = sum(1 for d in direct["rows"] if d["muutospv"] < mid)
    eq(got, str(want_n), "an upper bound on muutospv returns exactly the changes before it")

# muutokset's person columns, decided by the scan over each batch: the same as computed here
# from a plain client's paging of the whole window (account mutpT1x: withheld groups).
sql("""ALTER SERVER mockx OPTIONS (ADD muutokset_batch_size '200', ADD parallel_requests '2');
       IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (muutokset) FROM SERVER mockx INTO vx;
       CREATE FOREIGN TABLE vx.vanhat_muutokset (hetu text, kirjausavain bigint, jarjestys bigint, tietoryhma text, tiedot jsonb)
           SERVER mockx OPTIONS (endpoint 'muutokset');""")
cols = [r[0] for r in sql("SELECT attname FROM pg_attribute WHERE attrelid = 'vx.muutokset'::regclass AND attnum > 0 ORDER BY attnum")]
eq(cols[-2:], ["henkilolla_salattua", "henkilon_turvakielto"], "IMPORT adds henkilolla_salattua, henkilon_turvakielto at the end of muutokset")
window = sorted(set(mockclient.hetut(3000, "changed") + mockclient.hetut(100, "turvakielto")))
plain = mockclient.muutokset("mutpT1x", b0, window)


def state_of(g):
    return {k: v for k, v in g.items() if k not in ("muutosattribuutti", "voimassaolevatTiedot")}


def withheld_whole(g):
    return "turvakiellonAlaisetKentat" in g and not (set(g) - {"tietoryhma", "muutosattribuutti", "turvakiellonAlaisetKentat"})


facts = {}
for d in plain["rows"]:
    g = d["tiedot"]
    f = facts.setdefault(d["hetu"], {"salattua": False, "turvakielto": None})
    f["salattua"] = f["salattua"] or "turvakiellonAlaisetKentat" in g
    if g.get("tietoryhma") == "TURVAKIELTO":
        f["turvakielto"] = f["turvakielto"] or []
        if not withheld_whole(g):
            f["turvakielto"].append(state_of(g))
        for v in g.get("voimassaolevatTiedot") or []:
            if isinstance(v, dict) and not withheld_whole(v):
                f["turvakielto"].append(state_of(v))
ok(any(f["turvakielto"] for f in facts.values()) and any(f["salattua"] for f in facts.values()),
   "(the window has TURVAKIELTO records and withheld groups)",
   {"rows": len(plain["rows"])})
clear_requests()
got = sql(f"SELECT hetu, jarjestys, tietoryhma, tiedot::text, henkilolla_salattua, henkilon_turvakielto::text, kirjausavain "
          f"FROM vx.muutokset WHERE hetu = ANY({pg_array(window)}) AND kirjausavain > {b0}")
eq(len(got), len(plain["rows"]), "muutokset with the person columns: as many rows as the interface serves")
ok(all(r[4] == ("t" if facts[r[0]]["salattua"] else "f") for r in got),
   "henkilolla_salattua: some group object of the person in the window was withheld, on every row of the person")
ok(all((json.loads(r[5]) if r[5] is not None else None) == facts[r[0]]["turvakielto"] for r in got),
   "henkilon_turvakielto: the person's TURVAKIELTO objects (stripped, withheld ones left out), NULL without any")
per_person = {}
for r in sorted(got, key=lambda r: int(r[1])):
    per_person.setdefault(r[0], []).append(json.loads(r[3]))
want_per_person = {}
for d in plain["rows"]:
    want_per_person.setdefault(d["hetu"], []).append(d["tiedot"])
eq(per_person, want_per_person, "… the rows themselves in the interface's order per person (jarjestys)")
eq(len({int(r[1]) for r in got}), len(got), "… jarjestys unique")
mlog = requests("muutokset")
ok(len(mlog) >= math.ceil(len(window) / 200), "… batched by 200", len(mlog))
both = sql(f"SELECT count(*) FROM vx.muutokset WHERE hetu = ANY({pg_array(window)}) AND kirjausavain > {b0} AND henkilolla_salattua; "
           f"SELECT vtj.viimeisin_kirjausavain()")
eq(int(both[-1][0]), plain["final"], "… and the scan is complete: vtj.viimeisin_kirjausavain() is the final bookmark")
old = sql(f"SELECT hetu, jarjestys, tietoryhma, tiedot::text FROM vx.vanhat_muutokset WHERE hetu = ANY({pg_array(window)}) "
          f"AND kirjausavain > {b0}")
eq(sorted((r[0], r[2], r[3]) for r in old), sorted((r[0], r[2], r[3]) for r in got),
   "a muutokset table made without the new columns still works, with the same rows")
plan = "\n".join(r[0] for r in sql(f"EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM vx.muutokset WHERE hetu = ANY({pg_array(window)}) "
                                   f"AND kirjausavain > {b0}"))
ok("VTJ Present Check: passed" in plan, "EXPLAIN ANALYZE: the present check passed", plan)
ok(not any(h in plan for h in window), "… and shows no hetu", plan)

# The MUTP-Tunnus/MUTP-Salasana headers and the X-Road path form of the url.
root = URL[: -len("/api/v1")]
sql(f"""CREATE SERVER mock_xroad FOREIGN DATA WRAPPER vtj_fdw OPTIONS (
          url '{root}/r1/FI-TEST/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1', auth 'mutp',
          xroad_client 'FI-TEST/MUN/0123456-7/vtj-testi');
        CREATE USER MAPPING FOR CURRENT_USER SERVER mock_xroad OPTIONS (username 'mutpT1', password '{PASSWORD}');
        CREATE SCHEMA x; IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (perustiedot) FROM SERVER mock_xroad INTO x""")
clear_requests()
eq(value(f"SELECT count(*) FROM x.perustiedot WHERE hetu = '{hetus[0]}'"),
   value(f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'"),
   "auth 'mutp' through the X-Road path returns the same rows")
ok(any("/r1/FI-TEST/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1/perustiedot" in r["path"] for r in requests()),
   "… sent to the X-Road path", requests())
sql(f"ALTER USER MAPPING FOR CURRENT_USER SERVER mock_xroad OPTIONS (SET password 'wrong')")
e = sql_error(f"SELECT count(*) FROM x.perustiedot WHERE hetu = '{hetus[0]}'")
ok(e is not None and e.sqlstate == "HV00N" and "wrong" not in e.text, "a wrong MUTP password: HV00N, not echoed",
   e and e.text)

# Connections: cached per user mapping, listed and closed (one session: the cache is per backend).
out = sql(f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'; "
          "SELECT palvelin, kayttaja, vapaita, kaytossa, pyyntoja > 0, voimassa FROM vtj.yhteydet(); "
          "SELECT vtj.katkaise(); "
          "SELECT vapaita FROM vtj.yhteydet()")
eq(out[1], ["mock", "postgres", "1", "0", "t", "t"], "vtj.yhteydet() lists the mapping's idle client")
eq(out[2], ["1"], "vtj.katkaise() closes it")
eq(out[3], ["0"], "… and none is left idle")
out = sql(f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'; "
          "ALTER SERVER mock OPTIONS (SET parallel_requests '2'); "
          "SELECT voimassa, vapaita FROM vtj.yhteydet(); "
          f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'; "
          "SELECT voimassa, vapaita FROM vtj.yhteydet()")
eq(out[1], ["f", "1"], "ALTER SERVER invalidates the cached connection")
eq(out[3], ["t", "1"], "… and the next scan builds a new one")

# Privileges: a non-superuser needs a password in their own mapping; credentials never leak.
sql("CREATE ROLE regress_vtj_reader; GRANT USAGE ON SCHEMA v TO regress_vtj_reader; "
    "GRANT SELECT ON ALL TABLES IN SCHEMA v TO regress_vtj_reader; "
    "CREATE USER MAPPING FOR regress_vtj_reader SERVER mock OPTIONS (username 'mutpT1')")
e = sql_error(f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'", role="regress_vtj_reader")
ok(e is not None and e.sqlstate == "2F003" and "password is required" in e.text,
   "a non-superuser's mapping without a password is refused (2F003)", e and e.text)
sql("DROP USER MAPPING FOR regress_vtj_reader SERVER mock")
e = sql_error(f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'", role="regress_vtj_reader")
ok(e is not None and "user mapping not found" in e.text, "a user without a mapping gets no one else's", e and e.text)
sql(f"CREATE USER MAPPING FOR regress_vtj_reader SERVER mock OPTIONS (username 'mutpT1x', password '{PASSWORD}')")
ok(int(value(f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetus[0]}'", role="regress_vtj_reader")) > 0,
   "with their own mapping and password, a non-superuser can scan")
plan = "\n".join(r[0] for r in sql(f"EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM v.perustiedot WHERE hetu = ANY({arr})"))
ok(PASSWORD not in plan and "mutpT1" not in plan, "EXPLAIN ANALYZE VERBOSE shows no credential", plan)
ok(not any(h in plan for h in hetus), "EXPLAIN ANALYZE VERBOSE shows no hetu", plan)
ok("VTJ Requests: 3" in plan and "VTJ Endpoint: POST /perustiedot" in plan, "EXPLAIN ANALYZE counts the requests", plan)

sql("DROP USER MAPPING FOR regress_vtj_reader SERVER mock; DROP OWNED BY regress_vtj_reader; DROP ROLE regress_vtj_reader")
sql("DROP DATABASE vtj_it_fdw", db="postgres")
done()
