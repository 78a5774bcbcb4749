#!/usr/bin/env python3
"""The role model: nobody must be a superuser or a table owner to keep a register.

vtj_ajaja (a login role granted it: its own user mapping, USAGE on the server) creates a
register, adds and removes members, loads, runs changes and the self-audit — and cannot write the
mirror's tables otherwise, nor read the protection columns of vtj.jasen. vtj_lukija reads the
typed mirror, the reports and the change log, and can run nothing. A role with neither can do
neither; nothing in vtj_internal is executable by PUBLIC. A register on a server the caller has
no USAGE on is refused; so is a vtj_<server> schema someone else prepared."""
import datetime

from mirrorlib import OwnMock, PASSWORD
from taplib import done, eq, ok, sql, sql_error, value

DB = "vtj_it_roles"
AJAJA, LUKIJA, MUU = "vtj_it_ajaja", "vtj_it_lukija", "vtj_it_muu"
mock = OwnMock(400, 14, "--start-days", 5, "--change-rate", 0.4, "--turvakielto-share", 0.05)


def as_(role, query, **kw):
    return sql(query, db=DB, role=role, **kw)


def err_as(role, query):
    return sql_error(query, db=DB, role=role)


try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    for r in (AJAJA, LUKIJA, MUU):
        sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{r}') THEN CREATE ROLE {r} LOGIN; END IF; END $$",
            db="postgres")
    today = mock.state()["present_date"]
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{today}'", db="postgres")
    sql(f"""CREATE EXTENSION vtj_fdw;
            GRANT vtj_ajaja TO {AJAJA}; GRANT vtj_lukija TO {LUKIJA};
            CREATE SERVER s FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE SERVER s2 FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            GRANT USAGE ON FOREIGN SERVER s TO {AJAJA};""", db=DB)
    ok(value(f"SELECT rolsuper FROM pg_roles WHERE rolname = '{AJAJA}'", db=DB) == "f", "the job role is not a superuser")
    as_(AJAJA, f"CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS (username 'mutpT1', password '{PASSWORD}')")
    hetus = mock.hetut(400)
    arr = "'{" + ",".join(hetus[:300]) + "}'"

    # ---- the job role does the whole job ------------------------------------------------------
    eq(as_(AJAJA, "SELECT vtj.luo_rekisteri('r', 's', 'ASREK')"), [["vtj_s"]], "vtj_ajaja creates a register")
    eq(as_(AJAJA, f"SELECT vtj.lisaa_henkilot('r', {arr})"), [["300"]], "… adds members")
    e = sql_error("CALL vtj.lataa_perustiedot('r')", db=DB, role=AJAJA)
    ok(e is None, "… loads them (CALL vtj.lataa_perustiedot)", e and e.text)
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND ladattu IS NOT NULL", db=DB), "300",
       "… every member is loaded")
    mock.advance(15)
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{mock.state()['present_date']}'", db="postgres")
    e = sql_error("CALL vtj.paivita('r')", db=DB, role=AJAJA)
    ok(e is None, "… runs the changes (CALL vtj.paivita)", e and e.text)
    eq(value("SELECT tila FROM vtj.ajo WHERE rekisteri = 'r' ORDER BY ajo DESC LIMIT 1", db=DB), "ok", "… and the run is ok")
    e = sql_error("SELECT count(*) FROM vtj.tarkista('r', 50)", db=DB, role=AJAJA)
    ok(e is None, "… runs the self-audit", e and e.text)
    eq(as_(AJAJA, f"SELECT vtj.poista_henkilot('r', '{{{hetus[0]}}}')"), [["1"]], "… and removes a member")
    # the mapping used was the job role's own: the superuser has none on server s
    ok(value("SELECT count(*) FROM pg_user_mappings WHERE srvname = 's' AND usename = current_user", db=DB) == "0",
       "(the superuser has no user mapping on s: the job role's own was used)")

    # ---- … and nothing else ------------------------------------------------------------------
    for what, q in (("write vtj.tieto", "DELETE FROM vtj.tieto"),
                    ("write vtj.jasen", "UPDATE vtj.jasen SET sensuroitu = false"),
                    ("read vtj.jasen's protection", "SELECT turvakielto, sensuroitu FROM vtj.jasen"),
                    ("read the look-up log", "SELECT * FROM vtj.kyselyloki"),
                    ("change a product", "INSERT INTO vtj.tuote (tuote, tietoryhmat) VALUES ('X', '{HENKILON_NIMI}')")):
        e = err_as(AJAJA, q)
        ok(e is not None and e.sqlstate == "42501", f"vtj_ajaja cannot {what} (42501)", e and e.text)
    e = err_as(AJAJA, "SELECT vtj.luo_rekisteri('r2', 's2', 'ASREK')")
    ok(e is not None and e.sqlstate == "42501" and "USAGE" in e.text,
       "vtj_ajaja cannot create a register on a server it has no USAGE on", e and e.text)

    # ---- the reading role ------------------------------------------------------------------
    for q in ("SELECT count(*) FROM vtj.henkilo", "SELECT count(*) FROM vtj.osoite", "SELECT count(*) FROM vtj.muutosloki",
              "SELECT count(*) FROM vtj.ajo", "SELECT count(*) FROM vtj.kotikunnittain", "SELECT count(*) FROM vtj.laskutusosoite",
              "SELECT count(*) FROM vtj.laatu", "SELECT count(hetu) FROM vtj.jasen"):
        e = err_as(LUKIJA, q)
        ok(e is None, f"vtj_lukija: {q}", e and e.text)
    for what, q in (("read vtj.jasen's turvakielto", "SELECT turvakielto FROM vtj.jasen"),
                    ("read vtj.jasen's sensuroitu", "SELECT count(*) FROM vtj.jasen WHERE sensuroitu"),
                    ("run a change run", "CALL vtj.paivita('r')"),
                    ("add members", f"SELECT vtj.lisaa_henkilot('r', '{{{hetus[399]}}}')"),
                    ("call an internal function", "SELECT vtj_internal.max_batch()")):
        e = err_as(LUKIJA, q)
        ok(e is not None and e.sqlstate == "42501", f"vtj_lukija cannot {what} (42501)", e and e.text)
    for what, q in (("run a change run", "CALL vtj.paivita('r')"), ("load", "CALL vtj.lataa_perustiedot('r')"),
                    ("add members", f"SELECT vtj.lisaa_henkilot('r', '{{{hetus[399]}}}')"),
                    ("read the mirror", "SELECT count(*) FROM vtj.henkilo")):
        e = err_as(MUU, q)
        ok(e is not None and e.sqlstate == "42501", f"a role with neither cannot {what} (42501)", e and e.text)
    eq(value("SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'vtj_internal'::regnamespace "
             "AND has_function_privilege('public', p.oid, 'EXECUTE')", db=DB), "0",
       "no function of vtj_internal is executable by PUBLIC")

    # ---- a vtj_<server> schema prepared by another role ---------------------------------------
    sql(f"GRANT CREATE ON DATABASE {DB} TO {MUU}; GRANT USAGE ON FOREIGN SERVER s2 TO {MUU}, {AJAJA}", db=DB)
    as_(MUU, "CREATE SCHEMA vtj_s2; CREATE VIEW vtj_s2.muutokset AS SELECT 1 AS x")
    e = err_as(AJAJA, "SELECT vtj.luo_rekisteri('r3', 's2', 'ASREK')")
    ok(e is not None and e.sqlstate == "42P06" and "cannot use it" in e.text and "owned by" in e.text,
       "luo_rekisteri refuses a vtj_<server> schema another role prepared (42P06), saying why", e and e.text)
    eq(value("SELECT count(*) FROM vtj.rekisteri WHERE rekisteri = 'r3'", db=DB), "0", "… and creates no register")
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
