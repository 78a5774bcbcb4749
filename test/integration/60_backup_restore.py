#!/usr/bin/env python3
"""Backup and restore: a database with registers and their history (mirrorlib.populate: two
registers loaded, change runs and a failed one, a product of one's own, VTJkysely look-ups) is
dumped with pg_dump in the custom and in the plain format and restored into new databases
(pg_restore; psql -f). In each: every row of every table of the extension is equal to the
original's, and so is every sequence's position and every object of the extension (catalog.py);
change runs work and the mirror converges with the mock's truth; the product, the look-up log
and the run history are there, and the identity columns continue above the restored values
(before the sequences were registered with pg_extension_config_dump, the first vtj.paivita of a
restored database failed on ajo_pkey)."""
import os
import subprocess
import tempfile
import time

import catalog
from mirrorlib import OWN_PRODUCT, OwnMock, compare, fresh_mirror_db, populate, set_today
from taplib import SqlError, done, eq, ok, sql, value

BIN = os.environ.get("VTJ_PG_BIN", "/usr/lib/postgresql/15/bin")
DB = "vtj_it_backup"
RESTORED = {"custom": "vtj_it_restored_custom", "plain": "vtj_it_restored_plain"}
mock = OwnMock(1500, 60, "--start-days", 10, "--change-rate", 0.3, "--turvakielto-share", 0.03)
work = tempfile.mkdtemp(prefix="vtj_it_backup_")
os.chmod(work, 0o755)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


try:
    fresh_mirror_db(DB, mock, "r")
    members, today = populate(DB, mock)
    rows = catalog.table_rows(DB)
    seqs = catalog.sequences(DB)
    objects = catalog.snapshot(DB)
    ajo_max = int(value("SELECT max(ajo) FROM vtj.ajo", db=DB))
    loki_max = int(value("SELECT max(id) FROM vtj.muutosloki", db=DB))
    rek_max = int(value("SELECT max(id) FROM vtj.rekisteri", db=DB))
    print("# the original: " + ", ".join(f"{t} {len(r)}" for t, r in sorted(rows.items())), flush=True)
    print("# sequences: " + ", ".join(f"{k} {v[0]}" for k, v in sorted(seqs.items())), flush=True)
    ok(ajo_max >= 7 and loki_max > 0 and value("SELECT count(*) FROM vtj.kyselyloki", db=DB) == "4"
       and value("SELECT count(*) FROM vtj.ajo WHERE tila = 'virhe'", db=DB) == "1",
       f"the original has runs ({ajo_max}, one failed), change-log rows ({loki_max}) and 4 look-ups")

    dumps = {"custom": os.path.join(work, "vtj.dump"), "plain": os.path.join(work, "vtj.sql")}
    t = time.monotonic()
    rc, out = run([f"{BIN}/pg_dump", "-Fc", "-d", DB, "-f", dumps["custom"]])
    ok(rc == 0, f"pg_dump -Fc ({os.path.getsize(dumps['custom']) if rc == 0 else 0} bytes, "
                f"{time.monotonic() - t:.1f} s)", out)
    rc, out = run([f"{BIN}/pg_dump", "-Fp", "-d", DB, "-f", dumps["plain"]])
    ok(rc == 0, f"pg_dump -Fp ({os.path.getsize(dumps['plain']) if rc == 0 else 0} bytes)", out)
    plain = open(dumps["plain"]).read()
    ok(all(f"pg_catalog.setval('{s}'" in plain for s in ("vtj_internal.ajo_ajo_seq", "vtj.muutosloki_id_seq",
                                                         "vtj.rekisteri_id_seq")),
       "the dump sets the extension's three identity sequences (pg_extension_config_dump)")

    mock.advance(2)
    today = set_today(DB, mock)
    for fmt, rdb in RESTORED.items():
        sql(f"DROP DATABASE IF EXISTS {rdb}", db="postgres")
        sql(f"CREATE DATABASE {rdb}", db="postgres")
        t = time.monotonic()
        if fmt == "custom":
            rc, out = run([f"{BIN}/pg_restore", "--exit-on-error", "-d", rdb, dumps["custom"]])
            how = "pg_restore"
        else:
            rc, out = run([f"{BIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", rdb, "-f", dumps["plain"]])
            how = "psql -f"
        ok(rc == 0 and "ERROR" not in out, f"{fmt}: {how} into a new database, without an error "
                                           f"({time.monotonic() - t:.1f} s)", out)
        # (database settings are not in a dump: the test's "today" is set again)
        set_today(rdb, mock)
        got = catalog.table_rows(rdb)
        diffs = [f"{t_}: {len(rows[t_])} rows in the original, {len(got.get(t_, []))} restored; "
                 f"{len(set(rows[t_]) - set(got.get(t_, [])))} differ"
                 for t_ in sorted(set(rows) | set(got)) if rows.get(t_) != got.get(t_)]
        ok(not diffs, f"{fmt}: every row of the {len(rows)} tables is equal to the original's "
                      f"({sum(len(r) for r in rows.values())} rows)", "\n".join(diffs))
        eq(catalog.sequences(rdb), seqs, f"{fmt}: every sequence is where it was")
        d = catalog.diff(objects, catalog.snapshot(rdb), "the original", "the restored database")
        ok(not d, f"{fmt}: the extension's {len(objects)} objects are as in the original", "\n".join(d))
        eq(sql(f"SELECT tuote, vakio FROM vtj.tuote WHERE tuote = '{OWN_PRODUCT}'", db=rdb), [[OWN_PRODUCT, "f"]],
           f"{fmt}: the product of one's own is there")
        eq(sql("SELECT count(*), count(DISTINCT hetu), min(kayttotarkoitus) FROM vtj.kyselyloki", db=rdb),
           [["4", "4", "populate"]], f"{fmt}: the look-up log is there")
        eq(value("SELECT count(*) FROM vtj.ajo", db=rdb), str(len(rows["vtj_internal.ajo"])),
           f"{fmt}: the run history is there ({len(rows['vtj_internal.ajo'])} runs)")

        errors = []
        for reg in ("r", "oma"):
            try:
                sql(f"CALL vtj.paivita('{reg}')", db=rdb)
            except SqlError as e:
                errors.append(e.text)
        ok(not errors, f"{fmt}: change runs of both registers work in the restored database", "\n".join(errors))
        new = sql(f"SELECT min(ajo), count(*) FROM vtj.ajo WHERE ajo > {ajo_max}", db=rdb)[0]
        eq(new, [str(ajo_max + 1), "2"], f"{fmt}: … their runs are numbered on from the restored ones ({new[0]}, …)")
        eq(value(f"SELECT count(*) FROM vtj.muutosloki WHERE id <= {loki_max} AND ajo > {ajo_max}", db=rdb), "0",
           f"{fmt}: … their change-log rows are numbered above the restored ones")
        sql("SELECT vtj.luo_rekisteri('uusi', 'plain', 'ASREK')", db=rdb)
        eq(value("SELECT id FROM vtj.rekisteri WHERE rekisteri = 'uusi'", db=rdb), str(rek_max + 1),
           f"{fmt}: a new register takes the next id ({rek_max + 1})")
        for reg, product in (("r", "ASREK"), ("oma", OWN_PRODUCT)):
            diffs = compare(rdb, reg, product, mock.perustiedot(members[reg]), today, members[reg])
            ok(not diffs, f"{fmt}: register {reg}: the mirror equals the mock's truth for all {len(members[reg])} members",
               diffs[:5])
        sql(f"SELECT count(*) FROM vtjkysely.henkilo WHERE hetu = '{members['r'][7]}'", db=rdb)
        eq(value("SELECT count(*) FROM vtj.kyselyloki", db=rdb), "5", f"{fmt}: a look-up after the restore is logged")
        eq(value("SELECT tila FROM vtj.tarkistus()", db=rdb), "OK", f"{fmt}: vtj.tarkistus() says OK")
finally:
    mock.stop()
    subprocess.run(["rm", "-rf", work])
    for d in [DB] + list(RESTORED.values()):
        try:
            sql(f"DROP DATABASE IF EXISTS {d}", db="postgres")
        except Exception:
            pass
done()
