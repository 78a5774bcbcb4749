#!/usr/bin/env python3
"""HTTPS to the mock: a CA file, certificate verification, mutual TLS with a client
certificate, and the superuser-only TLS options at work."""
import os
import shutil
import subprocess
import tempfile

from taplib import done, fresh_db, ok, sql, sql_error, value
from vtjmock.launch import MockProcess  # (taplib puts test/mock on the path)

PASSWORD = os.environ["VTJ_MOCK_PASSWORD"]
tls_dir = tempfile.mkdtemp(prefix="vtj_tls_")
# A mock of its own: HTTPS, and a client certificate required.
mock = MockProcess("--persons", 200, "--seed", 3, "--password", PASSWORD, "--tls", "--tls-dir", tls_dir,
                   "--require-client-cert")
try:
    port = mock.port
    # The files the database server reads: owned by postgres, outside root's temp dir.
    pg_dir = tempfile.mkdtemp(prefix="vtj_tls_pg_")
    for f in ("ca.pem", "client.pem", "client.key"):
        shutil.copy(os.path.join(tls_dir, f), pg_dir)
        shutil.chown(os.path.join(pg_dir, f), "postgres", "postgres")
    os.chmod(pg_dir, 0o755)
    os.chmod(os.path.join(pg_dir, "client.key"), 0o600)
    url = f"https://localhost:{port}/api/v1"
    hetu = subprocess.run(["curl", "-s", "--cacert", f"{tls_dir}/ca.pem", "--cert", f"{tls_dir}/client.pem",
                           "--key", f"{tls_dir}/client.key", f"https://localhost:{port}/_control/hetut?limit=1"],
                          capture_output=True, text=True).stdout.strip().strip('[]"')
    fresh_db("vtj_it_tls")
    sql("CREATE EXTENSION vtj_fdw")
    sql(f"""CREATE SERVER tls FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{url}', max_retries '0',
              ca_file '{pg_dir}/ca.pem', client_cert '{pg_dir}/client.pem', client_key '{pg_dir}/client.key');
            CREATE USER MAPPING FOR CURRENT_USER SERVER tls OPTIONS (username 'mutpT1', password '{PASSWORD}');
            CREATE SCHEMA v; IMPORT FOREIGN SCHEMA muutosrajapinta FROM SERVER tls INTO v""")
    q = f"SELECT count(*) FROM v.perustiedot WHERE hetu = '{hetu}'"
    n = value(q)
    ok(n is not None and int(n) > 0, "HTTPS with the CA file and a client certificate", n)

    sql("ALTER SERVER tls OPTIONS (DROP client_cert, DROP client_key)")
    e = sql_error(q)
    ok(e is not None and e.sqlstate == "HV00N", "without the client certificate the mock refuses the handshake (HV00N)",
       e and e.text)

    sql(f"ALTER SERVER tls OPTIONS (ADD client_cert '{pg_dir}/client.pem', ADD client_key '{pg_dir}/client.key', DROP ca_file)")
    e = sql_error(q)
    ok(e is not None and e.sqlstate == "HV00N" and "certificate" in e.text.lower(),
       "without the CA file the server certificate is not trusted", e and e.text)

    sql("ALTER SERVER tls OPTIONS (ADD verify_tls 'false')")
    n = value(q)
    ok(n is not None and int(n) > 0, "verify_tls 'false' (set by a superuser) skips verification", n)

    sql("CREATE ROLE regress_vtj_tls; GRANT USAGE ON FOREIGN DATA WRAPPER vtj_fdw TO regress_vtj_tls")
    e = sql_error(f"CREATE SERVER t2 FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{url}', ca_file '{pg_dir}/ca.pem')",
                  role="regress_vtj_tls")
    ok(e is not None and e.sqlstate == "42501", "a non-superuser cannot name a CA file", e and e.text)
    sql("REVOKE USAGE ON FOREIGN DATA WRAPPER vtj_fdw FROM regress_vtj_tls; DROP ROLE regress_vtj_tls")
    sql("DROP DATABASE vtj_it_tls", db="postgres")
    shutil.rmtree(pg_dir, ignore_errors=True)
finally:
    mock.stop()
    shutil.rmtree(tls_dir, ignore_errors=True)
done()
