#!/usr/bin/env python3
"""No silent loss by a drop (README "Removing vtj_fdw"): while vtj_fdw holds registers or
look-up log rows, every statement that would drop it — DROP EXTENSION (with or without CASCADE,
among other names), DROP SCHEMA vtj CASCADE, DROP OWNED BY the extension's owner — is refused
with 2BP01 and a hint naming vtj.salli_poisto, and leaves everything in place; with
SET vtj.salli_poisto = on (also set before the library is loaded) it goes through; an empty
extension drops as before; unrelated drops (other schemas, other roles' objects, other
extensions) are not touched, also for a role that cannot read vtj's tables."""
from taplib import done, eq, fresh_db, ok, sql, sql_error, value

DB = "vtj_it_drop"
fresh_db(DB)
HETU = "060258-967M"   # a valid test hetu (individual number 900-999); must never be in a message


def counts():
    return value("SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'vtj_fdw') || '/' || "
                 "(SELECT count(*) FROM pg_event_trigger WHERE evtname = 'vtj_fdw_drop_guard')", db=DB)


def refused(stmt, what, want_text):
    e = sql_error(stmt, db=DB)
    ok(e is not None and e.sqlstate == "2BP01", f"{what}: refused with 2BP01", e and e.text)
    if e is None:
        return
    ok("SET vtj.salli_poisto = on" in e.text, f"{what}: the hint names SET vtj.salli_poisto = on", e.text)
    ok(want_text in e.text, f"{what}: the message says what would be lost ({want_text!r})", e.text)
    ok(HETU not in e.text, f"{what}: no hetu in the error")
    eq(counts(), "1/1", f"{what}: the extension and its guard are still there")


# ---- an empty extension drops as before ----------------------------------------------------
sql("CREATE EXTENSION vtj_fdw", db=DB)
eq(value("SELECT evtevent || ' ' || array_to_string(evttags, ',') FROM pg_event_trigger WHERE evtname = 'vtj_fdw_drop_guard'", db=DB),
   "ddl_command_start DROP EXTENSION,DROP SCHEMA,DROP OWNED", "the guard is an event trigger at ddl_command_start")
eq(value("SELECT count(*) FROM pg_depend d JOIN pg_event_trigger t ON t.oid = d.objid "
         "WHERE d.classid = 'pg_event_trigger'::regclass AND d.deptype = 'e' AND t.evtname = 'vtj_fdw_drop_guard'", db=DB),
   "1", "… and a member of the extension (dropped with it)")
e = sql_error("DROP EXTENSION vtj_fdw", db=DB)
ok(e is None, "an empty extension: DROP EXTENSION vtj_fdw goes through", e and e.text)
eq(counts(), "0/0", "… the extension and its event trigger are gone")
sql("CREATE EXTENSION vtj_fdw", db=DB)
e = sql_error("DROP SCHEMA vtj CASCADE", db=DB)
ok(e is None, "an empty extension: DROP SCHEMA vtj CASCADE goes through", e and e.text)
eq(counts(), "0/0", "… the extension is gone with its schema")

# ---- a register -------------------------------------------------------------------------------
sql("""CREATE EXTENSION vtj_fdw;
       CREATE SERVER s FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://127.0.0.1:9/api/v1');
       SELECT vtj.luo_rekisteri('r', 's', 'ASREK');""", db=DB)
sql(f"SELECT vtj.lisaa_henkilot('r', ARRAY['{HETU}'])", db=DB)
refused("DROP EXTENSION vtj_fdw", "a register: DROP EXTENSION vtj_fdw", "1 register")
refused("DROP EXTENSION vtj_fdw CASCADE", "DROP EXTENSION vtj_fdw CASCADE", "1 register")
refused("DROP EXTENSION IF EXISTS plpgsql_no_such, vtj_fdw CASCADE", "DROP EXTENSION naming vtj_fdw among others", "1 register")
refused("DROP SCHEMA vtj CASCADE", "DROP SCHEMA vtj CASCADE", "1 register")
refused("DROP SCHEMA public, vtj CASCADE", "DROP SCHEMA public, vtj CASCADE", "1 register")
refused("DROP OWNED BY CURRENT_USER CASCADE", "DROP OWNED BY the extension's owner", "1 register")
# In a transaction block, the refusal aborts it with nothing done.
refused("BEGIN; CREATE TABLE public.t_tx (x int); DROP EXTENSION vtj_fdw CASCADE; COMMIT", "inside a transaction block",
        "1 register")
eq(value("SELECT count(*) FROM pg_class WHERE relname = 't_tx'", db=DB), "0", "… which is rolled back whole")
eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r'", db=DB), "1", "the register's member is still there")
eq(value("SELECT count(*) FROM pg_namespace WHERE nspname = 'vtj_s'", db=DB), "1", "… and its foreign-table schema")

# Unrelated drops are untouched.
e = sql_error("CREATE SCHEMA muu; CREATE TABLE muu.t (x int); DROP SCHEMA muu CASCADE", db=DB)
ok(e is None, "DROP SCHEMA of another schema (CASCADE) goes through", e and e.text)
e = sql_error("DROP SCHEMA IF EXISTS ei_ole CASCADE; DROP EXTENSION IF EXISTS ei_ole", db=DB)
ok(e is None, "DROP SCHEMA / DROP EXTENSION IF EXISTS of objects that do not exist go through", e and e.text)
e = sql_error("DROP SCHEMA vtj", db=DB)
ok(e is not None and e.sqlstate == "2BP01" and "vtj.salli_poisto" not in e.text,
   "DROP SCHEMA vtj without CASCADE: PostgreSQL's own refusal (other objects depend on it), not the guard's", e and e.text)
sql("DROP ROLE IF EXISTS regress_vtj_drop_other; CREATE ROLE regress_vtj_drop_other", db=DB)
sql("CREATE SCHEMA oma AUTHORIZATION regress_vtj_drop_other", db=DB)
e = sql_error("CREATE TABLE oma.t (x int); DROP SCHEMA oma CASCADE", db=DB, role="regress_vtj_drop_other")
ok(e is None, "a role that cannot read vtj's tables drops its own schema (CASCADE)", e and e.text)
sql("CREATE SCHEMA oma AUTHORIZATION regress_vtj_drop_other; CREATE TABLE oma.t2 (x int); ALTER TABLE oma.t2 OWNER TO regress_vtj_drop_other", db=DB)
e = sql_error("DROP OWNED BY regress_vtj_drop_other", db=DB)
ok(e is None, "DROP OWNED BY another role goes through", e and e.text)
eq(value("SELECT count(*) FROM pg_class WHERE relname = 't2'", db=DB), "0", "… and dropped that role's objects")
sql("DROP SCHEMA IF EXISTS oma CASCADE; DROP ROLE regress_vtj_drop_other", db=DB)

# The look-up log alone: also refused (the registers are gone).
sql("SELECT vtj.poista_rekisteri('r')", db=DB)
sql(f"INSERT INTO vtj.kyselyloki (tietokantakayttaja, hetu, paluukoodi) VALUES ('maija', '{HETU}', '0000')", db=DB)
refused("DROP EXTENSION vtj_fdw CASCADE", "the look-up log alone: DROP EXTENSION vtj_fdw CASCADE", "look-up log")
eq(value("SELECT count(*) FROM vtj.kyselyloki", db=DB), "1", "… the look-up log row is still there")

# ---- the explicit permission ----------------------------------------------------------------
e = sql_error("DROP EXTENSION vtj_fdw CASCADE", db=DB, settings=["vtj.salli_poisto = off"])
ok(e is not None and e.sqlstate == "2BP01", "SET vtj.salli_poisto = off: still refused", e and e.text)
sql("SELECT vtj.luo_rekisteri('r2', 's', 'PALVELUSETELI')", db=DB)
# A fresh session: the SET comes before vtj_fdw's library is loaded (a placeholder the library adopts).
e = sql_error("DROP EXTENSION vtj_fdw CASCADE", db=DB, settings=["vtj.salli_poisto = on"])
ok(e is None, "SET vtj.salli_poisto = on (before the library is loaded), then DROP EXTENSION vtj_fdw CASCADE: dropped",
   e and e.text)
eq(counts(), "0/0", "… the extension and its event trigger are gone")
eq(value("SELECT count(*) FROM pg_class WHERE relname IN ('kyselyloki', 'rekisteri', 'jasen')", db=DB), "0",
   "… with the registers and the look-up log")
eq(value("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname LIKE 'vtj%'", db=DB), "vtj,vtj_s",
   "… what it leaves: the empty schema vtj and the vtj_<server> schema of luo_rekisteri (README says so)")

# With the library already loaded in the session, then SET, then the drop.
sql("DROP SCHEMA vtj_s CASCADE; DROP SCHEMA vtj; CREATE EXTENSION vtj_fdw; "
    "CREATE SERVER s FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url 'http://127.0.0.1:9/api/v1'); "
    "SELECT vtj.luo_rekisteri('r', 's', 'ASREK')", db=DB)
e = sql_error("SELECT vtj.hetu_kelpaa('x'); SET vtj.salli_poisto = on; DROP SCHEMA vtj CASCADE", db=DB)
ok(e is None, "library loaded, SET vtj.salli_poisto = on, DROP SCHEMA vtj CASCADE: dropped", e and e.text)
eq(counts(), "0/0", "… the extension is gone")

# The decision function is internal.
sql("CREATE EXTENSION vtj_fdw", db=DB)
eq(sql("SELECT p.oid::regprocedure::text, has_function_privilege('public', p.oid, 'EXECUTE'), p.proconfig::text "
       "FROM pg_proc p WHERE p.proname IN ('check_drop', 'drop_guard') ORDER BY 1", db=DB),
   [["vtj_internal.check_drop(text)", "f", "{\"search_path=pg_catalog, pg_temp\"}"],
    ["vtj_internal.drop_guard()", "f", None]],
   "the guard's functions are in vtj_internal, not executable by PUBLIC; the SQL one has a fixed search_path")
e = sql_error("SELECT vtj_internal.drop_guard()", db=DB)
ok(e is not None, "the event trigger function cannot be called as a plain function", e and e.text)

sql("DROP DATABASE vtj_it_drop", db="postgres")
done()
