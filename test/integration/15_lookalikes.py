#!/usr/bin/env python3
"""Nothing of vtj_fdw trusts search_path.

A role that may create objects in schema public plants a look-alike of EVERY built-in function,
aggregate and operator the install script can reach: the names are taken from the installed
script itself (every identifier followed by "(" that names a function of pg_catalog; for
operators, every operator of pg_catalog on the types the script uses), each look-alike with
exactly the signature of a pg_catalog one (and, for the "any"-typed ones, signatures of plain
text and integer arguments, which beat "any"). A look-alike records that it ran. Then a
superuser — with the default search_path, and with public placed BEFORE pg_catalog — creates
the extension and runs every public function, procedure, view and report against the mock.
None of the look-alikes may run."""
import os
import re
import subprocess

from mirrorlib import OwnMock, PASSWORD
from taplib import PSQL, done, eq, ok, sql, sql_error, value

DB = "vtj_it_lookalikes"
ATTACKER = "vtj_it_hyokkaaja"
PG_BIN = os.path.dirname(PSQL)
mock = OwnMock(300, 15, "--start-days", 5, "--change-rate", 0.3, "--turvakielto-share", 0.05)

SKIP_TYPES = {"internal", "cstring", "anyenum", "anyrange", "anymultirange", "anycompatiblerange",
              "anycompatiblemultirange", "language_handler", "fdw_handler", "index_am_handler", "tsm_handler",
              "table_am_handler", "trigger", "event_trigger", "void", "record", "opaque", "unknown", "pg_ddl_command",
              "anycompatible", "anycompatiblearray", "anycompatiblenonarray"}


def install_script():
    share = subprocess.run([os.path.join(PG_BIN, "pg_config"), "--sharedir"], capture_output=True, text=True).stdout.strip()
    ver = value("SELECT default_version FROM pg_available_extensions WHERE name = 'vtj_fdw'", db="postgres")
    return open(os.path.join(share, "extension", f"vtj_fdw--{ver}.sql"), encoding="utf-8").read()


try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ATTACKER}') THEN "
        f"CREATE ROLE {ATTACKER} LOGIN; END IF; END $$", db="postgres")
    sql(f"GRANT CREATE, USAGE ON SCHEMA public TO {ATTACKER}", db=DB)
    script = install_script()
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", script))
    names = sorted(words & {r[0] for r in sql("SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = "
                                                "'pg_catalog'::regnamespace", db=DB)})
    ok(len(names) > 40, f"the install script calls {len(names)} built-in functions by name",
       ", ".join(names))
    # The attacker's plants: every signature of those names, and of the operators on the types in use.
    sql(f"""CREATE TABLE public.osumat (mika text);
            GRANT INSERT ON public.osumat TO PUBLIC;
            ALTER TABLE public.osumat OWNER TO {ATTACKER};""", db=DB)
    plants = sql(f"""
        SELECT p.proname, p.prokind, pg_catalog.pg_get_function_identity_arguments(p.oid),
               pg_catalog.format_type(p.prorettype, NULL), p.proretset, p.provariadic <> 0
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY ('{{{",".join(names)}}}')
           AND p.prokind IN ('f', 'a')""", db=DB)
    made, skipped = 0, 0
    ddl = []
    for name, kind, args, ret, retset, variadic in plants:
        types = set(re.findall(r"[a-z_]+", args.replace('"any"', "ANY")))
        if '"any"' in args:
            # "any" cannot be declared in PL/pgSQL: plant what beats it (text and integer arguments)
            for sig in ("text", "text, text", "text, text, text", "text, text, text, text", "text, integer",
                        "text, bigint", "text, text, integer", "text, jsonb"):
                ddl.append((name, "f", sig, "text", False))
        elif types & SKIP_TYPES or ret in SKIP_TYPES:
            skipped += 1
        else:
            ddl.append((name, kind, args, ret, retset == "t"))
    for name, kind, args, ret, retset in ddl:
        qn = '"' + name + '"'
        if kind == "a":
            base = args if args else "*"
            stype = ret
            sf = f"public.la_{made}"
            ddl_sql = (f"CREATE FUNCTION {sf}(s {stype}, VARIADIC a anyarray) RETURNS {stype} LANGUAGE plpgsql AS "
                       f"$b$ BEGIN INSERT INTO public.osumat VALUES ('{name}({args})'); RETURN s; END $b$")
            agg = f"CREATE AGGREGATE public.{qn}({base}) (SFUNC = {sf}, STYPE = {stype})"
            # aggregates of one argument: a state function of (state, that argument)
            if args and "," not in args and "any" not in args:
                ddl_sql = (f"CREATE FUNCTION {sf}(s {stype}, a {args}) RETURNS {stype} LANGUAGE plpgsql AS "
                           f"$b$ BEGIN INSERT INTO public.osumat VALUES ('{name}({args})'); RETURN s; END $b$")
                stmts = [ddl_sql, agg]
            else:
                stmts = []
        else:
            rets = f"SETOF {ret}" if retset else ret
            body = (f"BEGIN INSERT INTO public.osumat VALUES ('{name}({args})'); RETURN; END" if retset else
                    f"BEGIN INSERT INTO public.osumat VALUES ('{name}({args})'); RETURN NULL; END")
            stmts = [f"CREATE FUNCTION public.{qn}({args}) RETURNS {rets} LANGUAGE plpgsql AS $b$ {body} $b$"]
        for st in stmts:
            try:
                sql(st, db=DB, role=ATTACKER)
                made += 1
            except Exception:
                skipped += 1
    # operators: every pg_catalog operator on the types the mirror's SQL uses
    ops = sql("""SELECT o.oprname, format_type(o.oprleft, NULL), format_type(o.oprright, NULL), format_type(o.oprresult, NULL)
                   FROM pg_operator o
                  WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprleft <> 0 AND o.oprright <> 0
                    AND format_type(o.oprleft, NULL) IN ('text','jsonb','integer','bigint','boolean','date',
                         'timestamp with time zone','text[]','numeric','interval','name','oid','json','character')
                    AND format_type(o.oprright, NULL) IN ('text','jsonb','integer','bigint','boolean','date',
                         'timestamp with time zone','text[]','numeric','interval','name','oid','json','character')""",
               db=DB)
    n_ops = 0
    for i, (op, left, right, res) in enumerate(ops):
        fn = f"public.la_op_{i}"
        try:
            sql(f"CREATE FUNCTION {fn}(l {left}, r {right}) RETURNS {res} LANGUAGE plpgsql AS "
                f"$b$ BEGIN INSERT INTO public.osumat VALUES ('operator {op}({left}, {right})'); RETURN NULL; END $b$;"
                f"CREATE OPERATOR public.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = {fn})",
                db=DB, role=ATTACKER)
            n_ops += 1
        except Exception:
            pass
    ok(made > 100 and n_ops > 100, f"the attacker planted {made} look-alike functions and aggregates and {n_ops} operators "
                                   f"in schema public ({skipped} signatures could not be declared in PL/pgSQL)")
    # The look-alikes work: called unqualified with public first, they run.
    sql("SELECT format('%s', 'x'), coalesce(jsonb_typeof('{}'), '') , 'a' = 'b'", db=DB,
        settings=["search_path = public, pg_catalog"])
    n_control = int(value("SELECT count(*) FROM public.osumat", db=DB))
    ok(n_control >= 2, f"a look-alike called unqualified with public first does run ({n_control} calls recorded)")
    sql("TRUNCATE public.osumat", db=DB)

    for path in ('"$user", public', "public, pg_catalog"):
        s = [f"search_path = {path}"]
        # (the look-ups of the round before left look-up log rows: dropping them is said explicitly)
        sql(f"""DROP EXTENSION IF EXISTS vtj_fdw CASCADE; DROP SCHEMA IF EXISTS vtj_lk CASCADE;""", db=DB,
            settings=s + ["vtj.salli_poisto = on"])
        sql(f"""CREATE EXTENSION vtj_fdw;
                CREATE SERVER lk FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}', kysely_url '{mock.root}/vtjkysely');
                CREATE USER MAPPING FOR CURRENT_USER SERVER lk OPTIONS (username 'mutpT1', password '{PASSWORD}');""",
            db=DB, settings=s)
        hetus = mock.hetut(200)
        arr = "'{" + ",".join(hetus) + "}'"
        steps = [
            "SELECT vtj.luo_rekisteri('r', 'lk', 'ASREK')",
            f"SELECT vtj.lisaa_henkilot('r', {arr})",
            "CALL vtj.lataa_perustiedot('r')",
            "CALL vtj.paivita('r')",
            "SELECT count(*) FROM vtj.tarkista('r', 50)",
            "SELECT count(*) FROM vtj.ajo", "SELECT count(*) FROM vtj.kotikunnittain",
            "SELECT count(*) FROM vtj.laskutusosoite", "SELECT count(*) FROM vtj.laatu",
            # (the test's own statements qualify their operators: with public first, an unqualified
            # "=" in a caller's query is the caller's own business)
            "SELECT count(*) FROM vtj.muuttuneet('r', pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day')",
            "SELECT vtj.positio('r')",
            "SELECT count(*) FROM vtj.muutokset_jalkeen('r', 0)",
            "SELECT count(*) FROM vtj.muuttuneet_jalkeen('r', 0)",
            f"SELECT count(*) FROM vtj.ei_jasenia('r', {arr})",
            f"SELECT vtj.poista_henkilot('r', '{{{hetus[0]}}}')",
            "SELECT vtj.hetu_kelpaa('010101-900F'), vtj.versio() IS NOT NULL, vtj.viimeisin_kirjausavain()",
            "SELECT count(*) FROM vtj.yhteydet()", "SELECT vtj.katkaise()",
            "INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES ('LK', '{HENKILON_NIMI,KOTIKUNTA}', '{}')",
            "SELECT vtj.luo_rekisteri('r2', 'lk', 'LK')",
            f"SELECT vtj.lisaa_henkilot('r2', {arr})",
            "CALL vtj.lataa_perustiedot('r2')",
            "UPDATE vtj.tuote SET sensuroitavat = '{KOTIKUNTA}' WHERE tuote OPERATOR(pg_catalog.=) 'LK'",
            "CREATE SCHEMA lkk; IMPORT FOREIGN SCHEMA vtjkysely FROM SERVER lk INTO lkk",
            f"SELECT count(*) FROM lkk.henkilo WHERE hetu OPERATOR(pg_catalog.=) '{hetus[1]}'",
            "SELECT vtj.poista_rekisteri('r2')",
            "SELECT vtj.poista_rekisteri('r')",
        ]
        for extra in ("SELECT count(*) FROM vtj.tila", "SELECT count(*) FROM vtj.tarkistus()"):
            if value(f"SELECT to_regclass('vtj.tila') IS NOT NULL", db=DB) == "t":
                steps.append(extra)
        errors, where = [], []
        for st in steps:
            e = sql_error(st, db=DB, settings=s + ["vtj.loppukayttaja = 'testi'"])
            if e is not None:
                errors.append(f"{st}: {e.text.splitlines()[0] if e.text else e}")
            ran = [r[0] for r in sql("SELECT DISTINCT mika FROM public.osumat", db=DB)]
            if ran and not where:
                where.append(f"first after: {st}")
        eq(errors, [], f"search_path {path}: every public function, procedure and report ran")
        hits = [r[0] for r in sql("SELECT DISTINCT mika FROM public.osumat ORDER BY 1", db=DB)]
        eq(hits + where, [], f"search_path {path}: none of the look-alikes ran (install, load, change run, audit, reports, "
                     "members, products, look-up)")
        sql("TRUNCATE public.osumat; DROP SCHEMA lkk CASCADE", db=DB)
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
