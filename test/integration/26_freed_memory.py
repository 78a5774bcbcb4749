#!/usr/bin/env python3
"""Memory a backend frees is scrubbed once vtj_fdw is loaded in it.

PostgreSQL writes a sort's last tape block whole, the bytes past its payload uninitialised: they
are whatever glibc hands out, and that is memory freed before — the core's pages of answers
(raw, uncensored) among it. 59_mirror_no_trace found a protected person's building id, in the
mock's compact JSON, in the spill file of a change run's sort of hetus. _PG_init turns glibc's
M_PERTURB on (src/core/freed_memory.hpp); vtj_internal.freed_memory_scrubbed() runs the probe
(a block written, freed and allocated again must not hold what was written) in the backend:
after a scan that read answers, and in a backend that only loaded the library."""
import ctypes

from mirrorlib import OwnMock, PASSWORD
from taplib import done, eq, ok, sql, value

DB = "vtj_it_freed_memory"
mock = OwnMock(500, 26)
PROBE = "SELECT vtj_internal.freed_memory_scrubbed()"
try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    sql(f"CREATE DATABASE {DB}", db="postgres")
    sql(f"""CREATE EXTENSION vtj_fdw;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            CREATE SCHEMA s;
            IMPORT FOREIGN SCHEMA muutosrajapinta LIMIT TO (perustiedot) FROM SERVER plain INTO s;""", db=DB)
    hetus = "'{" + ",".join(mock.hetut(500)) + "}'"
    out = sql(f"SELECT sum(length(p.tiedot::text)) FROM s.perustiedot p WHERE p.hetu = ANY ({hetus}::text[]); {PROBE}", db=DB)
    ok(int(value(f"SELECT sum(length(p.tiedot::text)) FROM s.perustiedot p WHERE p.hetu = ANY ({hetus}::text[])", db=DB))
       > 100000, "a scan reads basic data")
    eq(out[-1][0], "t", "after the scan, memory the backend frees is scrubbed")
    eq(value(PROBE, db=DB), "t", "in a new backend too, from the library's loading on")
    # The probe can fail: its steps in this test's own process (glibc without M_PERTURB) see
    # the secret again.
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    seen = 0
    for n in (20000, 100000):
        p = libc.malloc(n)
        ctypes.memset(p, ord("S"), n)
        libc.free(p)
        q = libc.malloc(n)
        seen += ctypes.string_at(q + 64, n - 64).count(b"S")
        libc.free(q)
    ok(seen > 0, f"without it the probe's secret is seen again (in this test's own process: {seen} bytes)")
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
