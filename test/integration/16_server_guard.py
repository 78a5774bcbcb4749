#!/usr/bin/env python3
"""Only a superuser may repoint a server that other roles have user mappings on (README
"Security"), also in a session that has not loaded vtj_fdw yet.

The server's owner is a login role that is not a superuser; another role has its own user
mapping on the server. In a new session of the owner (the library not loaded: checked in the
backend's memory map), ALTER SERVER … SET url is refused with 42501 by the event trigger
vtj_fdw_server_guard, which loaded the library itself, and the server keeps its address. Other
options stay the owner's; once the other role's mapping is gone the owner may repoint, but then
may not give that role (or PUBLIC) a new mapping, nor change another role's; a superuser always
may. (pg_regress `options` covers the cases one by one.)"""
import os
import subprocess
import tempfile

from taplib import PSQL, done, eq, ok, sql, sql_error, value

DB = "vtj_it_guard"
OWNER, OTHER = "vtj_it_omistaja", "vtj_it_toinen"
# The other role's credentials: strings that cannot occur by chance in an error (psql names its
# script file, a random /tmp path, in every message: "p2" once matched such a name).
OTHER_USER, OTHER_PASSWORD = "tunnus-toisen-rooli", "salasana-toisen-9Qx7"


def login_session(role, script):
    """Runs a psql script in a new session that logs in as `role`; returns (stdout, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("\\set VERBOSITY verbose\n" + script)
        path = f.name
    try:
        p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-U", role, "-d", DB, "-f", path],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(path)
    return p.stdout, p.stderr


def options():
    return value("SELECT array_to_string(srvoptions, ' ') FROM pg_foreign_server WHERE srvname = 'g'", db=DB)


try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    for r in (OWNER, OTHER):
        sql(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{r}') THEN CREATE ROLE {r} LOGIN; END IF; END $$",
            db="postgres")
    sql(f"CREATE EXTENSION vtj_fdw; GRANT USAGE ON FOREIGN DATA WRAPPER vtj_fdw TO {OWNER}", db=DB)
    eq(value(f"SELECT count(*) FROM pg_roles WHERE rolname IN ('{OWNER}', '{OTHER}') AND rolsuper", db=DB), "0",
       "neither role is a superuser")
    sql("""CREATE SERVER g FOREIGN DATA WRAPPER vtj_fdw
               OPTIONS (url 'https://ss.kunta.example/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1',
                        kysely_url 'https://ss.kunta.example/');
           CREATE USER MAPPING FOR CURRENT_USER SERVER g OPTIONS (username 'omistaja', password 'p1');""",
        db=DB, role=OWNER)
    sql(f"GRANT USAGE ON FOREIGN SERVER g TO {OTHER}", db=DB, role=OWNER)
    sql(f"CREATE USER MAPPING FOR CURRENT_USER SERVER g OPTIONS (username '{OTHER_USER}', password '{OTHER_PASSWORD}')", db=DB, role=OTHER)
    before = options()

    out, err = login_session(OWNER, """SELECT pg_backend_pid() AS pid \\gset
\\setenv VTJ_PID :pid
\\! grep -c vtj_fdw /proc/$VTJ_PID/maps || true
ALTER SERVER g OPTIONS (SET url 'https://elsewhere.example/api/v1');
\\! grep -c vtj_fdw /proc/$VTJ_PID/maps || true
ALTER SERVER g OPTIONS (SET kysely_url 'https://elsewhere.example/');
""")
    counts = out.split()
    ok(len(counts) == 2 and counts[0] == "0", "a new session of the owner has not loaded vtj_fdw", out + err)
    ok("ERROR:  42501: only a superuser may set option \"url\" of server \"g\"" in err,
       "… its ALTER SERVER … SET url is refused (42501), the server having another role's user mapping", err)
    ok("1 user mapping of another role" in err and "HINT:" in err, "… saying why, with a hint", err)
    ok(len(counts) == 2 and int(counts[1]) > 0, "… by the event trigger, which loaded the library itself", out)
    ok("ERROR:  42501: only a superuser may set option \"kysely_url\" of server \"g\"" in err,
       "… and so is SET kysely_url", err)
    ok(OTHER_PASSWORD not in err and OTHER_USER not in err and OTHER not in err, "… the error names neither the other role's credentials nor its user name", err)
    eq(options(), before, "the server keeps its addresses")

    out, err = login_session(OWNER, "ALTER SERVER g OPTIONS (ADD request_timeout '30');\n")
    ok(err == "", "the owner may still change other options", err)

    e = sql_error(f"DROP USER MAPPING FOR {OTHER} SERVER g; "
                  "ALTER SERVER g OPTIONS (SET url 'https://elsewhere.example/api/v1')", db=DB, role=OWNER)
    ok(e is None, "once the other role's mapping is gone (the owner may drop it), the owner may repoint", e and e.text)
    # … but cannot then give the other role (or PUBLIC) a mapping on the repointed server.
    for who in (OTHER, "PUBLIC"):
        out, err = login_session(OWNER, f"CREATE USER MAPPING FOR {who} SERVER g OPTIONS (username 'x', password 'y');\n")
        ok("ERROR:  42501: only a superuser may create a user mapping of another role on server \"g\"" in err,
           f"… nor make a user mapping for {who} on it (42501)", err)
    eq(value("SELECT count(*) FROM pg_user_mappings WHERE srvname = 'g'", db=DB), "1", "(only the owner's mapping is left)")

    sql(f"CREATE USER MAPPING FOR CURRENT_USER SERVER g OPTIONS (username '{OTHER_USER}', password '{OTHER_PASSWORD}')", db=DB, role=OTHER)
    out, err = login_session(OWNER, f"ALTER USER MAPPING FOR {OTHER} SERVER g OPTIONS (SET password 'x');\n")
    ok("ERROR:  42501: only a superuser may alter a user mapping of another role" in err,
       "the owner cannot change the other role's mapping either (42501)", err)
    out, err = login_session(OTHER, "ALTER USER MAPPING FOR CURRENT_USER SERVER g OPTIONS (SET password 'p3');\n")
    ok(err == "", "… while the other role changes its own", err)
    e = sql_error("ALTER SERVER g OPTIONS (SET url 'https://ss.kunta.example/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1')",
                  db=DB)
    ok(e is None, "a superuser may repoint it whoever has mappings on it", e and e.text)
    eq(value("SELECT count(*) FROM pg_event_trigger WHERE evtname = 'vtj_fdw_server_guard' AND evtenabled = 'O' "
             "AND evtevent = 'ddl_command_start'", db=DB), "1",
       "the guard is an enabled ddl_command_start event trigger of the extension")
finally:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    for r in (OWNER, OTHER):
        sql(f"DROP ROLE IF EXISTS {r}", db="postgres")
done()
