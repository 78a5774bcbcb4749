#!/usr/bin/env python3
"""A change run in slices of persons (vtj.paivitys_era, README "A change run") gives what a run
in one slice gives.

Two registers of the same members on the uncensoring account (so that OUR censorship is what is
tested) and one on the censoring account: w runs with the default (its windows are one slice),
s and sx with vtj.paivitys_era = 1 (a slice per person). After each run over weeks of
mixed-order changes (new members, protection orders begun and ended, hetu corrections) s equals
w row for row in vtj.jasen, vtj.tieto, vtj.henkilo and vtj.osoite, and its change log holds the
same rows; both equal the interface's truth, and so does sx. In s's log a person's change rows
of a run follow one another in the interface's order. The runs say (DEBUG) in how many slices
they applied the window: w in one, s and sx in hundreds."""
import datetime
import json
import re
import subprocess

from mirrorlib import OwnMock, PASSWORD, add_members, compare, fresh_mirror_db
from taplib import PSQL, done, eq, ok, sql, value

DB = "vtj_it_mirror_slices"
N = 1500
SLICED = ("vtj.paivitys_era = 1",)   # a slice per person
LOG_COLUMNS = "hetu, kirjausavain, muutospv, jarjestys, tietoryhma, muutosattribuutti, tiedot::text"


def set_today(mock):
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def rows(query):
    return sorted(tuple(r) for r in sql(query, db=DB))


def table_rows(table, reg, drop=()):
    """The register's rows of `table` as JSON text, without the columns that say when."""
    minus = "".join(f" - '{c}'" for c in ("rekisteri", *drop))
    return rows(f"SELECT (to_jsonb(x){minus})::text FROM {table} x WHERE x.rekisteri = '{reg}'")


def run_log(reg):
    """The log rows of the register's last run, in their order (id)."""
    log = sql(f"SELECT {LOG_COLUMNS} FROM vtj.muutosloki m WHERE m.rekisteri = '{reg}' "
              f"AND m.ajo = (SELECT max(a.ajo) FROM vtj.ajo a WHERE a.rekisteri = '{reg}') ORDER BY m.id", db=DB)
    return [tuple("<NULL>" if c is None else c for c in r) for r in log]


def runs_of_persons(log):
    """How many times the log's hetu changes from row to row, plus one, and how many persons."""
    changes = sum(1 for a, b in zip(log, log[1:]) if a[0] != b[0])
    return changes + 1 if log else 0, len({r[0] for r in log})


def call_run(reg, *settings):
    """CALL vtj.paivita(reg) with client_min_messages = debug1; returns the slices it said it used."""
    pre = "".join(f"SET {x};\n" for x in settings + ("client_min_messages = debug1",))
    p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", DB], input=pre + f"CALL vtj.paivita('{reg}');\n",
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    m = re.search(rf"vtj\.paivita\({reg}\): the window in (\d+) slices of persons", p.stderr)
    return int(m.group(1)) if m else None


mock = OwnMock(N, 541, "--start-days", 5, "--change-rate", 0.3, "--turvakielto-share", 0.05)
try:
    today = fresh_mirror_db(DB, mock, "w")
    sql(f"""SELECT vtj.luo_rekisteri('s', 'plain', 'ASREK');
            CREATE SERVER cens FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER cens OPTIONS (username 'mutpT1x', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('sx', 'cens', 'ASREK');""", db=DB)
    hetus = mock.hetut(N)
    for reg in ("w", "s", "sx"):
        add_members(DB, reg, hetus[:N - 100])
        sql(f"CALL vtj.lataa_perustiedot('{reg}')", db=DB)
    eq(value("SELECT current_setting('vtj.paivitys_era') WHERE vtj.hetu_kelpaa('x') IS NOT NULL", db=DB), "50000",
       "vtj.paivitys_era is 50000 by default (once the library is loaded)")
    days = 0
    for step in (20, 45):
        mock.advance(step)
        days += step
        today = set_today(mock)
        if step == 45:   # new members, loaded by the run
            for reg in ("w", "s", "sx"):
                add_members(DB, reg, hetus[N - 100:])
        slices = {"w": call_run("w")}
        for reg in ("s", "sx"):
            slices[reg] = call_run(reg, *SLICED)
        changes = int(value("SELECT muutoksia FROM vtj.ajo WHERE rekisteri = 's' ORDER BY ajo DESC LIMIT 1", db=DB))
        ok(changes > 500, f"+{days} days: the window holds {changes} changes")
        ok(slices["w"] == 1 and slices["s"] > 100 and slices["sx"] > 100,
           f"+{days} days: w applied it in one slice, s in {slices['s']} and sx in {slices['sx']}", str(slices))
        eq(table_rows("vtj.jasen", "s", ("lisatty", "ladattu", "paljastus_haettu")),
           table_rows("vtj.jasen", "w", ("lisatty", "ladattu", "paljastus_haettu")),
           f"+{days} days: vtj.jasen of s equals w's (membership, hetus moved, turvakielto, censored)")
        for table, drop in (("vtj.tieto", ("paivitetty",)), ("vtj.henkilo", ("paivitetty",)), ("vtj.osoite", ())):
            eq(table_rows(table, "s", drop), table_rows(table, "w", drop), f"+{days} days: {table} of s equals w's")
        sliced, whole = run_log("s"), run_log("w")
        eq(sorted(sliced), sorted(whole), f"+{days} days: s's run logged the same {len(whole)} rows as w's")
        # (the change rows: the run's events and the basic data it fetched are logged around them)
        sliced = [r for r in sliced if r[3] != "<NULL>"]
        whole = [r for r in whole if r[3] != "<NULL>"]
        runs, persons = runs_of_persons(sliced)
        eq(runs, persons, f"+{days} days: in s's log each of {persons} persons' change rows follow one another (applied in slices)")
        per_person = {}
        for r in sliced:
            per_person.setdefault(r[0], []).append(r)
        ok(all([int(r[3]) for r in v] == sorted(int(r[3]) for r in v) for v in per_person.values()),
           f"+{days} days: … each in the interface's order (jarjestys)")
        truth = mock.perustiedot(mock.hetut(N), "mutpT1")
        for reg in ("w", "s", "sx"):
            members = [r[0] for r in sql(f"SELECT hetu FROM vtj.jasen WHERE rekisteri = '{reg}'", db=DB)]
            diffs = compare(DB, reg, "ASREK", truth, today, members)
            ok(not diffs, f"+{days} days: register {reg} equals the truth for all {len(members)} members",
               "\n".join(json.dumps(d, ensure_ascii=False)[:600] for d in diffs[:6]))
    eq(value("SELECT count(*) FROM vtj.ajo WHERE laji = 'paivita' AND tila <> 'ok'", db=DB), "0", "every run was ok")
    moved = int(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 's' AND muutosattribuutti = 'HETU_KORJATTU'",
                      db=DB))
    censored = int(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 's' AND sensuroitu", db=DB))
    ok(moved > 0 and censored > 0, f"the runs met hetu corrections ({moved}) and protected persons ({censored})")
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
