#!/usr/bin/env python3
"""`\\df vtj.*` is exactly the documented surface: every function, procedure and aggregate of
schema vtj (and every table and view of it) has a COMMENT and is named in README.md (as
`vtj.name`), none is an internal `_…` one; every `vtj.name` README names exists (a routine, a
relation, or a vtj.* setting); the internals live in vtj_internal, which PUBLIC can neither use
nor execute. Generic: it lists whatever the installed extension has, so a routine added
without its comment or its README entry fails here."""
import os
import re

from readmelib import ROOT
from taplib import PSQL, done, eq, fresh_db, ok, sql, value
import subprocess

DB = "vtj_it_surface"
fresh_db(DB)
sql("CREATE EXTENSION vtj_fdw", db=DB)
readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
spans = re.findall(r"`([^`]*)`", readme)
named = set()
for s in spans:
    for m in re.finditer(r"\bvtj\.([a-z_][a-z0-9_]*)", s):
        named.add(m.group(1))

routines = sql("SELECT p.proname, p.oid::regprocedure::text, p.prokind, obj_description(p.oid, 'pg_proc') IS NOT NULL "
               "FROM pg_proc p WHERE p.pronamespace = 'vtj'::regnamespace ORDER BY 1, 2", db=DB)
relations = sql("SELECT c.relname, c.oid::regclass::text, obj_description(c.oid, 'pg_class') IS NOT NULL FROM pg_class c "
                "WHERE c.relnamespace = 'vtj'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'f', 'p') ORDER BY 1", db=DB)
print(f"# schema vtj: {len(routines)} routines, {len(relations)} tables and views", flush=True)

# \df vtj.* lists the same routines the catalog query does (functions, procedures, aggregates).
p = subprocess.run([PSQL, "-X", "-At", "-d", DB, "-c", "\\df vtj.*"], capture_output=True, text=True)
df = sorted({line.split("|")[1] for line in p.stdout.splitlines() if "|" in line})
eq(df, sorted({r[0] for r in routines}), "\\df vtj.* lists the routines of schema vtj")

eq([r[1] for r in routines if r[0].startswith("_")], [], "no internal _… routine in schema vtj")
eq([r[1] for r in routines if r[3] != "t"], [], "every routine of schema vtj has a COMMENT")
eq([r[1] for r in routines if r[0] not in named], [], "every routine of schema vtj is named in README.md (`vtj.name`)")
eq([r[1] for r in relations if r[2] != "t"], [], "every table and view of schema vtj has a COMMENT")
eq([r[1] for r in relations if r[0] not in named], [], "every table and view of schema vtj is named in README.md")

# (the settings exist once the library is loaded in the session)
p = subprocess.run([PSQL, "-X", "-At", "-d", DB, "-c", "LOAD 'vtj_fdw'", "-c", "SELECT name FROM pg_settings WHERE name LIKE 'vtj.%'"],
                   capture_output=True, text=True)
settings = {line.split(".", 1)[1] for line in p.stdout.splitlines() if line.startswith("vtj.")}
ok(len(settings) > 0, f"the vtj.* settings: {', '.join(sorted(settings))}", p.stderr)
known = {r[0] for r in routines} | {r[0] for r in relations} | settings
eq(sorted(named - known), [], "every `vtj.name` README.md names exists (a routine, table, view or setting of vtj_fdw)")

# The internals.
n_internal = value("SELECT count(*) FROM pg_proc WHERE pronamespace = 'vtj_internal'::regnamespace", db=DB)
ok(int(n_internal) > 0, f"the internals are in schema vtj_internal ({n_internal} routines)")
eq(sql("SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'vtj_internal'::regnamespace "
       "AND has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1", db=DB), [],
   "PUBLIC can execute no routine of vtj_internal")
eq(value("SELECT has_schema_privilege('public', 'vtj_internal', 'USAGE')", db=DB), "f", "PUBLIC has no USAGE on vtj_internal")
eq(value("SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'vtj_internal'::regnamespace "
         "AND obj_description(p.oid, 'pg_proc') IS NULL AND p.proname IN ('check_drop', 'drop_guard')", db=DB), "0",
   "the drop guard's internal routines are commented")

sql(f"DROP DATABASE {DB}", db="postgres")
done()
