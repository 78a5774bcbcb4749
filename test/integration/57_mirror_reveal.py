#!/usr/bin/env python3
"""A turvakielto whose end date has passed while the interface still withholds the person
(DVV keeps withholding until the order is ended; the mock does so with --withhold-days): the
mirror asks about such a person again at most once a day, not on every run, and logs only what
changed. And the change log's retention: each run deletes the rows older than the register's
sailytysaika; NULL keeps them."""
import datetime

from mirrorlib import OwnMock, add_members, fresh_mirror_db
from taplib import done, eq, ok, sql, value

DB = "vtj_it_mirror_reveal"
N = 3000
mock = OwnMock(N, 58, "--start-days", 10, "--change-rate", 0.1, "--turvakielto-share", 0.06, "--withhold-days", 400)


def set_today():
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def last_run(who):
    """(tila, persons fetched again, change-log rows of the persons `who`) of the last run."""
    row = sql("SELECT tila, ladattuja::int, (SELECT count(*) FROM vtj.muutosloki m WHERE m.ajo = a.ajo "
               "AND m.hetu = ANY ('{" + ",".join(who) + "}'))::int "
               "FROM vtj.ajo a WHERE rekisteri = 'x' AND laji = 'paivita' ORDER BY ajo DESC LIMIT 1", db=DB)[0]
    return [row[0], int(row[1]), int(row[2])]


try:
    eq(mock.state().get("withhold_days"), 400, "the mock withholds persons after their turvaLoppuPv has passed")
    fresh_mirror_db(DB, mock, "x", account="mutpT1x")
    hetus = mock.hetut(N)
    add_members(DB, "x", hetus)
    sql("CALL vtj.lataa_perustiedot('x')", db=DB)
    # Move on until some protections have ended by date (no change record says so).
    expired = []
    for _ in range(12):
        mock.advance(30)
        set_today()
        sql("CALL vtj.paivita('x')", db=DB)
        expired = [h for h in mock.hetut(kind="turvakielto_expired") if h in set(hetus)]
        if len(expired) >= 3:
            break
    ok(len(expired) >= 3, f"members whose turvaLoppuPv has passed ({len(expired)}), still withheld by the interface")
    first = last_run(expired)   # the loop's last run: the first of its day after their end
    ok(first[0] == "ok" and first[1] >= len(expired), f"the day's first run after their end date asks about them "
                                                      f"({first[1]} fetched)")
    sql("CALL vtj.paivita('x')", db=DB)
    again = last_run(expired)
    eq(again, ["ok", 0, 0], "a second run the same day asks about nobody again and logs nothing of them")
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'x' AND sensuroitu AND hetu = ANY ('{"
             + ",".join(expired) + "}')", db=DB), str(len(expired)), "… they stay censored (the interface still withholds)")
    mock.advance(1)
    set_today()
    sql("CALL vtj.paivita('x')", db=DB)
    nxt = last_run(expired)
    ok(nxt[1] >= len(expired) and nxt[2] == 0,
       f"the next day they are asked again ({nxt[1]} fetched), and as nothing of them changed, nothing of them is logged")

    # ---- the change log's retention ------------------------------------------------------------
    eq(value("SELECT sailytysaika FROM vtj.rekisteri WHERE rekisteri = 'x'", db=DB), "90 days",
       "a register keeps its change log 90 days by default")
    n_before = int(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'x'", db=DB))
    ok(n_before > 0, f"the register has change-log rows ({n_before})")
    sql("UPDATE vtj.rekisteri SET sailytysaika = NULL WHERE rekisteri = 'x'", db=DB)
    sql("CALL vtj.paivita('x')", db=DB)
    eq(int(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'x'", db=DB)), n_before,
       "sailytysaika NULL keeps every row")
    sql("UPDATE vtj.rekisteri SET sailytysaika = '1 microsecond' WHERE rekisteri = 'x'", db=DB)
    sql("CALL vtj.paivita('x')", db=DB)
    eq(value("SELECT count(*) FROM vtj.muutosloki WHERE rekisteri = 'x' AND ajo <> "
             "(SELECT max(ajo) FROM vtj.ajo WHERE rekisteri = 'x')", db=DB), "0",
       "a run deletes the rows older than sailytysaika")
    eq(value("SELECT poistettu_lokista FROM vtj.ajo WHERE rekisteri = 'x' ORDER BY ajo DESC LIMIT 1", db=DB), str(n_before),
       "… and its row in vtj.ajo counts them")
    ok(int(value("SELECT poistettu_positio FROM vtj.rekisteri WHERE rekisteri = 'x'", db=DB)) > 0,
       "… and the register remembers up to which position rows are gone (for merge jobs)")
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
