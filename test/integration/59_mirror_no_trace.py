#!/usr/bin/env python3
"""No censored value anywhere: the whole database, the server log, the WAL, the temporary files.

The uncensoring account mutpT1 sends every protected person's addresses, so that what keeps them
out is the mirror's own censorship. 20,000 members; then, adversarially:
  - a change run over a backlog of a year (more than 100,000 changes, DVV's mixed orders: an
    address before the TURVAKIELTO in the same window, protection starting and ending by date,
    hetu corrections), applied in slices of persons (vtj.paivitys_era 25000), with work_mem and
    vtj.work_mem at 64kB, temp_buffers at its minimum and log_temp_files = 0, while every file PostgreSQL creates in base/pgsql_tmp and every file of a
    temporary table is caught (hard-linked the moment it is created; the directories are
    append-only meanwhile, so that PostgreSQL cannot delete a file before it is linked);
  - a product that starts censoring a group more;
  - a run that fails in the middle of its read;
  - a protected member removed and added again.
Then pg_dump --data-only of the database, the server log, the WAL written since the start (the
segment files, as pg_waldump lists them) and the caught files are searched for the values of the
protected persons' censored groups that appear nowhere else in the population. Each search is
shown to work first: a planted marker is found in each kind of output."""
import datetime
import json
import os
import random
import shutil
import subprocess
import tempfile

from filecatch import FileCatcher
from mirrorlib import ALL_CENSORED, OwnMock, PASSWORD, add_members, compare, is_marker, protected
from taplib import PSQL, done, eq, ok, sql, sql_error, value

DB = "vtj_it_no_trace"


def diag(text):
    print("# " + text.replace("\n", "\n# "), flush=True)
N = 20000
PG_BIN = os.path.dirname(PSQL)
PGDATA = os.path.join(os.environ["PGHOST"], "data")
SERVER_LOG = os.path.join(os.environ["PGHOST"], "server.log")
MARK = "Kontrolli-7f3e-Salaisuus"          # a planted value: each search must find it
# work_mem at its minimum, and vtj.work_mem (the load's and the change run's statements) too:
# whatever spills, spills. The change runs go in slices of persons (vtj.paivitys_era) of a few
# ten thousand changes, so that the sliced apply, log and purge are what is searched after.
LOW_MEMORY = ["work_mem = '64kB'", "vtj.work_mem = '64kB'", "temp_buffers = '800kB'", "log_temp_files = 0",
              "log_min_messages = log", "vtj.paivitys_era = 25000"]

mock = OwnMock(N, 61, "--start-days", 5, "--change-rate", 0.45, "--turvakielto-share", 0.05, timeout=600)
work = tempfile.mkdtemp(prefix="vtj_no_trace_", dir=os.environ["PGHOST"])


def set_today():
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def grep_files(needles, files):
    """{needle: count} of the needles found in the files (grep -F: many needles at once)."""
    pat = os.path.join(work, "needles.txt")
    with open(pat, "w") as f:
        f.write("\n".join(needles) + "\n")
    found = {}
    for path in files:
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            continue
        p = subprocess.run(["grep", "-aoF", "-f", pat, path], capture_output=True)
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            found[line] = found.get(line, 0) + 1
    return found


def values_of(groups, only_censored=True):
    """Distinctive strings of group objects: street names, address lines, building ids, places."""
    out = set()
    for g in groups:
        if (only_censored and g.get("tietoryhma") not in ALL_CENSORED) or is_marker(g):
            continue
        # the records a change carries inside it (voimassaolevatTiedot of a POISTETTU: the
        # records still in force, of the same group) are the person's data too
        for k, v in g.items():
            if isinstance(v, list) and all(isinstance(x, dict) for x in v):
                out |= values_of([dict(x, tietoryhma=x.get("tietoryhma", g.get("tietoryhma"))) for x in v],
                                 only_censored)
        for k, v in g.items():
            if k in ("katunimi", "postiosoite", "lahiosoite", "postitoimipaikka", "paikkakunta") and isinstance(v, dict):
                out.update(x for x in v.values() if isinstance(x, str) and len(x) >= 6)
            elif k in ("postiosoite", "lahiosoite", "rakennustunnus", "postiosoiteLisarivi", "paikkakunta") \
                    and isinstance(v, str) and len(v) >= 6:
                out.add(v)
        # the street address as vtj.osoite and vtj.henkilo compose it (katuosoite: the street,
        # its number, the staircase, the flat without leading zeros, the division letter), and
        # its first part (a post address "Asemakatu 32" is a part of "Asemakatu 32 A 5")
        if isinstance(g.get("katunimi"), dict) and g.get("katunumero"):
            for name in g["katunimi"].values():
                if isinstance(name, str):
                    out.add(f"{name} {g['katunumero']}")
                    flat = (g.get("huoneistonumero") or "").lstrip("0")
                    out.add(" ".join(x for x in (name, g["katunumero"], g.get("huoneistokirjain"), flat or None,
                                                 g.get("jakokirjain")) if x))
    return out


def wal_files(start_lsn):
    """The WAL segment files from the one holding start_lsn to the current one."""
    first = value(f"SELECT pg_walfile_name('{start_lsn}')", db="postgres")
    last = value("SELECT pg_walfile_name(pg_current_wal_lsn())", db="postgres")
    waldir = os.path.join(PGDATA, "pg_wal")
    return [os.path.join(waldir, f) for f in sorted(os.listdir(waldir)) if len(f) == 24 and first <= f <= last]


catcher = None
try:
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    # a slot keeps every WAL segment from here on (checkpoints would recycle them)
    sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'vtj_no_trace'", db="postgres")
    sql("SELECT pg_create_physical_replication_slot('vtj_no_trace', true)", db="postgres")
    start_lsn = value("SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = 'vtj_no_trace'", db="postgres")
    log_start = os.path.getsize(SERVER_LOG)
    sql(f"CREATE DATABASE {DB}", db="postgres")
    today = set_today()
    oid = value(f"SELECT oid FROM pg_database WHERE datname = '{DB}'", db="postgres")
    tmpdir = os.path.join(PGDATA, "base", "pgsql_tmp")
    if not os.path.isdir(tmpdir):
        os.makedirs(tmpdir, mode=0o700)
        shutil.chown(tmpdir, "postgres", "postgres")
    catcher = FileCatcher([tmpdir, os.path.join(PGDATA, "base", oid)], os.path.join(work, "caught"),
                          accept=lambda name: name.startswith("pgsql_tmp") or name.startswith("t"))
    sql(f"""CREATE EXTENSION vtj_fdw;
            -- stored values uncompressed, so that the WAL search sees the bytes of a leak
            ALTER TABLE vtj.tieto ALTER COLUMN tietueet SET STORAGE EXTERNAL;
            ALTER TABLE vtj.muutosloki ALTER COLUMN tiedot SET STORAGE EXTERNAL;
            CREATE SERVER plain FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}', max_retries '0');
            CREATE USER MAPPING FOR CURRENT_USER SERVER plain OPTIONS (username 'mutpT1', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('a', 'plain', 'ASREK');""", db=DB)
    hetus = mock.hetut(N)
    add_members(DB, "a", hetus)
    truth0 = mock.perustiedot(hetus)
    # (the files of a load hold what it stored in the clear, the values of members not protected
    # then: they are searched like the WAL, phases below)
    load_phases = [(catcher.mark(), None)]
    sql("CALL vtj.lataa_perustiedot('a')", db=DB, settings=LOW_MEMORY)
    load_phases[-1] = (load_phases[-1][0], catcher.mark())
    bm0 = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a'", db=DB))

    # ---- a year's backlog, in little memory ---------------------------------------------------
    before = mock.state()["changes_visible"]
    mock.advance(360)
    today = set_today()
    window = mock.state()["changes_visible"] - before
    ok(window >= 100000, f"the backlog holds {window} changes")
    changes = mock.muutokset(bm0, hetus)
    sql("CALL vtj.paivita('a')", db=DB, settings=LOW_MEMORY)
    starts = {h for h, g in changes if g.get("tietoryhma") == "TURVAKIELTO" and g.get("turvakieltoAktiivinen") is True}
    # persons whose address changed in the window before their turvakielto began in it
    before_start, addr_seen = set(), set()
    for h, g in changes:
        if g.get("tietoryhma") in ALL_CENSORED and not is_marker(g):
            addr_seen.add(h)
        elif g.get("tietoryhma") == "TURVAKIELTO" and g.get("turvakieltoAktiivinen") is True and h in addr_seen:
            before_start.add(h)
    expired = set(mock.hetut(kind="turvakielto_expired")) & set(hetus)
    corrected_prot = [h for h in mock.hetut(kind="passivated") if h in set(hetus) and protected(truth0.get(h, []), today)]
    ok(len(starts) > 10 and len(before_start) >= 1 and len(expired) >= 1,
       f"the window starts {len(starts)} turvakielto orders, {len(before_start)} of them after an address change of the "
       f"same person in the same window; {len(expired)} end by date; {len(corrected_prot)} protected persons' hetus corrected")

    # ---- a product that censors a group more -------------------------------------------------
    sql("INSERT INTO vtj.tuote (tuote, tietoryhmat, sensuroitavat) VALUES "
        "('OMA', '{HENKILON_NIMI,TURVAKIELTO,KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE,KOTIMAINEN_POSTIOSOITE}', '{KOTIKUNTA}');"
        "SELECT vtj.luo_rekisteri('o', 'plain', 'OMA')", db=DB)
    o_members = mock.hetut(N)[:4000]
    add_members(DB, "o", o_members)
    truth_o = mock.perustiedot(o_members)       # OMA keeps the addresses until it censors them
    load_phases.append((catcher.mark(), None))
    sql("CALL vtj.lataa_perustiedot('o')", db=DB, settings=LOW_MEMORY)
    load_phases[-1] = (load_phases[-1][0], catcher.mark())
    sql("UPDATE vtj.tuote SET sensuroitavat = '{KOTIKUNTA,VAKINAINEN_KOTIMAINEN_OSOITE,KOTIMAINEN_POSTIOSOITE}' "
        "WHERE tuote = 'OMA'", db=DB)

    # ---- a run that fails in the middle of its read ------------------------------------------
    mock.advance(10)
    today = set_today()
    bm1 = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a'", db=DB))
    changes += mock.muutokset(bm1, mock.hetut(N))
    mock.fault("bad_muutospv", count=3, endpoint="muutokset", skip=2)
    e = sql_error("CALL vtj.paivita('a')", db=DB, settings=LOW_MEMORY)
    mock.clear_faults()
    ok(e is not None and e.sqlstate == "HV00M", "a run fails in the middle of its read (HV00M)", e and e.text)
    sql("CALL vtj.paivita('a')", db=DB, settings=LOW_MEMORY)
    sql("CALL vtj.paivita('o')", db=DB, settings=LOW_MEMORY)

    # ---- a protected member removed and added again -------------------------------------------
    again = value("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'a' AND sensuroitu ORDER BY hetu LIMIT 1", db=DB)
    sql(f"SELECT vtj.poista_henkilot('a', '{{{again}}}'); SELECT vtj.lisaa_henkilot('a', '{{{again}}}')", db=DB)
    sql("CALL vtj.paivita('a')", db=DB, settings=LOW_MEMORY)
    eq(value(f"SELECT sensuroitu FROM vtj.jasen WHERE rekisteri = 'a' AND hetu = '{again}'", db=DB), "t",
       "the protected member added again is held censored again")
    cur = mock.hetut(N)
    truth = mock.perustiedot(cur)
    members = [r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'a'", db=DB)]
    diffs = compare(DB, "a", "ASREK", truth, today, members)
    ok(not diffs, f"after all that the register equals the truth for all {len(members)} members", diffs[:3])

    # ---- planted markers: each search must find a value put there ------------------------------
    sql(f"CREATE TABLE kontrolli AS SELECT '{MARK}' || g AS x, md5(g::text) AS y FROM generate_series(1, 20000) g", db=DB)
    # (max(x): the sort must carry x, or the planner sorts the key alone)
    sql("SELECT max(x) FROM (SELECT x FROM kontrolli ORDER BY y OFFSET 0) s", db=DB, settings=["work_mem = '64kB'"])
    sql(f"DO $$ BEGIN RAISE LOG '%', '{MARK}'; END $$", db=DB, settings=["log_min_messages = log"])
    sql("CHECKPOINT", db="postgres")
    catcher.stop()
    dump = os.path.join(work, "dump.sql")
    subprocess.run([os.path.join(PG_BIN, "pg_dump"), "--data-only", "-d", DB, "-f", dump], check=True)
    log = os.path.join(work, "server.log")
    with open(SERVER_LOG, "rb") as src, open(log, "wb") as dst:
        src.seek(log_start)
        dst.write(src.read())
    wals = wal_files(start_lsn)
    records = subprocess.run([os.path.join(PG_BIN, "pg_waldump"), "--start", start_lsn, "--stats", "-p",
                              os.path.join(PGDATA, "pg_wal")], capture_output=True, text=True)
    total = next((ln for ln in records.stdout.splitlines() if ln.startswith("Total")), "")
    ok(records.returncode == 0 or total, f"pg_waldump reads the WAL since the start ({len(wals)} segments; {total.split()[:2]})",
       records.stderr[-500:])
    temp_logged = sum(1 for ln in open(log, errors="replace") if "temporary file:" in ln)
    ok(catcher.caught and temp_logged > 0,
       f"with 64kB of memory PostgreSQL wrote temporary files ({temp_logged} logged by log_temp_files; "
       f"{len(catcher.caught)} files caught, {catcher.total_bytes() // 1024} kB, {catcher.missed} gone before caught)")
    # what could not be searched: the files deleted before the watcher linked them (their sizes
    # from log_temp_files)
    sizes = {}
    for ln in open(log, errors="replace"):
        if "temporary file:" in ln and "size " in ln:
            sizes[ln.split('"')[1].rsplit("/", 1)[-1]] = int(ln.rsplit("size ", 1)[1].split()[0])
    missed_sizes = sorted(sizes.get(n, -1) for n in catcher.missed_names)
    ok(catcher.missed == 0, f"every file was caught: the watched directories were append-only "
       f"({len(catcher.kept)} of them), so PostgreSQL could not delete a file before it was linked",
       f"{len(missed_sizes)} files gone before caught, sizes in bytes (-1: not a logged temporary file): "
       f"{missed_sizes[:40]}")
    for what, files in (("pg_dump --data-only", [dump]), ("the server log", [log]), ("the WAL", wals),
                        ("the temporary files", catcher.caught)):
        ok(MARK in grep_files([MARK], files), f"the search of {what} finds a planted value")

    # ---- the needles: what the protected persons' censored groups held, and no one else's data -----
    # Strictly protected: protected when loaded and at the end with no TURVAKIELTO ending in the
    # window — all their censored values must be nowhere; or protected from some change in the
    # window to the end (no ending after) — their values in the window and at the end must be
    # nowhere, and their values at the load only in the WAL of the load (stored then, purged since).
    by_person = {}
    for h, g in changes:
        by_person.setdefault(h, []).append(g)
    prot_now = {h for h in cur if protected(truth.get(h, []), today)}
    prot_p0 = {h for h in hetus if protected(truth0.get(h, []), today)}
    ended = {h for h, gs in by_person.items()
             if any(g.get("tietoryhma") == "TURVAKIELTO" and g.get("turvakieltoAktiivinen") is not True for g in gs)}
    throughout = (prot_p0 & prot_now) - ended - expired
    became = (starts & prot_now) - prot_p0 - ended - expired
    strict = throughout | became
    secret, loaded_before = set(), set()
    for h in throughout:
        secret |= values_of(truth0.get(h, []))
    for h in strict:
        secret |= values_of(by_person.get(h, [])) | values_of(truth.get(h, []))
    for h in became:
        loaded_before |= values_of(truth0.get(h, []))
    # values anybody else held at any of the times the test knows (neighbours share buildings
    # and streets; a person revealed since has their address stored, rightly)
    open_vals = set()
    for h in hetus:
        if h not in strict:
            open_vals |= values_of(truth0.get(h, []), only_censored=False)
    for h in cur:
        if h not in strict:
            open_vals |= values_of(truth.get(h, []), only_censored=False)
    for h, gs in by_person.items():
        if h not in strict:
            open_vals |= values_of(gs, only_censored=False)
    # what the mirror keeps of them rightly: the groups no product censors (the contact
    # address, *_YHTEYSOSOITE, exists for exactly this case), at any time
    for h in strict:
        for gs in (truth0.get(h, []), truth.get(h, []), by_person.get(h, [])):
            open_vals |= values_of([g for g in gs if g.get("tietoryhma") not in ALL_CENSORED], only_censored=False)
    # and, in the WAL only, what product OMA stored before it began to censor the addresses
    for h, gs in truth_o.items():
        loaded_before |= values_of([g for g in gs if g.get("tietoryhma") in ("VAKINAINEN_KOTIMAINEN_OSOITE",
                                                                             "KOTIMAINEN_POSTIOSOITE")])
    # and what the mirror itself holds of the members it does not hold censored (the test's
    # snapshots miss a few persons' intermediate states: e.g. a hetu corrected in the window)
    for (tietueet,) in sql("SELECT t.tietueet::text FROM vtj.tieto t JOIN vtj.jasen j USING (rekisteri, hetu) "
                           "WHERE NOT j.sensuroitu", db=DB):
        recs = json.loads(tietueet)
        open_vals |= values_of(recs if isinstance(recs, list) else [recs], only_censored=False)
    needles = secret - open_vals
    # The searches find a value inside a longer string too (binary files have no delimiters):
    # a needle that is part of a value held rightly ("PB 118" in "PB 1186") goes.
    open_file = os.path.join(work, "open.txt")
    with open(open_file, "w") as f:
        f.write("\n".join(sorted(open_vals)) + "\n")
    needles = needles - set(grep_files(sorted(needles), [open_file]))
    # A row stores its strings one after the other with no byte between them (jsonb, and a
    # tuple's text columns), so a needle that begins or ends with a value held rightly can be
    # that value and the first bytes of the next one ("Hauptstraße 8" then the country code
    # "276" reads "Hauptstraße 827…"): such a needle goes too.
    needles = sorted(n for n in needles
                     if not any(n[:k] in open_vals or n[-k:] in open_vals for k in range(6, len(n))))
    with open(open_file, "w") as f:
        f.write("\n".join(sorted(loaded_before)) + "\n")
    wal_needles = sorted(set(needles) - loaded_before - set(grep_files(needles, [open_file])))
    ok(len(needles) >= 200 and len(wal_needles) >= 100,
       f"{len(needles)} censored values of {len(strict)} persons protected throughout what they were stored for "
       f"appear in nobody else's data ({len(wal_needles)} of them never stored before the protection)")
    in_load = {i for a, b in load_phases for i in range(a, b)}
    load_files = [f for i, f in enumerate(catcher.caught) if i in in_load]
    run_files = [f for i, f in enumerate(catcher.caught) if i not in in_load]
    ok(len(run_files) > 0, f"{len(run_files)} temporary files caught outside the loads, {len(load_files)} during them")
    for what, files, ns in (("pg_dump --data-only", [dump], needles), ("the server log", [log], needles),
                            ("the temporary files of the change runs", run_files, needles),
                            ("the temporary files of the loads", load_files, wal_needles),
                            ("the WAL", wals, wal_needles)):
        found = grep_files(ns, files)
        eq(sorted(found), [], f"none of them is in {what}")
        for n in sorted(found)[:4]:     # what the test knows of a value found: where it came from
            holders = []
            for src, data in (("load", truth0), ("end", truth), ("window", by_person)):
                for h, gs in data.items():
                    for g in gs:
                        if any(n in v for v in values_of([g], only_censored=False)):
                            holders.append((src, h, g.get("tietoryhma"), g.get("muutosattribuutti"),
                                            "strict" if h in strict else "open"))
            diag(f"{n!r} in {what}: held by {holders[:8]}")
            for path in files[:50]:
                if os.path.exists(path):
                    p = subprocess.run(["grep", "-aoE", f".{{0,400}}{n}.{{0,60}}", path], capture_output=True)
                    if p.stdout:
                        diag(f"  {os.path.basename(path)}: {p.stdout[:1500]!r}")
                        # the statement that closed a temporary file: its log_temp_files line
                        # (the name whole: ".2" is no ".20"). The bytes need not be that
                        # statement's own: a block written whole carries whatever the allocator
                        # handed out (26_freed_memory.py).
                        name = os.path.basename(path).split("_", 1)[-1]
                        lines = open(log, errors="replace").read().splitlines()
                        for k, ln in enumerate(lines):
                            if "temporary file:" in ln and f'/{name}"' in ln:
                                diag("  " + "\n  ".join(lines[k:k + 12]))
                                break
                        break
finally:
    if catcher:
        catcher.stop()
        catcher.release()
    sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'vtj_no_trace'", db="postgres")
    mock.stop()
    shutil.rmtree(work, ignore_errors=True)
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
