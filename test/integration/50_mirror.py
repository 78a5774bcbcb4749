#!/usr/bin/env python3
"""The local mirror against a mock of its own: products, registers and members (validation),
the initial load at P0 and change runs up to P1, P2, P3 — after each, the mirror equals the
interface's truth for every member, for both products and both accounts (the uncensored
mutpT1, so that OUR censorship is what is tested, and the censoring mutpT1x); hetu
corrections, new members, idempotent reruns, removal, self-audit, reports, and no censored
value anywhere in schema vtj."""
import datetime
import json
import os
import time

from mirrorlib import (OwnMock, PASSWORD, PRODUCTS, censored_values, compare, person_text, protected,
                       whole_schema_text)
from taplib import done, eq, ok, sql, sql_error, value

DB = "vtj_it_mirror"
N = 2000
mock = OwnMock(N, 17, "--start-days", 20, "--change-rate", 0.3, "--turvakielto-share", 0.04)
try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}', perustiedot_batch_size '300',
                   muutokset_batch_size '700', parallel_requests '3');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            CREATE SERVER cens FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER cens OPTIONS (username 'mutpT1x', password '{PASSWORD}');""",
        db=DB)

    def set_today():
        """The mirror's "today" is the mock's simulated present (turvaLoppuPv compares with it)."""
        st = mock.state()
        sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
        return datetime.date.fromisoformat(st["present_date"])

    today = set_today()

    # ---- products --------------------------------------------------------------------------
    rows = sql("SELECT tuote, tietoryhmat::text, sensuroitavat::text FROM vtj.tuote WHERE vakio ORDER BY 1", db=DB)
    eq([r[0] for r in rows], ["ASREK", "PALVELUSETELI"], "vtj.tuote ships ASREK and PALVELUSETELI")
    for name, groups, cens in rows:
        eq(sorted(groups.strip("{}").split(",")), sorted(PRODUCTS[name][0]), f"{name}: the groups of docs/products.md")
        eq(sorted(cens.strip("{}").split(",")), sorted(PRODUCTS[name][1]), f"{name}: the censored groups of docs/products.md")
    ok(all("YHTEYSOSOITE" not in r[2] for r in rows), "no product censors a *_YHTEYSOSOITE group")
    e = sql_error("UPDATE vtj.tuote SET sensuroitavat = '{}' WHERE tuote = 'ASREK'", db=DB)
    ok(e is not None and e.sqlstate == "42501", "a shipped product cannot be changed", e and e.text)
    sql("INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES ('OMA', '{HENKILON_NIMI,TURVAKIELTO,KOTIKUNTA}', '{KOTIKUNTA}')",
        db=DB)
    e = sql_error("INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES ('HUONO', '{HENKILON_NIMI}', '{KOTIKUNTA}')", db=DB)
    ok(e is not None and e.sqlstate == "23514", "a censored group must be one of the product's groups", e and e.text)

    # ---- registers -------------------------------------------------------------------------
    eq(value("SELECT vtj.luo_rekisteri('a1', 'plain', 'ASREK')", db=DB), "vtj_plain",
       "luo_rekisteri imports the server's foreign tables into vtj_<server>")
    eq(value("SELECT vtj.luo_rekisteri('p1', 'plain', 'PALVELUSETELI')", db=DB), "vtj_plain",
       "a second register of the same server shares the schema")
    sql("SELECT vtj.luo_rekisteri('ax', 'cens', 'ASREK'); SELECT vtj.luo_rekisteri('px', 'cens', 'PALVELUSETELI')", db=DB)
    eq(value("SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid "
             "WHERE c.relnamespace = 'vtj_cens'::regnamespace", db=DB), "4", "schema vtj_cens holds its four foreign tables")
    for q, state, what in [
        ("SELECT vtj.luo_rekisteri('a1', 'plain', 'ASREK')", "42710", "an existing register name"),
        ("SELECT vtj.luo_rekisteri('z', 'eiole', 'ASREK')", "42704", "an unknown server"),
        ("SELECT vtj.luo_rekisteri('z', 'plain', 'EIOLE')", "42704", "an unknown product"),
        ("CALL vtj.paivita('eiole')", "42704", "an unknown register"),
    ]:
        e = sql_error(q, db=DB)
        ok(e is not None and e.sqlstate == state, f"{what} → {state}", e and e.text)

    # ---- members ---------------------------------------------------------------------------
    hetus = mock.hetut(N)
    eq(len(hetus), N, f"the mock lists {N} hetus")
    arr = "'{" + ",".join(hetus) + "}'"
    bad = "'{" + ",".join([hetus[0], "131052-308U", hetus[1], "xx", hetus[2]]) + "}'"
    e = sql_error(f"SELECT vtj.lisaa_henkilot('a1', {bad})", db=DB)
    ok(e is not None and e.sqlstate == "22P02", "invalid hetus are refused (22P02)", e and e.text)
    ok(e is not None and "2 of 5 hetus are invalid, at positions 2, 4" in e.text, "… by count and positions", e and e.text)
    ok(e is not None and "131052-308U" not in e.text and hetus[0] not in e.text, "… never by value", e and e.text)
    eq(value("SELECT count(*) FROM vtj.jasen", db=DB), "0", "… and nothing was added")
    e = sql_error("SELECT vtj.lisaa_henkilot('a1', ARRAY['" + hetus[0] + "', NULL])", db=DB)
    ok(e is not None and e.sqlstate == "22P02" and "at positions 2" in e.text, "a NULL hetu is invalid too", e and e.text)
    dup = "'{" + ",".join(hetus[:10] + hetus[:5]) + "}'"
    eq(value(f"SELECT vtj.lisaa_henkilot('a1', {dup})", db=DB), "10", "duplicates within a call are added once")
    eq(value(f"SELECT vtj.lisaa_henkilot('a1', {arr})", db=DB), str(N - 10), "members already present are ignored")
    sql(f"SELECT vtj.lisaa_henkilot('ax', {arr})", db=DB)
    p_members = hetus[:1200]
    sql("SELECT vtj.lisaa_henkilot('p1', '{" + ",".join(p_members) + "}'); "
        "SELECT vtj.lisaa_henkilot('px', '{" + ",".join(p_members) + "}')", db=DB)

    # ---- a transaction block is refused before any work ---------------------------------------
    e = sql_error("BEGIN; INSERT INTO vtj.tuote (tuote, tietoryhmat) VALUES ('X', '{HENKILON_NIMI}'); "
                  "CALL vtj.lataa_perustiedot('a1'); COMMIT;", db=DB)
    ok(e is not None and e.sqlstate == "25001" and "outside a transaction block" in e.text,
       "lataa_perustiedot inside a transaction block: 25001 with a clear message", e and e.text)
    e = sql_error("BEGIN; CALL vtj.paivita('a1'); COMMIT;", db=DB)
    ok(e is not None and e.sqlstate in ("25001", "2D000"), "paivita inside a transaction block fails at once",
       e and e.text)
    eq(value("SELECT count(*) FROM vtj.ajo", db=DB), "0", "… and leaves no run behind")

    # ---- initial load at P0 ----------------------------------------------------------------------
    mock.clear_requests()
    t0 = time.monotonic()
    out = sql("CALL vtj.lataa_perustiedot('a1', 700)", db=DB)
    dt = time.monotonic() - t0
    eq(sorted(r["hetus"] for r in mock.requests("perustiedot")), sorted([300] * 6 + [100] + [100]),
       "the load asks each member once, in batches of the server's perustiedot_batch_size")
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'a1' AND ladattu IS NULL", db=DB), "0",
       f"every member of a1 is loaded ({N} in {dt:.1f} s)")
    for r in ("ax", "p1", "px"):
        sql(f"CALL vtj.lataa_perustiedot('{r}')", db=DB)
    run = sql("SELECT tila, henkiloita, ladattuja, kirjausavain_alku IS NOT NULL FROM vtj.ajo WHERE rekisteri = 'a1'", db=DB)
    eq(run, [["ok", str(N), str(N), "t"]], "the load is one row in vtj.ajo (ok, members, returned, bookmark)")
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a1'", db=DB), str(mock.state()["bookmark"]),
       "the register's first bookmark is the interface's position when the load began")

    registers = [("a1", "ASREK", hetus), ("ax", "ASREK", hetus), ("p1", "PALVELUSETELI", p_members),
                 ("px", "PALVELUSETELI", p_members)]
    ever_protected = {}

    def check_all(label, members_by_index):
        """Compares every register with the truth; remembers each protected person's values."""
        today = datetime.date.fromisoformat(mock.state()["present_date"])
        cur = mock.hetut(N)
        truth = mock.perustiedot(cur, "mutpT1")
        for reg, product, orig in registers:
            members = [cur[i] for i in members_by_index[reg]]
            diffs = compare(DB, reg, product, truth, today, members)
            ok(not diffs, f"{label}: register {reg} ({product}, "
                          f"{'mutpT1x' if reg.endswith('x') else 'mutpT1'}) equals the truth for all {len(members)} members",
               "\n".join(json.dumps(d, ensure_ascii=False)[:600] for d in diffs[:6]))
        for i, h in enumerate(cur):
            if protected(truth.get(h, []), today):
                ever_protected.setdefault(i, []).append((label, censored_values(truth[h])))
            else:
                ever_protected.pop(i, None)   # protection ended: revealed values are legitimate
        return truth, cur

    idx = {"a1": range(N), "ax": range(N), "p1": range(1200), "px": range(1200)}
    truth, cur = check_all("P0", idx)
    n_prot = sum(1 for h in hetus if protected(truth.get(h, []), today))
    censored_at_p0 = [r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'a1' AND sensuroitu", db=DB)]
    eq(len(censored_at_p0), n_prot, "after the load exactly the protected members are held censored")
    ok(n_prot >= 20, f"the population has persons under turvakielto at P0 ({n_prot})")

    # ---- change runs --------------------------------------------------------------------------
    def run_all(label):
        for reg, _p, _m in registers:
            sql(f"CALL vtj.paivita('{reg}')", db=DB)
        rows = sql("SELECT rekisteri, tila FROM vtj.ajo WHERE laji = 'paivita' AND ajo > coalesce("
                   "(SELECT max(ajo) FROM vtj.ajo WHERE laji = 'paivita') - 4, 0)", db=DB)
        ok(all(r[1] == "ok" for r in rows), f"{label}: every run ok in vtj.ajo", rows)

    mock.advance(10)
    set_today()
    run_all("P1")
    check_all("P1 (+10 days)", idx)

    # New members between runs are loaded by the next run.
    more = mock.hetut(1500)[1200:1500]      # as the interface knows them now
    sql("SELECT vtj.lisaa_henkilot('p1', '{" + ",".join(more) + "}')", db=DB)
    idx["p1"] = range(1500)
    mock.advance(45)
    set_today()
    state_before = mock.state()
    run_all("P2")
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'p1' AND ladattu IS NULL", db=DB), "0",
       "members added since the last run were loaded by it")
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a1'", db=DB), str(state_before["bookmark"]),
       "the bookmark is the interface's final bookmark (ajanTasalla)")
    check_all("P2 (+55 days)", idx)

    mock.advance(120)
    set_today()
    run_all("P3")
    truth, cur = check_all("P3 (+175 days)", idx)

    # Running again with no new changes changes nothing.
    snap = value("SELECT md5(string_agg(rekisteri || hetu || tietoryhma || tietueet::text, ',' ORDER BY 1)) FROM "
                 "(SELECT rekisteri, hetu, tietoryhma, tietueet FROM vtj.tieto) x", db=DB)
    bm = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a1'", db=DB)
    sql("CALL vtj.paivita('a1')", db=DB)
    eq(value("SELECT md5(string_agg(rekisteri || hetu || tietoryhma || tietueet::text, ',' ORDER BY 1)) FROM "
             "(SELECT rekisteri, hetu, tietoryhma, tietueet FROM vtj.tieto) x", db=DB), snap,
       "a rerun without new changes leaves the data as they were")
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a1'", db=DB), bm, "… and the bookmark")
    eq(value("SELECT muutoksia FROM vtj.ajo WHERE rekisteri = 'a1' ORDER BY ajo DESC LIMIT 1", db=DB), "0",
       "… and applies no change")

    # ---- what the window held (so the checks above covered it) ---------------------------------
    corrected = [i for i in range(N) if cur[i] != hetus[i]]
    ok(len(corrected) >= 1, f"the window held hetu corrections ({len(corrected)})")
    kinds = {r[0]: int(r[1]) for r in sql(
        "SELECT tietoryhma || ':' || coalesce(tiedot->>'turvakieltoAktiivinen', muutosattribuutti), count(*) "
        "FROM vtj.muutosloki WHERE rekisteri = 'a1' GROUP BY 1", db=DB)}
    ok(kinds.get("TURVAKIELTO:true", 0) >= 1 and kinds.get("TURVAKIELTO:false", 0) >= 1,
       "the window held turvakielto starts and ends", {k: v for k, v in kinds.items() if k.startswith("TURVA")})
    expired = set(mock.hetut(None, "turvakielto_expired")) & set(cur)
    was_censored = {r[0] for r in sql("SELECT unnest(%s::text[])" % ("'{" + ",".join(sorted(expired)) + "}'"), db=DB)} \
        & set(censored_at_p0)
    ok(len(was_censored) >= 1, f"turvakielto expired by date in the window for members censored at P0 ({len(was_censored)})")
    rows = sql("SELECT count(*) FILTER (WHERE NOT sensuroitu), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM vtj.tieto t "
               "WHERE t.rekisteri = j.rekisteri AND t.hetu = j.hetu AND t.tietoryhma IN ('VAKINAINEN_KOTIMAINEN_OSOITE', "
               "'VAKINAINEN_ULKOMAINEN_OSOITE'))) FROM vtj.jasen j WHERE rekisteri = 'a1' AND hetu = ANY('{"
               + ",".join(sorted(was_censored)) + "}')", db=DB)[0]
    eq(rows, [str(len(was_censored))] * 2, "… they are revealed: not censored, their permanent address stored")
    eq(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'a1' AND tietoryhma LIKE 'TULEVAISUUDEN%' "
             "OR tietoryhma LIKE 'KOKEELLINEN%'", db=DB), "0", "unknown group types are neither stored nor logged")
    ok(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'a1' AND muutosattribuutti = 'PERUSTIEDOT'", db=DB) != "0",
       "revealed and moved persons were fetched again (PERUSTIEDOT rows in the log)")

    # ---- hetu corrections: membership, data and log moved --------------------------------------
    if corrected:
        i = corrected[0]
        old, new = hetus[i], cur[i]
        eq(sql(f"SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'a1' AND hetu = '{old}'", db=DB)[0][0], "0",
           "a corrected hetu is no longer a member")
        eq(value(f"SELECT '{old}' = ANY(edelliset) FROM vtj.jasen WHERE rekisteri = 'a1' AND hetu = '{new}'", db=DB), "t",
           "… the new hetu is, with the old one in edelliset")
        eq(value("SELECT count(*) FROM (SELECT hetu FROM vtj.tieto UNION ALL SELECT hetu FROM vtj.muutosloki "
                 "UNION ALL SELECT hetu FROM vtj.henkilo UNION ALL SELECT hetu FROM vtj.osoite) x "
                 f"WHERE hetu IN ({','.join(repr(hetus[j]) for j in corrected)})", db=DB), "0",
           "no data or log row is left under any old hetu")

    # ---- no censored value anywhere -------------------------------------------------------------
    leaks = []
    everything = whole_schema_text(DB)
    n_checked = 0
    for i, snaps in ever_protected.items():
        h = cur[i]
        for reg, product, _m in registers:
            if i not in idx[reg]:
                continue
            text = person_text(DB, reg, h)
            for label, vals in snaps:
                for v in vals:
                    n_checked += 1
                    if v in text or v.replace(": ", ":") in text:
                        leaks.append((reg, h, label, v))
        for label, vals in snaps:
            for v in vals:
                if len(v) == 10 and v[:9].isdigit():   # building ids ('9' + 8 digits + check) are unique
                    if v in everything:
                        leaks.append(("*", h, label, v))
    ok(n_checked > 100 and not leaks, f"no censored value of the {len(ever_protected)} protected persons appears in "
                                      f"any of their rows ({n_checked} value checks) or anywhere in schema vtj", leaks[:10])
    rows = sql("SELECT count(*) FROM vtj.henkilo h JOIN vtj.jasen j USING (rekisteri, hetu) WHERE j.sensuroitu AND "
               "(h.kotikunta IS NOT NULL OR h.katuosoite IS NOT NULL OR h.postinumero IS NOT NULL)", db=DB)
    eq(rows[0][0], "0", "censored members have no kotikunta or address in vtj.henkilo")
    rows = sql("SELECT count(*) FROM vtj.osoite o JOIN vtj.jasen j USING (rekisteri, hetu) JOIN vtj.rekisteri r USING (rekisteri) "
               "JOIN vtj.tuote t USING (tuote) WHERE j.sensuroitu AND o.laji = ANY (t.sensuroitavat)", db=DB)
    eq(rows[0][0], "0", "… no censored address kind in vtj.osoite")
    rows = sql("SELECT count(*) FROM vtj.muutosloki m JOIN vtj.rekisteri r USING (rekisteri) JOIN vtj.tuote t USING (tuote) "
               "WHERE m.tietoryhma = ANY (t.sensuroitavat) AND m.tiedot ? 'sensuroitu' AND m.tiedot - 'tietoryhma' - 'sensuroitu' <> '{}'",
               db=DB)
    eq(rows[0][0], "0", "censored rows of the change log hold nothing but the group name")
    ok(int(value("SELECT count(*) FROM vtj.muutosloki WHERE tiedot ? 'sensuroitu'", db=DB)) > 0,
       "the change log records censored changes as {tietoryhma, sensuroitu}")

    # ---- reports ----------------------------------------------------------------------------------
    eq(value("SELECT sum(henkiloita) FROM vtj.kotikunnittain WHERE rekisteri = 'a1'", db=DB),
       value("SELECT count(*) FROM vtj.henkilo WHERE rekisteri = 'a1' AND NOT kuollut", db=DB),
       "kotikunnittain counts every living member once")
    eq(value("SELECT count(*) FROM vtj.kotikunnittain WHERE rekisteri = 'a1' AND kotikunta IS NULL", db=DB), "1",
       "… censored and unknown municipalities count as NULL")
    rows = sql("SELECT count(*) FILTER (WHERE turvakielto AND laji NOT LIKE '%YHTEYSOSOITE'), "
               "count(*) FILTER (WHERE NOT turvakielto AND laji LIKE '%YHTEYSOSOITE'), count(*), "
               "count(*) FILTER (WHERE laji IS NOT NULL), count(*) FILTER (WHERE kuollut) "
               "FROM vtj.laskutusosoite WHERE rekisteri = 'a1'", db=DB)[0]
    eq(rows[:2], ["0", "0"], "laskutusosoite: the contact address exactly for the protected")
    eq(rows[2], value("SELECT count(*) FROM vtj.henkilo WHERE rekisteri = 'a1'", db=DB), "… one row per member")
    ok(int(rows[3]) > int(rows[2]) * 0.9, f"… an address for nearly all ({rows[3]} of {rows[2]})")
    ok(int(rows[4]) > 0, f"… the deceased flagged ({rows[4]})")
    t_run = value("SELECT alku FROM vtj.ajo WHERE rekisteri = 'a1' AND laji = 'paivita' ORDER BY ajo DESC OFFSET 1 LIMIT 1",
                  db=DB)
    want = value(f"SELECT count(DISTINCT hetu) FROM vtj.muutosloki WHERE rekisteri = 'a1' AND kirjattu >= '{t_run}'", db=DB)
    eq(value(f"SELECT count(*) FROM vtj.muuttuneet('a1', '{t_run}')", db=DB), want,
       "muuttuneet(t) lists the members with log rows since t")
    passivated = mock.hetut(3, "passivated")
    if passivated:
        sql(f"SELECT vtj.lisaa_henkilot('p1', '{{{passivated[0]}}}')", db=DB)
        sql("CALL vtj.paivita('p1')", db=DB)
        eq(sql(f"SELECT ongelma FROM vtj.laatu WHERE rekisteri = 'p1' AND hetu = '{passivated[0]}'", db=DB),
           [["puuttuu"]], "laatu: a passivated hetu is reported as not returned by the interface")
        sql(f"SELECT vtj.poista_henkilot('p1', '{{{passivated[0]}}}')", db=DB)

    # ---- self-audit ---------------------------------------------------------------------------------
    eq(sql("SELECT * FROM vtj.tarkista('a1', 300)", db=DB), [], "tarkista: a sample of 300 members equals fresh basic data")
    eq(sql("SELECT * FROM vtj.tarkista('ax', 300)", db=DB), [], "… also on the censoring account")
    victim = value("SELECT hetu FROM vtj.tieto WHERE rekisteri = 'a1' AND tietoryhma = 'HENKILON_NIMI' "
                   "AND hetu NOT IN (SELECT hetu FROM vtj.jasen WHERE sensuroitu) ORDER BY hetu LIMIT 1", db=DB)
    sql(f"UPDATE vtj.tieto SET tietueet = '[{{\"tietoryhma\": \"HENKILON_NIMI\", \"etunimi\": \"Väärä\"}}]' "
        f"WHERE rekisteri = 'a1' AND hetu = '{victim}' AND tietoryhma = 'HENKILON_NIMI'", db=DB)
    got = sql(f"SELECT hetu, tietoryhma, ero FROM vtj.tarkista('a1', {N + 10})", db=DB)
    eq(got, [[victim, "HENKILON_NIMI", "eri_arvo"]], "tarkista finds a tampered record (and only it)")
    prot = value("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'a1' AND sensuroitu LIMIT 1", db=DB)
    got = sql(f"SELECT tietoryhma, ero, peilissa IS NULL, rajapinnassa IS NULL FROM vtj.tarkista('a1', {N + 10}) "
              f"WHERE hetu = '{prot}'", db=DB)
    eq(got, [], "tarkista shows a protected member's censored groups on neither side")

    # ---- a product of one's own that censors one group more -------------------------------------
    sql("SELECT vtj.luo_rekisteri('o1', 'plain', 'OMA'); SELECT vtj.lisaa_henkilot('o1', '{" + ",".join(cur) + "}')",
        db=DB)
    sql("CALL vtj.lataa_perustiedot('o1')", db=DB)
    names = "SELECT count(*) FROM vtj.tieto t JOIN vtj.jasen j USING (rekisteri, hetu) WHERE t.rekisteri = '{}' " \
            "AND t.tietoryhma = 'HENKILON_NIMI' AND {}j.sensuroitu"
    n_cens, n_open = int(value(names.format("o1", ""), db=DB)), int(value(names.format("o1", "NOT "), db=DB))
    ok(n_cens > 0, f"product OMA keeps the names of its censored members ({n_cens})")
    a1_names = value(names.format("a1", ""), db=DB)
    sql("UPDATE vtj.tuote SET sensuroitavat = '{KOTIKUNTA,HENKILON_NIMI}' WHERE tuote = 'OMA'", db=DB)
    eq([value(names.format("o1", ""), db=DB), value(names.format("o1", "NOT "), db=DB)], ["0", str(n_open)],
       "when OMA censors HENKILON_NIMI too, its censored members' names are gone at once, the others' kept")
    eq(value(names.format("a1", ""), db=DB), a1_names, "… and registers of other products keep theirs")
    eq(value("SELECT count(*) FROM vtj.henkilo h JOIN vtj.jasen j USING (rekisteri, hetu) WHERE h.rekisteri = 'o1' "
             "AND j.sensuroitu AND (h.etunimet IS NOT NULL OR h.sukunimi IS NOT NULL)", db=DB), "0",
       "… also from the typed table vtj.henkilo (etunimet, sukunimi)")
    sql("SELECT vtj.poista_rekisteri('o1')", db=DB)

    # A product that did not censor KOTIKUNTA and the permanent address starts to: every table
    # that holds them loses them for the protected members, in the same statement.
    sql("INSERT INTO vtj.tuote (tuote, tietoryhmat) VALUES ('OMA2', '{HENKILON_NIMI,TURVAKIELTO,KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE}');"
        "SELECT vtj.luo_rekisteri('o2', 'plain', 'OMA2'); SELECT vtj.lisaa_henkilot('o2', '{" + ",".join(cur) + "}')", db=DB)
    sql("CALL vtj.lataa_perustiedot('o2')", db=DB)
    sql("UPDATE vtj.jasen SET sensuroitu = true WHERE rekisteri = 'o2' AND hetu IN "
        "(SELECT hetu FROM vtj.jasen WHERE rekisteri = 'a1' AND sensuroitu)", db=DB)   # (held censored, nothing censored yet)
    held = """SELECT (SELECT count(*) FROM vtj.henkilo h JOIN vtj.jasen j USING (rekisteri, hetu)
                       WHERE h.rekisteri = 'o2' AND {0}j.sensuroitu AND (h.kotikunta IS NOT NULL OR h.katuosoite IS NOT NULL))
                  || ' ' || (SELECT count(*) FROM vtj.osoite o JOIN vtj.jasen j USING (rekisteri, hetu)
                       WHERE o.rekisteri = 'o2' AND {0}j.sensuroitu AND o.laji = 'VAKINAINEN_KOTIMAINEN_OSOITE')
                  || ' ' || (SELECT count(*) FROM vtj.tieto t JOIN vtj.jasen j USING (rekisteri, hetu)
                       WHERE t.rekisteri = 'o2' AND {0}j.sensuroitu AND t.tietoryhma IN ('KOTIKUNTA', 'VAKINAINEN_KOTIMAINEN_OSOITE'))"""
    before_c, before_o = value(held.format(""), db=DB), value(held.format("NOT "), db=DB)
    ok(all(int(x) > 0 for x in before_c.split()), f"OMA2 holds KOTIKUNTA and the address of its protected members ({before_c})")
    sql("UPDATE vtj.tuote SET sensuroitavat = '{KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE}' WHERE tuote = 'OMA2'", db=DB)
    eq(value(held.format(""), db=DB), "0 0 0",
       "when OMA2 starts censoring them, vtj.henkilo (kotikunta, katuosoite), vtj.osoite and vtj.tieto lose them for "
       "the protected members")
    eq(value(held.format("NOT "), db=DB), before_o, "… and the other members keep theirs")
    sql("SELECT vtj.poista_rekisteri('o2'); DELETE FROM vtj.tuote WHERE tuote = 'OMA2'", db=DB)

    # ---- removal ----------------------------------------------------------------------------------
    gone = [cur[i] for i in list(ever_protected)[:3]] + ([cur[corrected[0]]] if corrected else []) + cur[40:45]
    gone_all = gone + ([hetus[corrected[0]]] if corrected else [])
    n = value("SELECT vtj.poista_henkilot('a1', '{" + ",".join(gone) + "}')", db=DB)
    eq(n, str(len(set(gone))), "poista_henkilot returns how many members it removed")
    left = [r for r in sql("SELECT 'jasen', hetu FROM vtj.jasen WHERE rekisteri = 'a1' UNION ALL "
                           "SELECT 'tieto', hetu FROM vtj.tieto WHERE rekisteri = 'a1' UNION ALL "
                           "SELECT 'henkilo', hetu FROM vtj.henkilo WHERE rekisteri = 'a1' UNION ALL "
                           "SELECT 'osoite', hetu FROM vtj.osoite WHERE rekisteri = 'a1' UNION ALL "
                           "SELECT 'muutosloki', hetu FROM vtj.muutosloki WHERE rekisteri = 'a1'", db=DB)
            if r[1] in gone_all]
    eq(left, [], "… and nothing of them is left in the register (data, typed rows, addresses, log)")
    everything = "\n".join(r[0] for r in sql("SELECT row_to_json(x)::text FROM vtj.jasen x WHERE rekisteri = 'a1' "
                                             "UNION ALL SELECT row_to_json(x)::text FROM vtj.muutosloki x WHERE rekisteri = 'a1'",
                                             db=DB))
    ok(not any(h in everything for h in gone_all), "… not even inside another member's row or log entry")
    ok(int(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'ax' AND hetu = '" + gone[0] + "'", db=DB)) == 1,
       "… other registers keep their own members")
    sql("CALL vtj.paivita('a1')", db=DB)
    eq(value("SELECT count(*) FROM vtj.tieto WHERE rekisteri = 'a1' AND hetu = ANY('{" + ",".join(gone_all) + "}')", db=DB),
       "0", "… and the next run does not bring them back")
finally:
    mock.stop()
done()
