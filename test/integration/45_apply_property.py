#!/usr/bin/env python3
"""The apply rules of docs/change-semantics.md, twice implemented: the mirror's ordered
aggregate vtj_internal.apply (its step in C, src/pg/apply_step.cpp) and the mock's reference, test/mock/vtjmock/apply.py.

1. The rule x order table of change-semantics.md, cell by cell, through both.
2. A property test: at least 10,000 random change sequences (single- and multi-valued groups,
   unknown groups, every attribute and some unknown ones, closing records before and after the
   new ones, voimassaolevatTiedot, groups withheld by the interface, hetu corrections) from a
   random stored state; both implementations must give identical record lists. A disagreement
   is shrunk to the smallest sequence that still shows it, and printed.

VTJ_PROPERTY_SEED repeats a run (the seed is printed); VTJ_PROPERTY_N sets the count."""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "mock"))
from vtjmock import apply  # noqa: E402
from taplib import PSQL, done, eq, ok, sql  # noqa: E402

DB = "vtj_it_property"
N = int(os.environ.get("VTJ_PROPERTY_N", "12000"))
SEED = int(os.environ.get("VTJ_PROPERTY_SEED") or random.SystemRandom().randrange(1, 2 ** 31))

SINGLE = ["VAKINAINEN_KOTIMAINEN_OSOITE", "KOTIMAINEN_POSTIOSOITE", "KOTIKUNTA", "KUOLINPAIVA",
          "TULEVAISUUDEN_TIETORYHMA"]          # the last one: a type nobody knows yet (single-valued)
MULTI = ["TILAPAINEN_KOTIMAINEN_OSOITE", "HUOLTAJA", "NIMENMUUTOS", "EDUNVALVONTA"]
KORJAUS = "HENKILOTUNNUS_KORJAUS"
ATTRIBUTES = ["LISATTY", "MUUTETTU", "KORJATTAVA", "KORJATTU", "POISTETTU", "LISATIETO", "TULEVA_ATTRIBUUTTI", None]
ATTR_WEIGHTS = [25, 25, 8, 8, 10, 10, 2, 2]


def run_sql(text):
    """psql with the statement on stdin (a large JSON literal does not fit an argument)."""
    p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DB], input=text,
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    return [line for line in p.stdout.split("\n") if line]


def mirror_results(cases):
    """{(case, tietoryhma): records} as vtj_internal.apply gives them, for every (case, group) with a
    stored state or a change. The aggregate starts from the stored records, given as the first
    row {"voimassaolevatTiedot": stored}, exactly as vtj.paivita feeds it."""
    steps, init = [], []
    for i, (state, groups) in enumerate(cases):
        for t, recs in state.items():
            init.append({"s": i, "t": t, "r": recs})
        for n, g in enumerate(groups):
            steps.append({"s": i, "n": n, "t": g["tietoryhma"], "g": g})
    doc = json.dumps({"steps": steps, "init": init}, ensure_ascii=False).replace("$vtj$", "")
    out = run_sql(f"""
        WITH d AS (SELECT $vtj${doc}$vtj$::jsonb AS j),
        o AS (SELECT (e->>'s')::int AS s, e->>'t' AS t, (e->>'n')::bigint AS n, e->'g' AS g
                FROM d, jsonb_array_elements(d.j->'steps') e
              UNION ALL
              SELECT (e->>'s')::int, e->>'t', -9223372036854775808, jsonb_build_object('voimassaolevatTiedot', e->'r')
                FROM d, jsonb_array_elements(d.j->'init') e)
        SELECT json_build_array(o.s, o.t, vtj_internal.apply(o.g, vtj_internal.multi_valued(o.t) ORDER BY o.n))
          FROM o GROUP BY o.s, o.t;""")
    res = {}
    for line in out:
        s, t, recs = json.loads(line)
        res[(s, t)] = recs
    return res


def reference_result(state, groups):
    return apply.apply_change(state, groups)


def agree(i, state, groups, mirror):
    """Does the mirror's result for case i equal apply.py's? (Empty lists = no group.)"""
    want = reference_result(state, groups)
    types = set(state) | {g["tietoryhma"] for g in groups}
    for t in types:
        got = mirror.get((i, t), [])
        if got != want.get(t, []):
            return False
    return True


# ---- random sequences --------------------------------------------------------------------------
def record(rng, t, v):
    """A record of group t with value v (a small pool per group, so that closing records match)."""
    if t == KORJAUS:
        return {"tietoryhma": t, "voimassaolo": rng.choice(["AKTIIVI", "PASSIIVI"]),
                "muutettuHenkilotunnus": "h%d" % v, "aktiivinenHenkilotunnus": "h%d" % (v + 1),
                "edellisetHenkilotunnukset": ["h%d" % v]}
    r = {"tietoryhma": t, "arvo": v}
    if v % 2:
        r["katunimi"] = {"fi": "Katu %d" % v, "sv": "Gatan %d" % v}
    if v % 3 == 0:
        r["alkupv"] = {"arvo": "2020-0%d-01" % (v % 9 + 1), "tarkkuus": "PAIVA"}
    return r


def loppu(rng):
    return {"arvo": "2026-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)), "tarkkuus": "PAIVA"}


def random_group(rng, t):
    v = rng.randint(1, 4)
    kind = rng.random()
    if kind < 0.06:    # withheld by the interface: turvakiellonAlaisetKentat and no values
        g = {"tietoryhma": t, "turvakiellonAlaisetKentat": ["katunimi", "postinumero"]}
        a = rng.choice(ATTRIBUTES)
        if a:
            g["muutosattribuutti"] = a
        return g
    g = record(rng, t, v)
    a = rng.choices(ATTRIBUTES, ATTR_WEIGHTS)[0]
    if a:
        g["muutosattribuutti"] = a
    if a in ("MUUTETTU", "KORJATTAVA", "POISTETTU") and rng.random() < 0.6:
        g["loppupv"] = loppu(rng)
    elif rng.random() < 0.05:
        g["loppupv"] = loppu(rng)
    if kind > 0.9:     # the valid records after the change are given
        vt = [record(rng, t, rng.randint(1, 4)) for _ in range(rng.randint(0, 3 if t in MULTI else 1))]
        if vt and rng.random() < 0.3:
            vt[0]["muutosattribuutti"] = "MUUTETTU"     # stripped like any record
        g["voimassaolevatTiedot"] = vt
    if 0.86 < kind <= 0.9:   # values and a list of withheld fields: not a withheld group
        g["turvakiellonAlaisetKentat"] = ["huoneistonumero"]
    return g


def random_case(rng):
    types = rng.sample(SINGLE + MULTI + [KORJAUS], rng.randint(1, 3))
    state = {}
    for t in types:
        if rng.random() < 0.7:
            n = rng.randint(1, 3) if t in MULTI else 1
            recs = []
            for _ in range(n):
                r = record(rng, t, rng.randint(1, 4))
                if r not in recs:
                    recs.append(r)
            state[t] = recs
    groups = [random_group(rng, rng.choice(types)) for _ in range(rng.randint(1, 8))]
    # a change that ends one record and starts another, in either order
    if rng.random() < 0.4:
        t = rng.choice(types)
        old = (state.get(t) or [record(rng, t, 1)])[0]
        closing = dict(old, muutosattribuutti="MUUTETTU", loppupv=loppu(rng))
        new = dict(record(rng, t, rng.randint(1, 4)), muutosattribuutti="LISATTY")
        pair = [closing, new] if rng.random() < 0.5 else [new, closing]
        at = rng.randint(0, len(groups))
        groups[at:at] = pair
    return state, groups


def shrink(state, groups):
    """The smallest case (greedy: drop a change, a stored record) on which the two disagree."""
    def fails(st, gs):
        return not agree(0, st, gs, mirror_results([(st, gs)]))
    changed = True
    while changed:
        changed = False
        for k in range(len(groups)):
            g2 = groups[:k] + groups[k + 1:]
            if fails(state, g2):
                groups, changed = g2, True
                break
        else:
            for t in list(state):
                for k in range(len(state[t])):
                    st2 = dict(state)
                    st2[t] = state[t][:k] + state[t][k + 1:]
                    if not st2[t]:
                        del st2[t]
                    if fails(st2, groups):
                        state, changed = st2, True
                        break
                if changed:
                    break
    return state, groups


# ---- the rule x order table ------------------------------------------------------------------
def R(t, v, **kw):
    r = {"tietoryhma": t, "arvo": v}
    r.update(kw)
    return r


def ch(rec, attr, **kw):
    g = dict(rec, muutosattribuutti=attr)
    g.update(kw)
    return g


END = {"arvo": "2026-11-02", "tarkkuus": "PAIVA"}
VKO, KK, POSTI, TILA = "VAKINAINEN_KOTIMAINEN_OSOITE", "KOTIKUNTA", "KOTIMAINEN_POSTIOSOITE", "TILAPAINEN_KOTIMAINEN_OSOITE"
A, B = R(VKO, 1, katunimi={"fi": "Vanha"}), R(VKO, 2, katunimi={"fi": "Uusi"})
P1, P2 = R(POSTI, 1), R(POSTI, 2)
K1, K2 = R(KK, "091"), R(KK, "049")
X, TA, TB = R(TILA, 9), R(TILA, 1), R(TILA, 2)
AKT = {"tietoryhma": KORJAUS, "voimassaolo": "AKTIIVI", "muutettuHenkilotunnus": "vanha", "aktiivinenHenkilotunnus": "uusi"}
PAS = {"tietoryhma": KORJAUS, "voimassaolo": "PASSIIVI", "muutettuHenkilotunnus": "vanha", "aktiivinenHenkilotunnus": "uusi"}
OWN = {"tietoryhma": KORJAUS, "voimassaolo": "AKTIIVI", "muutettuHenkilotunnus": "vanha", "aktiivinenHenkilotunnus": "vanha"}
NIMI = {"tietoryhma": "HENKILON_NIMI", "etunimi": "Maija", "sukunimi": "Virtanen"}

TABLE = [
    # (cell, stored state, change, expected state)
    ("single-valued move, closing record first", {VKO: [A]}, [ch(A, "MUUTETTU", loppupv=END), ch(B, "LISATTY")], {VKO: [B]}),
    ("single-valued move, new record first (DVV's sample)", {VKO: [A]}, [ch(B, "LISATTY"), ch(A, "MUUTETTU", loppupv=END)], {VKO: [B]}),
    ("postal address change, new record first", {POSTI: [P1]}, [ch(P2, "LISATTY"), ch(P1, "MUUTETTU", loppupv=END)], {POSTI: [P2]}),
    ("postal address change, closing record first", {POSTI: [P1]}, [ch(P1, "MUUTETTU", loppupv=END), ch(P2, "LISATTY")], {POSTI: [P2]}),
    ("municipality change, new record first", {KK: [K1]}, [ch(K2, "LISATTY"), ch(K1, "MUUTETTU", loppupv=END)], {KK: [K2]}),
    ("move with KOTIKUNTA and LISATIETO context, new first", {VKO: [A], KK: [K1]},
     [ch(B, "LISATTY"), ch(K2, "LISATTY"), ch(NIMI, "LISATIETO"), ch(A, "MUUTETTU", loppupv=END)], {VKO: [B], KK: [K2]}),
    ("multi-valued, closing first", {TILA: [X, TA]}, [ch(TA, "MUUTETTU", loppupv=END), ch(TB, "LISATTY")], {TILA: [X, TB]}),
    ("multi-valued, new first", {TILA: [X, TA]}, [ch(TB, "LISATTY"), ch(TA, "MUUTETTU", loppupv=END)], {TILA: [X, TB]}),
    ("KORJATTAVA then KORJATTU, adjacent", {VKO: [A]}, [ch(A, "KORJATTAVA"), ch(B, "KORJATTU")], {VKO: [B]}),
    ("KORJATTAVA, other groups, then KORJATTU", {VKO: [A], KK: [K1]},
     [ch(A, "KORJATTAVA"), ch(K1, "LISATIETO"), ch(NIMI, "LISATIETO"), ch(B, "KORJATTU")], {VKO: [B], KK: [K1]}),
    ("multi-valued KORJATTAVA/KORJATTU", {TILA: [TA, X]}, [ch(TA, "KORJATTAVA"), ch(TB, "KORJATTU")], {TILA: [X, TB]}),
    ("POISTETTU with voimassaolevatTiedot", {KK: [K2]}, [ch(K2, "POISTETTU", voimassaolevatTiedot=[K1])], {KK: [K1]}),
    ("POISTETTU with voimassaolevatTiedot after a LISATTY it lists", {TILA: [X]},
     [ch(TA, "LISATTY"), ch(X, "POISTETTU", voimassaolevatTiedot=[TA])], {TILA: [TA]}),
    ("POISTETTU with voimassaolevatTiedot before a LISATTY it lists", {TILA: [X]},
     [ch(X, "POISTETTU", voimassaolevatTiedot=[TA]), ch(TA, "LISATTY")], {TILA: [TA]}),
    ("POISTETTU without voimassaolevatTiedot, matching", {VKO: [A]}, [ch(A, "POISTETTU")], {}),
    ("POISTETTU without voimassaolevatTiedot, not matching", {VKO: [A]}, [ch(B, "POISTETTU")], {VKO: [A]}),
    ("several changes to one group in one window", {VKO: [A]},
     [ch(B, "LISATTY"), ch(A, "MUUTETTU", loppupv=END), ch(B, "KORJATTAVA"), ch(A, "KORJATTU")], {VKO: [A]}),
    ("hetu correction, PASSIIVI first", {KORJAUS: [OWN]}, [ch(PAS, "MUUTETTU"), ch(AKT, "LISATTY")], {KORJAUS: [AKT]}),
    ("hetu correction, AKTIIVI first", {KORJAUS: [OWN]}, [ch(AKT, "LISATTY"), ch(PAS, "MUUTETTU")], {KORJAUS: [AKT]}),
    ("LISATIETO before the record it explains", {KK: [K1], VKO: [A]}, [ch(K1, "LISATIETO"), ch(B, "LISATTY")], {KK: [K1], VKO: [B]}),
    ("LISATIETO after the record it explains", {KK: [K1], VKO: [A]}, [ch(B, "LISATTY"), ch(K2, "LISATIETO")], {KK: [K1], VKO: [B]}),
    ("a group withheld by the interface clears it", {VKO: [A]},
     [{"tietoryhma": VKO, "muutosattribuutti": "MUUTETTU", "turvakiellonAlaisetKentat": ["katunimi"]}], {}),
    ("an unknown attribute has no effect", {VKO: [A]}, [ch(B, "TULEVA_ATTRIBUUTTI")], {VKO: [A]}),
]

try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    sql("CREATE EXTENSION vtj_fdw", db=DB)

    cases = [(st, gs) for _cell, st, gs, _want in TABLE]
    mirror = mirror_results(cases)
    for i, (cell, st, gs, want) in enumerate(TABLE):
        got_sql = {t: mirror[(i, t)] for t in set(st) | {g["tietoryhma"] for g in gs} if mirror.get((i, t))}
        eq(got_sql, want, f"rule x order: {cell} (vtj_internal.apply)")
        eq(reference_result(st, gs), want, f"rule x order: {cell} (apply.py)")

    rng = random.Random(SEED)
    cases = [random_case(rng) for _ in range(N)]
    mirror = mirror_results(cases)
    bad = [i for i, (st, gs) in enumerate(cases) if not agree(i, st, gs, mirror)]
    n_steps = sum(len(gs) for _st, gs in cases)
    orders = sum(1 for _st, gs in cases for k in range(len(gs) - 1)
                 if gs[k].get("muutosattribuutti") == "LISATTY" and "loppupv" in gs[k + 1])
    diag = None
    if bad:
        st, gs = shrink(*cases[bad[0]])
        diag = ("smallest disagreeing sequence (seed %d, case %d):\nstored: %s\nchange: %s\napply.py: %s\nvtj._sovella: %s" % (
            SEED, bad[0], json.dumps(st, ensure_ascii=False), json.dumps(gs, ensure_ascii=False),
            json.dumps(reference_result(st, gs), ensure_ascii=False),
            json.dumps({t: r for (s, t), r in mirror_results([(st, gs)]).items()}, ensure_ascii=False)))
    ok(not bad and N >= 10000,
       f"{N} random change sequences ({n_steps} group objects, {orders} new records right before a closing one; "
       f"seed {SEED}): vtj_internal.apply and apply.py give identical record lists ({len(bad)} disagree)", diag)
finally:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
