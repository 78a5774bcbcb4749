#!/usr/bin/env python3
"""The turvakielto censorship rule against adversarial orders of changes. The register reads
its changes through a view: the real foreign table (a mock of our own with no history, so the
scan completes and yields a bookmark) UNION ALL crafted change rows of this script. Every
scenario uses the uncensored account mutpT1 and crafted values that exist nowhere else, so a
value that reaches any table of schema vtj is a leak."""
import datetime
import json
import os

from mirrorlib import PRODUCTS, OwnMock, fresh_mirror_db, whole_schema_text
from taplib import done, eq, ok, sql, value

DB = "vtj_it_mirror_tk"
TAG = os.urandom(4).hex()   # in every crafted censored value: unique to this run of the script
mock = OwnMock(400, 23, "--change-rate", "0", "--turvakielto-share", "0")
try:
    today = fresh_mirror_db(DB, mock, "c")
    sql("""CREATE SCHEMA f;
            -- unlogged: the crafted values must not reach the WAL by this script's own hand
            CREATE UNLOGGED TABLE f.lisa (LIKE vtj_plain.muutokset);
            CREATE VIEW f.muutokset AS SELECT * FROM vtj_plain.muutokset UNION ALL SELECT * FROM f.lisa;
            CREATE VIEW f.perustiedot AS SELECT * FROM vtj_plain.perustiedot;
            CREATE VIEW f.perustiedot_ryhmittain AS SELECT * FROM vtj_plain.perustiedot_ryhmittain;
            CREATE VIEW f.kirjausavain AS SELECT * FROM vtj_plain.kirjausavain;""", db=DB)
    people = mock.hetut(40)
    sql("SELECT vtj.lisaa_henkilot('c', '{" + ",".join(people) + "}')", db=DB)
    sql("CALL vtj.lataa_perustiedot('c')", db=DB)
    sql("UPDATE vtj.rekisteri SET skeema = 'f' WHERE rekisteri = 'c'", db=DB)
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'c' AND sensuroitu", db=DB), "0",
       "nobody is protected at the start")
    truth = mock.perustiedot(people, "mutpT1")

    seq = [0]

    def g(hetu, t, attr, **fields):
        seq[0] += 1
        obj = {"tietoryhma": t, "muutosattribuutti": attr}
        obj.update(fields)
        return (hetu, seq[0], obj)

    def address(street, kunta="091", **extra):
        a = {"katunimi": {"fi": street, "sv": street + "-sv"}, "katunumero": "7", "postinumero": "00990",
             "postitoimipaikka": {"fi": "HELSINKI", "sv": "HELSINGFORS"}, "rakennustunnus": "9" + TAG,
             "osoitenumero": 1, "kuntakoodi": kunta, "alkupv": {"arvo": str(today), "tarkkuus": "PAIVA"}}
        a.update(extra)
        return a

    def tk(active, end=None):
        f = {"turvakieltoAktiivinen": active}
        if end:
            f["turvaLoppuPv"] = {"arvo": str(end), "tarkkuus": "PAIVA"}
        return f

    def old_vko(h):
        return next(x for x in truth[h] if x["tietoryhma"] == "VAKINAINEN_KOTIMAINEN_OSOITE")

    def run(rows, day=None):
        sql("TRUNCATE f.lisa", db=DB)
        bm = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'c'", db=DB)
        for h, j, obj in rows:
            sql("INSERT INTO f.lisa (hetu, muutospv, kirjausavain, jarjestys, tietoryhma, muutosattribuutti, tiedot) "
                f"VALUES ('{h}', now(), {int(bm) + 1}, {j}, '{obj['tietoryhma']}', '{obj['muutosattribuutti']}', "
                f"$j${json.dumps(obj, ensure_ascii=False)}$j$)", db=DB)
        if day:   # the CALL must be a statement of its own: set the day for the database
            sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{day}'", db="postgres")
        sql("CALL vtj.paivita('c')", db=DB)
        sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{today}'", db="postgres")
        sql("TRUNCATE f.lisa", db=DB)

    def held(h):
        return {r[0]: json.loads(r[1]) for r in
                sql(f"SELECT tietoryhma, tietueet::text FROM vtj.tieto WHERE rekisteri = 'c' AND hetu = '{h}'", db=DB)}

    def censored(h):
        return value(f"SELECT sensuroitu FROM vtj.jasen WHERE rekisteri = 'c' AND hetu = '{h}'", db=DB) == "t"

    def no_location(h):
        d = held(h)
        return not any(t in d for t in ("VAKINAINEN_KOTIMAINEN_OSOITE", "KOTIKUNTA", "TILAPAINEN_KOTIMAINEN_OSOITE",
                                         "KOTIMAINEN_POSTIOSOITE", "VAKINAINEN_ULKOMAINEN_OSOITE"))

    def leaks(*needles):
        text = whole_schema_text(DB)
        return [n for n in needles if n in text]

    def log_of(h):
        return sql(f"SELECT tietoryhma, muutosattribuutti, tiedot::text FROM vtj.muutosloki WHERE rekisteri = 'c' "
                   f"AND hetu = '{h}' ORDER BY id", db=DB)

    A, B, D, E, F, G, I, K = people[0], people[1], people[2], people[3], people[4], people[5], people[6], people[7]
    vko = "VAKINAINEN_KOTIMAINEN_OSOITE"

    # A: an address change BEFORE the turvakielto, in the same run.
    oa = old_vko(A)
    run([g(A, vko, "MUUTETTU", **dict(oa, loppupv={"arvo": str(today), "tarkkuus": "PAIVA"})),
         g(A, vko, "LISATTY", **address(f"Salaisenkuja A {TAG}")),
         g(A, "KOTIKUNTA", "LISATTY", kuntakoodi="905", kuntaanMuuttopv={"arvo": str(today), "tarkkuus": "PAIVA"}),
         g(A, "TURVAKIELTO", "LISATTY", **tk(True))])
    ok(censored(A) and no_location(A), "A: address before turvakielto in one run: censored, no location group stored")
    eq(leaks(f"Salaisenkuja A {TAG}", oa["rakennustunnus"], oa["katunimi"]["fi"] + '"'), [],
       "A: neither the new nor the old address is anywhere in schema vtj")
    eq(value(f"SELECT kotikunta IS NULL AND katuosoite IS NULL FROM vtj.henkilo WHERE rekisteri = 'c' AND hetu = '{A}'",
             db=DB), "t", "A: vtj.henkilo shows no kotikunta or address")
    # (the interface's change rows; the members' events of the log are checked below)
    eq([r[2] for r in log_of(A) if r[0] not in ("TURVAKIELTO", "JASEN") and r[1] != "SENSUROITU"],
       ['{"sensuroitu": true, "tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE"}'] * 2 +
       ['{"sensuroitu": true, "tietoryhma": "KOTIKUNTA"}'], "A: the change log holds the censored changes reduced")
    eq(sorted((r[0], r[2]) for r in log_of(A) if r[1] == "SENSUROITU"),
       sorted((t, json.dumps({"sensuroitu": True, "tietoryhma": t})) for t in PRODUCTS["ASREK"][1]),
       "A: … and a SENSUROITU row for every censored group of the product, for merge jobs to blank")

    # B: turvakielto in one run, an address in the next; C: the protection ends by a change.
    run([g(B, "TURVAKIELTO", "LISATTY", **tk(True))])
    ok(censored(B) and no_location(B), "B: turvakielto alone: the stored address is purged in the same run")
    run([g(B, vko, "LISATTY", **address(f"Salaisenkuja B {TAG}")),
         g(B, "KOTIKUNTA", "LISATTY", kuntakoodi="905"),
         g(B, "KOTIMAINEN_POSTIOSOITE", "LISATTY", postiosoite={"fi": f"Salainen PL 99 {TAG}"}, postinumero="00991")])
    ok(censored(B) and no_location(B), "B: an address in a later run is not stored")
    eq(leaks(f"Salaisenkuja B {TAG}", f"Salainen PL 99 {TAG}"), [], "B: … nor logged anywhere")
    run([g(B, "TURVAKIELTO", "MUUTETTU", **tk(False, today))])
    ok(not censored(B), "C: the turvakielto ends by a change: not censored any more")
    eq(held(B).get(vko), [old_vko(B)], "C: revealed by fetching the basic data again in the same run")
    ok(any(r[1] == "PERUSTIEDOT" and r[0] == vko for r in log_of(B)), "C: the revealed address is in the change log")
    eq(leaks(f"Salaisenkuja B {TAG}"), [], "C: a value received while protected is still nowhere")

    # D: the turvakielto expires by date (turvaLoppuPv), no change record.
    end = today + datetime.timedelta(days=5)
    run([g(D, "TURVAKIELTO", "LISATTY", **tk(True, end))])
    ok(censored(D) and no_location(D), "D: a turvakielto with an end date in the future censors")
    run([], day=end)
    ok(censored(D) and no_location(D), "D: on its last day it still censors")
    run([], day=end + datetime.timedelta(days=1))
    ok(not censored(D), "D: the day after turvaLoppuPv the next run reveals the person")
    eq(held(D).get(vko), [old_vko(D)], "D: … with fresh basic data")

    # E: protection starts and ends inside one run, with an address change in between.
    run([g(E, "TURVAKIELTO", "LISATTY", **tk(True)),
         g(E, vko, "LISATTY", **address(f"Salaisenkuja E {TAG}")),
         g(E, "TURVAKIELTO", "MUUTETTU", **tk(False, today))])
    eq(leaks(f"Salaisenkuja E {TAG}"), [], "E: an address received while protected (start and end in one run) is not stored")
    ok(not censored(E) and held(E).get(vko) == [old_vko(E)], "E: at the end of the run the basic data decide (revealed)")

    # F: the interface withholds a group (mutpT1x style) but sends another one with values.
    run([g(F, vko, "MUUTETTU", turvakiellonAlaisetKentat=["katunimi", "katunumero"]),
         g(F, "KOTIKUNTA", "LISATTY", kuntakoodi="906", kuntaanMuuttopv={"arvo": "1999-09-09", "tarkkuus": "PAIVA"}),
         g(F, "TILAPAINEN_KOTIMAINEN_OSOITE", "LISATTY", **address(f"Salaisenkuja F {TAG}"))])
    eq(leaks('"kuntakoodi": "906"', "1999-09-09", f"Salaisenkuja F {TAG}"), [],
       "F: a withheld group marks the person protected: the other location values of the run are dropped")

    # G: a protected person's censored group arrives as POISTETTU with voimassaolevatTiedot, and
    #    as LISATIETO context.
    run([g(G, "TURVAKIELTO", "LISATTY", **tk(True))])
    run([g(G, "KOTIKUNTA", "POISTETTU", kuntakoodi="091", voimassaolevatTiedot=[{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "907"}]),
         g(G, vko, "LISATIETO", **address(f"Salaisenkuja G {TAG}")),
         g(G, "HENKILON_NIMI", "MUUTETTU", etunimi="Uusi", sukunimi="Nimi")])
    eq(leaks('"kuntakoodi": "907"', f"Salaisenkuja G {TAG}"), [], "G: voimassaolevatTiedot and LISATIETO of a protected person: not stored")
    eq(held(G).get("HENKILON_NIMI"), [{"tietoryhma": "HENKILON_NIMI", "etunimi": "Uusi", "sukunimi": "Nimi"}],
       "G: groups outside the censored ones still apply")

    # I: a turvakielto registered by mistake: KORJATTAVA (active) + KORJATTU (not active).
    run([g(I, vko, "LISATTY", **address(f"Salaisenkuja I {TAG}")),
         g(I, "TURVAKIELTO", "KORJATTAVA", **tk(True)),
         g(I, "TURVAKIELTO", "KORJATTU", **tk(False))])
    eq(leaks(f"Salaisenkuja I {TAG}"), [], "I: a KORJATTAVA turvakielto also protects the values of its run")
    ok(not censored(I) and held(I).get(vko) == [old_vko(I)], "I: … and the basic data reveal the person at the end")

    # K: the turvakielto lives only inside voimassaolevatTiedot.
    run([g(K, vko, "LISATTY", **address(f"Salaisenkuja K {TAG}")),
         g(K, "TURVAKIELTO", "MUUTETTU", turvakieltoAktiivinen=False,
           voimassaolevatTiedot=[{"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": True}])])
    ok(censored(K) and no_location(K) and not leaks(f"Salaisenkuja K {TAG}"),
       "K: an active turvakielto inside voimassaolevatTiedot censors")

    # Yhteysosoite stays visible for a protected person.
    run([g(A, "KOTIMAINEN_YHTEYSOSOITE", "LISATTY", postiosoite={"fi": "PL 4242", "sv": "PB 4242"}, postinumero="00101",
           postitoimipaikka={"fi": "HELSINKI", "sv": "HELSINGFORS"}, alkupv={"arvo": str(today), "tarkkuus": "PAIVA"})])
    eq(sql(f"SELECT laji, katuosoite, postinumero FROM vtj.laskutusosoite WHERE rekisteri = 'c' AND hetu = '{A}'", db=DB),
       [["KOTIMAINEN_YHTEYSOSOITE", "PL 4242", "00101"]], "a protected person's contact address is stored and billed")

    out = sql("SELECT count(*) FROM vtj.ajo WHERE rekisteri = 'c' AND tila = 'ok'", db=DB)
    ok(int(out[0][0]) >= 12, "every crafted run ended ok", out)

    # "Not even transiently": a value written and deleted again in the same transaction would
    # still be in the write-ahead log. Every crafted value above was received while its person
    # was protected, so none may be in any WAL segment. (The crafted rows themselves live in an
    # unlogged table; the test cluster runs without full-page writes.)
    sql("CHECKPOINT", db=DB)
    waldir = os.path.join(value("SHOW data_directory", db=DB), "pg_wal")
    needles = [TAG.encode()]
    found = set()
    for name in sorted(os.listdir(waldir)):
        path = os.path.join(waldir, name)
        if os.path.isfile(path) and len(name) == 24:
            with open(path, "rb") as fh:
                data = fh.read()
            found.update(n.decode() for n in needles if n in data)
    eq(sorted(found), [], "no censored value was ever written to a table, not even transiently (WAL searched)")
finally:
    mock.stop()
done()
