#!/usr/bin/env python3
"""A change run that fails while reading keeps what it learned about protection.

A person's turvakielto starts in the window; the run reads the page with the TURVAKIELTO and
then meets a malformed page. The run fails (HV00M, bookmark unchanged), but the person is held
censored from then on and what the register held of their censored groups is gone — from
vtj.tieto, vtj.henkilo, vtj.osoite — and the failed run's row counts it. The rerun converges
with the truth."""
import datetime

from mirrorlib import OwnMock, PRODUCTS, add_members, compare, fresh_mirror_db
from taplib import done, eq, ok, sql, sql_error, value

DB = "vtj_it_mirror_failed_read"
N = 1500
mock = OwnMock(N, 59, "--start-days", 5, "--change-rate", 0.3, "--turvakielto-share", 0.02, "--page-size", 20)
CENSORED = PRODUCTS["ASREK"][1]


def set_today():
    st = mock.state()
    sql(f"ALTER DATABASE {DB} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


try:
    fresh_mirror_db(DB, mock, "r")
    # one batch for everyone: the run's first request is the first page of the window
    sql("ALTER SERVER plain OPTIONS (ADD muutokset_batch_size '5000', ADD max_retries '0')", db=DB)
    hetus = mock.hetut(N)
    add_members(DB, "r", hetus)
    sql("CALL vtj.lataa_perustiedot('r')", db=DB)
    # Find a window whose first page starts a turvakielto for someone the mirror holds open,
    # with an address stored.
    victims = []
    for _ in range(20):
        mock.advance(7)
        today = set_today()
        bm = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB))
        members = sorted(r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'r'", db=DB))
        page = mock.call("POST", "/api/v1/muutokset", {"viimeisinKirjausavain": bm, "hetulista": members}, "mutpT1")
        starting = {ch["henkilotunnus"] for ch in page["muutokset"] for g in ch["tietoryhmat"]
                    if g.get("tietoryhma") == "TURVAKIELTO" and g.get("turvakieltoAktiivinen") is True}
        victims = [h for h in sorted(starting)
                   if value(f"SELECT NOT sensuroitu AND EXISTS (SELECT 1 FROM vtj.tieto t WHERE t.rekisteri = 'r' "
                            f"AND t.hetu = j.hetu AND t.tietoryhma = 'VAKINAINEN_KOTIMAINEN_OSOITE') "
                            f"FROM vtj.jasen j WHERE rekisteri = 'r' AND hetu = '{h}'", db=DB) == "t"]
        if victims and not page["ajanTasalla"]:
            break
        sql("CALL vtj.paivita('r')", db=DB)
    ok(victims, f"a window whose first page starts a turvakielto of {len(victims)} open members with an address")
    others = {r[0]: r[1] for r in sql("SELECT hetu, md5(string_agg(tietoryhma || tietueet::text, ',' ORDER BY tietoryhma)) "
                                      "FROM vtj.tieto WHERE rekisteri = 'r' GROUP BY hetu", db=DB) if r[0] not in victims}
    bm0 = value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB)
    mock.clear_requests()
    mock.fault("bad_muutospv", count=2, endpoint="muutokset", skip=1)     # the second page is malformed
    e = sql_error("CALL vtj.paivita('r')", db=DB)
    mock.clear_faults()
    ok(e is not None and e.sqlstate == "HV00M", "the run fails on the malformed second page (HV00M)", e and e.text)
    ok(e is not None and "held censored all the same" in e.text, "… and its hint says what was kept", e and e.text)
    eq(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'r'", db=DB), bm0, "… the bookmark is unchanged")
    vs = "'{" + ",".join(victims) + "}'::text[]"
    eq(value(f"SELECT count(*) FROM vtj.jasen WHERE rekisteri = 'r' AND sensuroitu AND hetu = ANY ({vs})", db=DB),
       str(len(victims)), "the persons whose TURVAKIELTO the failed run read are held censored")
    eq(value(f"SELECT count(*) FROM vtj.tieto WHERE rekisteri = 'r' AND hetu = ANY ({vs}) AND tietoryhma = ANY "
             f"('{{{','.join(CENSORED)}}}')", db=DB), "0", "… none of their censored groups is left in vtj.tieto")
    eq(value(f"SELECT count(*) FROM vtj.osoite WHERE rekisteri = 'r' AND hetu = ANY ({vs}) AND laji = ANY "
             f"('{{{','.join(CENSORED)}}}')", db=DB), "0", "… nor in vtj.osoite")
    eq(value(f"SELECT count(*) FROM vtj.henkilo WHERE rekisteri = 'r' AND hetu = ANY ({vs}) "
             "AND (kotikunta IS NOT NULL OR katuosoite IS NOT NULL OR postinumero IS NOT NULL)", db=DB), "0",
       "… nor in vtj.henkilo")
    row = sql("SELECT tila, sqlstate, sensuroituja::int >= %d FROM vtj.ajo WHERE rekisteri = 'r' ORDER BY ajo DESC LIMIT 1"
              % len(victims), db=DB)
    eq(row, [["virhe", "HV00M", "t"]], "the failed run's row counts the members it held censored")
    now = {r[0]: r[1] for r in sql("SELECT hetu, md5(string_agg(tietoryhma || tietueet::text, ',' ORDER BY tietoryhma)) "
                                   "FROM vtj.tieto WHERE rekisteri = 'r' GROUP BY hetu", db=DB) if r[0] not in victims}
    eq(sorted(h for h in set(now) | set(others) if now.get(h) != others.get(h)), [],
       "nothing else changed: the window's changes were not applied")
    sql("CALL vtj.paivita('r')", db=DB)
    today = set_today()
    members = [r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'r'", db=DB)]
    diffs = compare(DB, "r", "ASREK", mock.perustiedot(mock.hetut(N)), today, members)
    ok(not diffs, f"the rerun converges: the mirror equals the truth for all {len(members)} members", diffs[:5])
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
