#!/usr/bin/env python3
"""A year of changes in DVV's orders, and the order of a move.

1. 10,000 members, both accounts (the uncensoring mutpT1, so that OUR censorship is what is
   tested, and the censoring mutpT1x), a mock whose changes mix the orders DVV sends (closing
   record first or the new one first, AKTIIVI or PASSIIVI first, context before or after): the
   initial load, then change runs through a year; after each run both registers equal the
   interface's truth for every member.
2. The reported case: a mock that sends every change new-first (the order of DVV's samples).
   After a run, each person who moved, changed postal address or municipality holds exactly the
   new record: in vtj.tieto, in vtj.osoite and in vtj.henkilo."""
import datetime
import json

from mirrorlib import OwnMock, PASSWORD, add_members, compare, expected, fresh_mirror_db, protected
from taplib import done, eq, ok, sql, value

N = 10000


def set_today(db, mock):
    st = mock.state()
    sql(f"ALTER DATABASE {db} SET vtj_testi.tanaan = '{st['present_date']}'", db="postgres")
    return datetime.date.fromisoformat(st["present_date"])


def order_counts(mock, bookmark, hetus, account="mutpT1"):
    """Changes in the window whose new record comes before the closing one of its group, and after."""
    new_first = closing_first = 0
    for i in range(0, len(hetus), 5000):
        b = bookmark
        while True:
            page = mock.call("POST", "/api/v1/muutokset", {"viimeisinKirjausavain": b, "hetulista": hetus[i:i + 5000]},
                             account)
            for ch in page["muutokset"]:
                seen_new = {}
                for g in ch["tietoryhmat"]:
                    t, a = g.get("tietoryhma"), g.get("muutosattribuutti")
                    if a == "LISATTY" and "loppupv" not in g:
                        seen_new[t] = True
                    elif a == "MUUTETTU" and "loppupv" in g:
                        if seen_new.get(t):
                            new_first += 1
                        else:
                            closing_first += 1
            b = page["viimeisinKirjausavain"]
            if page["ajanTasalla"]:
                break
    return new_first, closing_first


# ---- 1. a year, mixed orders, 10,000 members, both accounts --------------------------------------
DB = "vtj_it_mirror_year"
mock = OwnMock(N, 54, "--start-days", 5, "--change-rate", 0.06, "--turvakielto-share", 0.02, timeout=300)
try:
    eq(mock.state().get("order"), "mixed", "the mock mixes DVV's orders (its default)")
    today = fresh_mirror_db(DB, mock, "a")
    sql(f"""CREATE SERVER cens FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '{mock.url}');
            CREATE USER MAPPING FOR CURRENT_USER SERVER cens OPTIONS (username 'mutpT1x', password '{PASSWORD}');
            SELECT vtj.luo_rekisteri('ax', 'cens', 'ASREK');""", db=DB)
    hetus = mock.hetut(N)
    for reg in ("a", "ax"):
        add_members(DB, reg, hetus)
        sql(f"CALL vtj.lataa_perustiedot('{reg}')", db=DB)
    start = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'a'", db=DB))
    days = 0
    for step in (30, 60, 90, 120, 65):
        mock.advance(step)
        days += step
        today = set_today(DB, mock)
        for reg in ("a", "ax"):
            sql(f"CALL vtj.paivita('{reg}')", db=DB)
        cur = mock.hetut(N)
        truth = mock.perustiedot(cur, "mutpT1")
        for reg in ("a", "ax"):
            members = [r[0] for r in sql(f"SELECT hetu FROM vtj.jasen WHERE rekisteri = '{reg}'", db=DB)]
            diffs = compare(DB, reg, "ASREK", truth, today, members)
            ok(not diffs, f"+{days} days: register {reg} ({'mutpT1x' if reg == 'ax' else 'mutpT1'}) equals the truth "
                          f"for all {len(members)} members",
               "\n".join(json.dumps(d, ensure_ascii=False)[:600] for d in diffs[:6]))
    nf, cf = order_counts(mock, start, mock.hetut(N))
    ok(nf > 50 and cf > 50, f"the year's changes came in both orders ({nf} new record first, {cf} closing record first)")
    eq(value("SELECT count(*) FROM vtj.ajo WHERE laji = 'paivita' AND tila <> 'ok'", db=DB), "0", "every run was ok")
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")

# ---- 2. the reported case: a move, a postal-address change, a municipality change, new-first -------
DB = "vtj_it_mirror_newfirst"
mock = OwnMock(3000, 57, "--start-days", 5, "--change-rate", 0.3, "--order", "new-first")
try:
    eq(mock.state().get("order"), "new-first", "a mock that sends the new record first, always")
    today = fresh_mirror_db(DB, mock, "n")
    hetus = mock.hetut(3000)
    add_members(DB, "n", hetus)
    sql("CALL vtj.lataa_perustiedot('n')", db=DB)
    start = int(value("SELECT kirjausavain FROM vtj.rekisteri WHERE rekisteri = 'n'", db=DB))
    mock.advance(60)
    today = set_today(DB, mock)
    sql("CALL vtj.paivita('n')", db=DB)
    # who moved, changed postal address or municipality in the window (new-first: LISATTY, then
    # the old record closed)
    changed = {"VAKINAINEN_KOTIMAINEN_OSOITE": set(), "KOTIMAINEN_POSTIOSOITE": set(), "KOTIKUNTA": set()}
    for h, g in mock.muutokset(start, hetus):
        t = g.get("tietoryhma")
        if t in changed and g.get("muutosattribuutti") == "LISATTY":
            changed[t].add(h)
    cur = mock.hetut(3000)
    truth = mock.perustiedot(cur, "mutpT1")
    members = {r[0] for r in sql("SELECT hetu FROM vtj.jasen WHERE rekisteri = 'n'", db=DB)}
    for t, who in changed.items():
        # (the persons whose hetu was corrected in the window live on under the new one, and the
        # protected ones hold no address: the whole-register comparison below covers both)
        who = sorted(h for h in who if h in truth and h in members and not protected(truth[h], today))
        ok(len(who) >= 5, f"the window has {t} changes sent new-first ({len(who)} persons)")
        bad_tieto, bad_typed = [], []
        for h in who:
            want = expected(truth[h], "ASREK", today).get(t, [])
            got = value(f"SELECT tietueet::text FROM vtj.tieto WHERE rekisteri = 'n' AND hetu = '{h}' AND tietoryhma = '{t}'",
                        db=DB)
            if want and (got is None or json.loads(got) != want):
                bad_tieto.append(h)
            if t == "KOTIKUNTA":
                typed = value(f"SELECT kotikunta FROM vtj.henkilo WHERE rekisteri = 'n' AND hetu = '{h}'", db=DB)
                if want and typed != want[-1]["kuntakoodi"]:
                    bad_typed.append(h)
            else:
                rows = sql(f"SELECT postinumero FROM vtj.osoite WHERE rekisteri = 'n' AND hetu = '{h}' AND laji = '{t}' "
                           "ORDER BY nro", db=DB)
                if want and [r[0] for r in rows] != [w.get("postinumero") for w in want]:
                    bad_typed.append(h)
                if t == "VAKINAINEN_KOTIMAINEN_OSOITE" and want:
                    pn = value(f"SELECT postinumero FROM vtj.henkilo WHERE rekisteri = 'n' AND hetu = '{h}'", db=DB)
                    if pn != want[-1].get("postinumero"):
                        bad_typed.append(h)
        eq(len(bad_tieto), 0, f"{t} sent new-first: vtj.tieto holds exactly the new record for all {len(who)}")
        eq(len(bad_typed), 0, f"… and the typed rows (vtj.{'henkilo' if t == 'KOTIKUNTA' else 'osoite, vtj.henkilo'}) too")
    diffs = compare(DB, "n", "ASREK", truth, today, sorted(members))
    ok(not diffs, "the whole register equals the truth after the new-first window",
       "\n".join(json.dumps(d, ensure_ascii=False)[:600] for d in diffs[:6]))
finally:
    mock.stop()
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
done()
