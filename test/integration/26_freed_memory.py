#!/usr/bin/env python3
"""Memory a backend frees is scrubbed once vtj_fdw is loaded in it.

PostgreSQL writes a sort's last tape block whole, the bytes past its payload uninitialised: they
are whatever glibc hands out, and that is memory freed before — the core's pages of answers
(raw, uncensored) among it. 59_mirror_no_trace found a protected person's building id, in the
mock's compact JSON, in the spill file of a change run's sort of hetus. _PG_init turns glibc's
M_PERTURB on (src/core/freed_memory.hpp); vtj_internal.freed_memory_scrubbed() runs the probe
(a block written, freed and allocated again must not hold what was written) in the backend:
after a scan that read answers, and in a backend that only loaded the library. (That the probe
can fail — glibc without M_PERTURB hands the secret out again — is the unit test FreedMemory's.)"""
from mirrorlib import OwnMock, PASSWORD
from taplib import done, eq, ok, sql, value

DB = "vtj_it_freed_memory"
mock = OwnMock(500, 26)
PROBE_FN = "vtj_internal.freed_memory_scrubbed()"
try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            CREATE SCHEMA s;
            IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (perustiedot) FROM SERVER plain INTO s;""", db=DB)
    hetus = "'{" + ",".join(mock.hetut(500)) + "}'"
    # one statement: the scan (read whole by the materialized CTE) before the probe
    n, scrubbed = sql(f"WITH r AS MATERIALIZED (SELECT sum(length(p.tiedot::text)) AS n FROM s.perustiedot p "
                      f"WHERE p.hetu = ANY ({hetus}::text[])) SELECT r.n, {PROBE_FN} FROM r", db=DB)[0]
    ok(int(n) > 100000, f"a scan reads basic data ({n} bytes as jsonb text)")
    eq(scrubbed, "t", "after the scan, memory the backend frees is scrubbed")
    eq(value(f"SELECT {PROBE_FN}", db=DB), "t", "in a new backend too, from the library's loading on")
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
