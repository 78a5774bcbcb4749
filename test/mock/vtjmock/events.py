"""A person's timeline: the successive states and the change records between
them.

For each scheduled change the generator takes the person's current state,
decides the new state (what happened in the world: a move, a marriage, ...)
and writes the change record the interface would send for it.  The records
are written so that applying them with the rules of change-semantics.md
(apply.py) to the old state gives exactly the new state; the test-suite
checks this for every change of the test populations.

The order of the records inside a change is the interface's choice, not
the world's: DVV's own samples often send the new record before the one
that closes its predecessor, other material the opposite.  `arrange` puts
each change's parts in one of the orders (history.ORDERS; under "mixed" a coin per
change, drawn from a hash of the event so that the content -- addresses,
names, the states -- is the same under every order).  The rules of
change-semantics.md make every order give the same state, and the tests
check it for every change under every order.
"""
import datetime
import random

from . import refdata as R
from .rnd import choice as _choice, randrange as _randrange
from .history import (K_MOVE, K_MOVE_ABROAD, K_RETURN, K_MOVE_REVERT,
                      K_ADDRESS_FIX, K_POSTAL_ADD, K_POSTAL_END, K_POSTAL_CHANGE,
                      K_TEMP_ADD, K_TEMP_END, K_TEMP_ABROAD_ADD, K_TEMP_ABROAD_END,
                      K_SURNAME, K_FIRSTNAME, K_CIVIL, K_DEATH, K_DEATH_UNDO,
                      K_DEATH_DATEFIX, K_HETU_CORR, K_TK_START, K_TK_START_CONTACT,
                      K_TK_START_EXP, K_TK_END, K_CONTACT_CHANGE, K_GUARDIAN_ADD,
                      K_GUARDIAN_END, K_GUARDIAN_MOD, K_LANG, K_ASIOINTIKIELI,
                      K_CITIZEN, K_EDUNV_START, K_VALTUUTUS_START, K_UNKNOWN)
from . import hetu as hetumod
from .population import mix64
from .timeutil import dobj, helsinki_date

VKO = "VAKINAINEN_KOTIMAINEN_OSOITE"
TKO = "TILAPAINEN_KOTIMAINEN_OSOITE"
KPO = "KOTIMAINEN_POSTIOSOITE"
VUO = "VAKINAINEN_ULKOMAINEN_OSOITE"
TUO = "TILAPAINEN_ULKOMAINEN_OSOITE"
UPO = "ULKOMAINEN_POSTIOSOITE"
KK = "KOTIKUNTA"
KYO = "KOTIMAINEN_YHTEYSOSOITE"
UYO = "ULKOMAINEN_YHTEYSOSOITE"
ONE_DAY = datetime.timedelta(days=1)



# ---------------------------------------------------------------- helpers
def att(rec, attr, **extra):
    """A change group: the record with its muutosattribuutti (and extras)."""
    g = {"tietoryhma": rec["tietoryhma"], "muutosattribuutti": attr}
    g.update(rec)
    g.update(extra)
    return g


def ended(rec, d):
    r = dict(rec)
    r["loppupv"] = dobj(d)
    return r


def core(rec):
    return {k: v for k, v in rec.items()
            if k not in ("loppupv", "muutosattribuutti", "voimassaolevatTiedot")}


def same(a, b):
    return core(a) == core(b)


def multi_put(recs, rec):
    """Multi-valued list with rec added, replacing the same record if held."""
    out = list(recs)
    for n, r in enumerate(out):
        if same(r, rec):
            out[n] = rec
            return tuple(out)
    out.append(rec)
    return tuple(out)


def multi_drop(recs, rec):
    return tuple(r for r in recs if not same(r, rec))


def date_of(d):
    return datetime.date.fromisoformat(d["arvo"])


def person_name(st):
    rec = st["HENKILON_NIMI"][0]
    return rec.get("etunimiUTF8", rec["etunimi"]), rec.get("sukunimiUTF8", rec["sukunimi"])


def location_records(st):
    out = []
    for t in R.LOCATION_GROUPS:
        out.extend(st.get(t, ()))
    return out


GUARDIAN_FLAGS = ("huoltosuhteenMuutos", "huollonOikeudenMuutos", "huollonAsumisenMuutos")


def guardian_change(rec, attr, flag, voimassa=None):
    g = att(rec, attr)
    g["lisatytOikeudet"] = []
    g["poistetutOikeudet"] = []
    g["muutetutOikeudet"] = []
    for f in GUARDIAN_FLAGS:
        g[f] = (f == flag)
    if voimassa is not None:
        g["voimassaolevatTiedot"] = list(voimassa)
    return g


def arrange(ctx, closing, new, other=(), context=()):
    """The records of one change in the order chosen for it.  `closing`:
    records that end, remove or stand for the old state (MUUTETTU+loppupv,
    POISTETTU, the record with voimassaolevatTiedot, a hetu correction's
    PASSIIVI); `new`: the records that start (LISATTY, KORJATTU, a
    KORJATTAVA/KORJATTU pair -- the pair itself always in that order, the
    interface pairs a KORJATTAVA with the KORJATTU after it); `other`:
    records of further groups, after those; `context`: LISATIETO."""
    body = list(new) + list(closing) if ctx.new_first else list(closing) + list(new)
    body += other
    return body + list(context) if ctx.context_after else list(context) + body


# ---------------------------------------------------------------- generators
# Each takes (ctx, st, rng, d) -> (groups, new_state); d = date of the change.

def g_move(ctx, st, rng, d):
    pop = ctx.pop
    old = st[VKO][0]
    old_kk = st[KK][0]
    alku = max(d - datetime.timedelta(days=_randrange(rng, 15)), date_of(old["alkupv"]) + ONE_DAY)
    if rng.random() < 0.6:
        muni = R.MUNI_BY_CODE[old["kuntakoodi"]]
    else:
        muni = pop.pick_municipality(rng)
    new = pop.make_address(rng, VKO, alku, muni)
    st = dict(st)
    st[VKO] = (new,)
    other, context = [], []
    if muni[0] != old_kk["kuntakoodi"]:
        kk = pop.kotikunta(muni[0], alku)
        other.append(att(kk, "LISATTY"))
        st[KK] = (kk,)
    else:
        context.append(att(old_kk, "LISATIETO"))
    ctx.revert = (old, old_kk, alku)
    return arrange(ctx, [att(ended(old, alku - ONE_DAY), "MUUTETTU")], [att(new, "LISATTY")],
                   other, context), st


def g_move_abroad(ctx, st, rng, d):
    pop = ctx.pop
    old = st[VKO][0]
    alku = max(d - datetime.timedelta(days=_randrange(rng, 20)), date_of(old["alkupv"]) + ONE_DAY)
    closing = [att(ended(old, alku - ONE_DAY), "MUUTETTU")]
    for t in (TKO, TUO):
        for r in st.get(t, ()):
            closing.append(att(ended(r, alku - ONE_DAY), "MUUTETTU"))
    for r in st.get(KPO, ()):
        closing.append(att(ended(r, alku - ONE_DAY), "MUUTETTU"))
    closing.append(att(st[KK][0], "POISTETTU"))
    new = pop.make_foreign(rng, VUO, alku)
    groups = arrange(ctx, closing, [att(new, "LISATTY")])
    st = {k: v for k, v in st.items() if k not in (VKO, TKO, TUO, KPO, KK)}
    st[VUO] = (new,)
    ctx.revert = None
    return groups, st


def g_return(ctx, st, rng, d):
    pop = ctx.pop
    old = st[VUO][0]
    alku = max(d - datetime.timedelta(days=_randrange(rng, 10)), date_of(old["alkupv"]) + ONE_DAY)
    closing = [att(ended(old, alku - ONE_DAY), "MUUTETTU")]
    for r in st.get(UPO, ()):
        closing.append(att(ended(r, alku - ONE_DAY), "MUUTETTU"))
    muni = pop.pick_municipality(rng)
    new = pop.make_address(rng, VKO, alku, muni)
    kk = pop.kotikunta(muni[0], alku)
    groups = arrange(ctx, closing, [att(new, "LISATTY"), att(kk, "LISATTY")])
    st = {k: v for k, v in st.items() if k not in (VUO, UPO)}
    st[VKO] = (new,)
    st[KK] = (kk,)
    ctx.revert = None
    return groups, st


def g_move_revert(ctx, st, rng, d):
    """A registered move is withdrawn: the wrong address and municipality are
    removed and the previous ones are valid again (POISTETTU with
    voimassaolevatTiedot, and the old address un-ended via KORJATTAVA/KORJATTU,
    the records of DVV's sample; the POISTETTU before or after the pair)."""
    prev, prev_kk, wrong_alku = ctx.revert
    wrong = st[VKO][0]
    wrong_kk = st[KK][0]
    closing = [att(wrong, "POISTETTU", voimassaolevatTiedot=[prev])]
    if wrong_kk != prev_kk:
        closing.append(att(wrong_kk, "POISTETTU", voimassaolevatTiedot=[prev_kk]))
    groups = arrange(ctx, closing, [att(ended(prev, wrong_alku - ONE_DAY), "KORJATTAVA"),
                                    att(prev, "KORJATTU")],
                     context=[att(prev_kk, "LISATIETO")])
    st = dict(st)
    st[VKO] = (prev,)
    st[KK] = (prev_kk,)
    ctx.revert = None
    return groups, st


def g_address_fix(ctx, st, rng, d):
    cur = st[VKO][0]
    fixed = dict(cur)
    if "huoneistonumero" in cur and rng.random() < 0.7:
        n = int(cur["huoneistonumero"])
        fixed["huoneistonumero"] = "%03d" % (n + 1 if n < 120 else n - 1)
    else:
        fixed["katunumero"] = str(int("".join(c for c in cur["katunumero"].split("-")[0]
                                            if c.isdigit()) or "1") + 1)
    groups = [att(cur, "KORJATTAVA"), att(fixed, "KORJATTU")]
    st = dict(st)
    st[VKO] = (fixed,)
    ctx.revert = None
    return groups, st


def g_postal_add(ctx, st, rng, d):
    rec = ctx.pop.make_postal(rng, d)
    st = dict(st)
    st[KPO] = (rec,)
    return [att(rec, "LISATTY")], st


def g_postal_end(ctx, st, rng, d):
    old = st[KPO][0]
    st = dict(st)
    del st[KPO]
    return [att(ended(old, d), "MUUTETTU")], st


def g_postal_change(ctx, st, rng, d):
    old = st[KPO][0]
    alku = max(d, date_of(old["alkupv"]) + ONE_DAY)
    new = ctx.pop.make_postal(rng, alku)
    st = dict(st)
    st[KPO] = (new,)
    return arrange(ctx, [att(ended(old, alku - ONE_DAY), "MUUTETTU")], [att(new, "LISATTY")]), st


def g_temp_add(ctx, st, rng, d, t=TKO):
    if t == TKO:
        rec = ctx.pop.make_address(rng, TKO, d)
    else:
        rec = ctx.pop.make_foreign(rng, TUO, d)
    st = dict(st)
    st[t] = multi_put(st.get(t, ()), rec)
    return [att(rec, "LISATTY")], st


def g_temp_end(ctx, st, rng, d, t=TKO):
    old = st[t][-1]
    st = dict(st)
    rest = multi_drop(st[t], old)
    if rest:
        st[t] = rest
    else:
        del st[t]
    return [att(ended(old, max(d, date_of(old["alkupv"]))), "MUUTETTU")], st


def _name_change(ctx, st, rng, d, current_kind, previous_kind, new_etu, new_suku):
    """HENKILON_NIMI MUUTETTU + NIMENMUUTOS bookkeeping (shared by first-name
    and surname changes): (closing records, new records, state)."""
    pop = ctx.pop
    etu, suku = person_name(st)
    old_value = suku if current_kind == "NYKYINEN_SUKUNIMI" else etu
    new_value = new_suku if current_kind == "NYKYINEN_SUKUNIMI" else new_etu
    nm = st.get("NIMENMUUTOS", ())
    name = pop.name_record(new_etu, new_suku, d)
    closing = []
    for r in nm:
        if r["nimilaji"] == current_kind:
            closing.append(att(ended(r, d - ONE_DAY), "MUUTETTU"))
            nm = multi_drop(nm, r)
    prev = pop.nimenmuutos(previous_kind, old_value, loppu=d - ONE_DAY)
    cur = pop.nimenmuutos(current_kind, new_value, alku=d)
    new = [att(name, "MUUTETTU"), att(prev, "LISATTY"), att(cur, "LISATTY")]
    nm = multi_put(nm, prev)
    nm = multi_put(nm, cur)
    st = dict(st)
    st["HENKILON_NIMI"] = (name,)
    st["NIMENMUUTOS"] = nm
    return closing, new, st


def g_surname(ctx, st, rng, d):
    etu, suku = person_name(st)
    new = suku
    while new == suku:
        new = _choice(rng, R.SURNAMES + R.FOREIGN_SURNAMES[:3])
    if rng.random() < 0.15:
        new = suku + "-" + new      # double-barrelled
    closing, new_recs, st = _name_change(ctx, st, rng, d, "NYKYINEN_SUKUNIMI", "EDELLINEN_SUKUNIMI",
                                         etu, new)
    cur = st["SIVIILISAATY"][0]["siviilisaaty"]
    status = "ERONNUT" if cur == "AVIOLIITOSSA" else "AVIOLIITOSSA"
    rec = {"tietoryhma": "SIVIILISAATY", "siviilisaaty": status}
    st["SIVIILISAATY"] = (rec,)
    return arrange(ctx, closing, new_recs, [att(rec, "MUUTETTU")]), st


def g_firstname(ctx, st, rng, d):
    etu, suku = person_name(st)
    male = st["SUKUPUOLI"][0]["sukupuoli"] == "MIES"
    names = etu.split(" ")
    pool = R.FIRST_MALE if male else R.FIRST_FEMALE
    extra = _choice(rng, [n for n in pool if n not in names])
    if len(names) > 1 and rng.random() < 0.4:
        new = " ".join(names[1:] + [names[0]])        # another call name first
    else:
        new = " ".join(names + [extra])
    closing, new_recs, st = _name_change(ctx, st, rng, d, "NYKYINEN_ETUNIMI", "EDELLINEN_ETUNIMI",
                                         new, suku)
    return arrange(ctx, closing, new_recs), st


def g_civil(ctx, st, rng, d):
    cur = st["SIVIILISAATY"][0]["siviilisaaty"]
    choices = [s for s in ("AVIOLIITOSSA", "ERONNUT", "LESKI", "ASUMUSEROSSA",
                           "REKISTEROIDYSSA_PARISUHTEESSA") if s != cur]
    rec = {"tietoryhma": "SIVIILISAATY", "siviilisaaty": _choice(rng, choices)}
    st = dict(st)
    st["SIVIILISAATY"] = (rec,)
    return [att(rec, "MUUTETTU")], st


def g_death(ctx, st, rng, d):
    died = d - datetime.timedelta(days=_randrange(rng, 7))
    rec = {"tietoryhma": "KUOLINPAIVA", "kuollut": True, "kuolinpv": dobj(died)}
    st = dict(st)
    st["KUOLINPAIVA"] = (rec,)
    return [att(rec, "LISATTY")], st


def g_death_undo(ctx, st, rng, d):
    cur = st["KUOLINPAIVA"][0]
    rec = {"tietoryhma": "KUOLINPAIVA", "kuollut": False}
    st = dict(st)
    st["KUOLINPAIVA"] = (rec,)
    return [att(cur, "KORJATTAVA"), att(rec, "KORJATTU")], st


def g_death_datefix(ctx, st, rng, d):
    cur = st["KUOLINPAIVA"][0]
    died = date_of(cur["kuolinpv"]) - datetime.timedelta(days=1 + _randrange(rng, 30))
    rec = {"tietoryhma": "KUOLINPAIVA", "kuollut": True, "kuolinpv": dobj(died)}
    st = dict(st)
    st["KUOLINPAIVA"] = (rec,)
    return [att(cur, "KORJATTAVA"), att(rec, "KORJATTU")], st


def g_hetu_corr(ctx, st, rng, d):
    """Sent under the old hetu: PASSIIVI (old) and AKTIIVI (new) in either
    order (DVV's sample has AKTIIVI first); rule 8 keeps the AKTIIVI record
    as the single HENKILOTUNNUS_KORJAUS either way."""
    old = ctx.hetu
    new = ctx.param
    prev = list(st["HENKILOTUNNUS_KORJAUS"][0].get("edellisetHenkilotunnukset", []))
    edelliset = prev + [old]
    passive = {"tietoryhma": "HENKILOTUNNUS_KORJAUS", "voimassaolo": "PASSIIVI",
               "muutettuHenkilotunnus": old, "aktiivinenHenkilotunnus": new,
               "edellisetHenkilotunnukset": edelliset}
    active = {"tietoryhma": "HENKILOTUNNUS_KORJAUS", "voimassaolo": "AKTIIVI",
              "muutettuHenkilotunnus": new, "aktiivinenHenkilotunnus": new,
              "edellisetHenkilotunnukset": list(edelliset)}
    context = [att(st["HENKILON_NIMI"][0], "LISATIETO")]
    other = []
    st = dict(st)
    st["HENKILOTUNNUS_KORJAUS"] = (active,)
    ob, _m, onnn = hetumod.parse(old)
    nb, _m, nnnn = hetumod.parse(new)
    if ob != nb:
        rec = {"tietoryhma": "SYNTYMAPAIVA", "syntymapv": dobj(nb)}
        other.append(att(rec, "MUUTETTU"))
        st["SYNTYMAPAIVA"] = (rec,)
    if onnn % 2 != nnnn % 2:
        rec = {"tietoryhma": "SUKUPUOLI", "sukupuoli": "MIES" if nnnn % 2 else "NAINEN"}
        other.append(att(rec, "MUUTETTU"))
        st["SUKUPUOLI"] = (rec,)
    ctx.hetu = new
    return arrange(ctx, [att(passive, "MUUTETTU")], [att(active, "LISATTY")], other, context), st


def _tk_start(ctx, st, rng, d, end=None, contact=False):
    tk = {"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": True}
    if end is not None:
        tk["turvaLoppuPv"] = dobj(end)
    new = [att(tk, "LISATTY")]
    context = [att(r, "LISATIETO") for r in location_records(st)]
    st = dict(st)
    st["TURVAKIELTO"] = (tk,)
    if contact:
        rec = ctx.pop.make_contact(rng, VUO in st, d)
        new.append(att(rec, "LISATTY"))
        st.pop(KYO, None)
        st.pop(UYO, None)
        st[rec["tietoryhma"]] = (rec,)
    return arrange(ctx, (), new, context=context), st


def g_tk_start(ctx, st, rng, d):
    return _tk_start(ctx, st, rng, d)


def g_tk_start_contact(ctx, st, rng, d):
    return _tk_start(ctx, st, rng, d, contact=True)


def g_tk_start_exp(ctx, st, rng, d):
    return _tk_start(ctx, st, rng, d, end=datetime.date.fromordinal(ctx.param))


def g_tk_end(ctx, st, rng, d):
    """Protection ends: the flag changes and the location groups are sent
    again (they become visible on the censoring account)."""
    tk = {"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": False, "turvaLoppuPv": dobj(d)}
    st = dict(st)
    closing = []
    for t in (KYO, UYO):
        for r in st.pop(t, ()):
            closing.append(att(ended(r, max(d, date_of(r["alkupv"]))), "MUUTETTU"))
    resent = [att(r, "LISATTY") for r in location_records(st)]
    st["TURVAKIELTO"] = (tk,)
    return arrange(ctx, closing, [att(tk, "MUUTETTU")], resent), st


def g_contact_change(ctx, st, rng, d):
    t = KYO if KYO in st else UYO
    old = st[t][0]
    alku = max(d, date_of(old["alkupv"]) + ONE_DAY)
    new = ctx.pop.make_contact(rng, t == UYO, alku)
    st = dict(st)
    del st[t]
    st[new["tietoryhma"]] = (new,)
    return arrange(ctx, [att(ended(old, alku - ONE_DAY), "MUUTETTU")], [att(new, "LISATTY")]), st


def _child_born(st):
    return date_of(st["SYNTYMAPAIVA"][0]["syntymapv"])


def g_guardian_add(ctx, st, rng, d):
    cur = st.get("HUOLTAJA", ())
    roles = [r["huoltajanRooli"] for r in cur]
    role = "ISA" if "ISA" not in roles else "MUU_HUOLTAJA"
    laji = "LAKISAATEINEN_HUOLTAJA" if role == "ISA" else "MAARATTY_HUOLTAJA"
    new = ctx.pop.guardian_record(rng, _child_born(st), person_name(st)[1], role, laji, alku=d,
                                  foreign=rng.random() < 0.05)
    after = cur + (new,)
    st = dict(st)
    st["HUOLTAJA"] = after
    return [guardian_change(new, "LISATTY", "huoltosuhteenMuutos", voimassa=after)], st


def g_guardian_end(ctx, st, rng, d):
    cur = st["HUOLTAJA"]
    k = _randrange(rng, len(cur))
    gone = dict(cur[k])
    gone["huoltosuhteenLoppupv"] = dobj(d)
    after = cur[:k] + cur[k + 1:]
    st = dict(st)
    st["HUOLTAJA"] = after
    return [guardian_change(gone, "MUUTETTU", "huoltosuhteenMuutos", voimassa=after)], st


def g_guardian_mod(ctx, st, rng, d):
    """Living arrangement decided: new version LISATTY, old version MUUTETTU
    with the valid records (DVV's sample sends the LISATTY first)."""
    cur = st["HUOLTAJA"]
    k = _randrange(rng, len(cur))
    old = cur[k]
    new = dict(old)
    new["asuminen"] = "AIDIN_LUONA" if old["huoltajanRooli"] != "ISA" else "ISAN_LUONA"
    new["asumisenAlkupv"] = dobj(d)
    new["asumisenLoppupv"] = old["huoltosuhteenLoppupv"]
    after = cur[:k] + (new,) + cur[k + 1:]
    st = dict(st)
    st["HUOLTAJA"] = after
    # the change-only fields ride on the record with voimassaolevatTiedot
    # only: on the LISATTY they would become part of the stored record
    # whenever it comes after that one
    return arrange(ctx, [guardian_change(old, "MUUTETTU", "huollonAsumisenMuutos", voimassa=after)],
                   [att(new, "LISATTY")]), st


def g_lang(ctx, st, rng, d):
    old = st["AIDINKIELI"][0]
    code = _choice(rng, [c for c in ("fi", "sv", "en", "ru") if c != old["kielikoodi"]])
    alku = max(d, date_of(old["alkupv"]) + ONE_DAY)
    new = ctx.pop.language(code, alku)
    st = dict(st)
    st["AIDINKIELI"] = (new,)
    return arrange(ctx, [att(ended(old, alku - ONE_DAY), "MUUTETTU")], [att(new, "LISATTY")]), st


def g_asiointikieli(ctx, st, rng, d):
    old = st["ASIOINTIKIELI"][0]
    new = ctx.pop.asiointikieli("sv" if old["kielikoodi"] == "fi" else "fi", d)
    st = dict(st)
    st["ASIOINTIKIELI"] = (new,)
    return [att(new, "MUUTETTU")], st


def g_citizen(ctx, st, rng, d):
    """A citizenship acquired; or, for a person who already holds every
    citizenship on offer, one given up.  The scheduler counts no
    citizenships (the kind stays eligible, weight 8 for immigrants), so at
    high change rates a person reaches the end of the list."""
    items = list(st["KANSALAISUUS"][0]["henkilonKansalaisuudet"])
    have = {x["kansalaisuuskoodi"] for x in items}
    free = [c for c in ("752", "233", "578", "840") if c not in have]
    if "246" in have and not free:
        foreign = [x for x in items if x["kansalaisuuskoodi"] != "246"]
        gone = _choice(rng, foreign)
        lost = dict(gone, voimassaolo="PASSIIVI", menetyspv=dobj(d))
        rec = {"tietoryhma": "KANSALAISUUS", "henkilonKansalaisuudet": [x for x in items if x is not gone]}
        g = att(rec, "MUUTETTU", lisatytKansalaisuudet=[], muutetutKansalaisuudet=[],
                poistetutKansalaisuudet=[lost], voimassaolevatTiedot=[rec])
        st = dict(st)
        st["KANSALAISUUS"] = (rec,)
        return [g], st
    code = "246" if "246" not in have else _choice(rng, free)
    added = {"kansalaisuuskoodi": code, "voimassaolo": "AKTIIVI", "saamispv": dobj(d)}
    rec = {"tietoryhma": "KANSALAISUUS", "henkilonKansalaisuudet": items + [added]}
    g = att(rec, "MUUTETTU", lisatytKansalaisuudet=[added], muutetutKansalaisuudet=[],
            poistetutKansalaisuudet=[], voimassaolevatTiedot=[rec])
    st = dict(st)
    st["KANSALAISUUS"] = (rec,)
    return [g], st


def g_edunv_start(ctx, st, rng, d):
    rec = ctx.pop.edunvalvonta_record(rng, d)
    st = dict(st)
    st["EDUNVALVONTA"] = multi_put(st.get("EDUNVALVONTA", ()), rec)
    return [att(rec, "LISATTY")], st


def g_valtuutus_start(ctx, st, rng, d):
    rec = ctx.pop.valtuutus_record(rng, d, person_name(st)[1])
    st = dict(st)
    st["EDUNVALVONTAVALTUUTUS"] = multi_put(st.get("EDUNVALVONTAVALTUUTUS", ()), rec)
    return [att(rec, "LISATTY")], st


def g_unknown(ctx, st, rng, d):
    """A group type no client knows yet, with fields nobody documented."""
    t = "TULEVAISUUDEN_TIETORYHMA" if rng.random() < 0.7 else "KOKEELLINEN_TIETORYHMA"
    rec = {"tietoryhma": t, "uusiKentta": "arvo-%d" % _randrange(rng, 1000),
           "luku": _randrange(rng, 1, 10 ** 6), "tosi": rng.random() < 0.5,
           "alkupv": dobj(d), "sisakkainen": {"lista": [1, 2, 3], "teksti": "äöå ÄÖÅ"}}
    st = dict(st)
    st[t] = (rec,)
    return [att(rec, "LISATTY")], st


GENERATORS = {
    K_MOVE: g_move, K_MOVE_ABROAD: g_move_abroad, K_RETURN: g_return,
    K_MOVE_REVERT: g_move_revert, K_ADDRESS_FIX: g_address_fix,
    K_POSTAL_ADD: g_postal_add, K_POSTAL_END: g_postal_end,
    K_POSTAL_CHANGE: g_postal_change, K_TEMP_ADD: g_temp_add,
    K_TEMP_END: g_temp_end,
    K_TEMP_ABROAD_ADD: lambda c, s, r, d: g_temp_add(c, s, r, d, TUO),
    K_TEMP_ABROAD_END: lambda c, s, r, d: g_temp_end(c, s, r, d, TUO),
    K_SURNAME: g_surname, K_FIRSTNAME: g_firstname, K_CIVIL: g_civil,
    K_DEATH: g_death, K_DEATH_UNDO: g_death_undo, K_DEATH_DATEFIX: g_death_datefix,
    K_HETU_CORR: g_hetu_corr, K_TK_START: g_tk_start,
    K_TK_START_CONTACT: g_tk_start_contact, K_TK_START_EXP: g_tk_start_exp,
    K_TK_END: g_tk_end, K_CONTACT_CHANGE: g_contact_change,
    K_GUARDIAN_ADD: g_guardian_add, K_GUARDIAN_END: g_guardian_end,
    K_GUARDIAN_MOD: g_guardian_mod, K_LANG: g_lang, K_ASIOINTIKIELI: g_asiointikieli,
    K_CITIZEN: g_citizen, K_EDUNV_START: g_edunv_start,
    K_VALTUUTUS_START: g_valtuutus_start, K_UNKNOWN: g_unknown,
}


class _Ctx:
    __slots__ = ("pop", "hetu", "revert", "param", "new_first", "context_after")

    def __init__(self, pop, hetu):
        self.pop = pop
        self.hetu = hetu
        self.revert = None
        self.param = None
        self.new_first = False
        self.context_after = False


class Step:
    """One change of a person: event index, the hetu it is filed under, the
    change groups (with muutosattribuutti) and the state after it."""
    __slots__ = ("e", "hetu", "groups", "state")

    def __init__(self, e, hetu, groups, state):
        self.e = e
        self.hetu = hetu
        self.groups = groups
        self.state = state


def timeline(pop, hist, i, upto=None):
    """(initial state, [Step, ...]) for person i, for its first `upto` events
    (all when None).  Generators never mutate a state, so the initial state
    and every Step.state stay valid."""
    st = initial = pop.initial_state(i, (hist.init_f1[i], hist.init_f2[i],
                                         hist.prot_end0.get(i, 0)))
    ctx = _Ctx(pop, pop.hetus[i])
    steps = []
    evs = hist.events_of(i)
    if upto is not None:
        evs = evs[:upto]
    seed = pop.seed
    mixed = hist.order == "mixed"
    if not mixed:
        ctx.new_first = ctx.context_after = hist.order == "new-first"
    # the order coins come from their own hash of the event, not from the
    # event's random stream: the content is the same under every --order
    order_key = mix64(seed * 0x3C6EF372 + 0x6F72646572)
    for e in evs:
        kind = hist.ev_kind[e]
        ctx.param = hist.ev_param.get(e)
        if mixed:
            coins = mix64(order_key ^ e)
            ctx.new_first = bool(coins & 1)
            ctx.context_after = bool(coins & 2)
        rng = random.Random(mix64((seed * 0x2F0B3) ^ (e * 0x9E37) ^ 0x1234567))
        d = helsinki_date(hist.ev_ms[e])
        hetu_before = ctx.hetu
        groups, st = GENERATORS[kind](ctx, st, rng, d)
        steps.append(Step(e, hetu_before, groups, st))
    return initial, steps
