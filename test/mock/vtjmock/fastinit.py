"""Fast path: a person's initial /perustiedot record as JSON bytes, written
directly from the person's random stream without building the state dicts.

This mirrors `Population.initial_state` (+ `render.person_bytes`) call for
call on the same random stream, so the bytes are identical; it exists
because start-up renders every person's record (a million of them) and the
dict path costs ~70 µs a person against ~20 µs here.  Rare branches reuse the
Population helpers (and the JSON encoder) on the same stream; the rarest ones
(protected persons, persons who died before the history, inactive
protection orders) are left to the dict path: `initial_bytes` returns None.

tests/test_generator.py checks byte equality with the dict path for every
person of several populations: change `initial_state` and this together.
"""
import datetime
from json.encoder import encode_basestring as _q

from . import refdata as R
from . import hetu as hetumod
from .population import (C_HIST_DEAD, C_IMMIGRANT, F_ABROAD, F_PROT, F_TEMP, F_POSTAL,
                         G_TEMP_ABROAD, G_FPOSTAL, G_EDUNV, G_VALTUUTUS, G_TWO_GUARD, G_GUARDED,
                         add_years, needs_utf8, plain_name, years_between)
from .render import dumps

_fromordinal = datetime.date.fromordinal
_D30 = datetime.timedelta(days=30)
_D1 = datetime.timedelta(days=1)

# names come from finite lists (first names joined by spaces): memoise the
# (plain, utf8-needed) facts of each string seen
_NAME = {}


def _name_facts(s):
    f = _NAME.get(s)
    if f is None:
        p = plain_name(s)
        f = _NAME[s] = (_q(p), needs_utf8(s), _q(s), p)
    return f


def _d(d):
    return '{"arvo":"%s","tarkkuus":"PAIVA"}' % d.isoformat()


def _dp(d, tarkkuus):
    if tarkkuus == "KUUKAUSI":
        d = d.replace(day=1)
    elif tarkkuus == "VUOSI":
        d = d.replace(month=1, day=1)
    return '{"arvo":"%s","tarkkuus":"%s"}' % (d.isoformat(), tarkkuus)


_SUKUPUOLI = {True: '{"tietoryhma":"SUKUPUOLI","sukupuoli":"MIES"}',
              False: '{"tietoryhma":"SUKUPUOLI","sukupuoli":"NAINEN"}'}
_LANG = {code: (v[0]) for code, v in R.LANGUAGES.items()}
_STREETS_SV = [(_q(sv), _q(fi)) for sv, fi in R.STREETS_SV]
_STREETS_BI = [(_q(fi), _q(sv)) for fi, sv in R.STREETS_BILINGUAL]
_STREETS_FI = [_q(fi) for fi in R.STREETS_FI]
_MUNI = {}
for _m in R.MUNICIPALITIES:
    _code, _kfi, _ksv, _w, _pfi, _psv, _codes, _prof = _m
    _MUNI[_code] = ([_q(c) for c in _codes],
                    '{"fi":%s}' % _q(_pfi),
                    '{"fi":%s,"sv":%s}' % (_q(_pfi), _q(_psv)),
                    _q(_code))


def _names(random, below, male, immigrant):
    """Population.names: (first names, surname), drawing in the same order."""
    if immigrant and random() < 0.8:
        firsts = R.FOREIGN_FIRST_MALE if male else R.FOREIGN_FIRST_FEMALE
        k = 1 if random() < 0.6 else 2
        sl = R.FOREIGN_SURNAMES
    else:
        firsts = R.FIRST_MALE if male else R.FIRST_FEMALE
        k = 1 + (random() < 0.8) + (random() < 0.3)
        sl = R.SURNAMES
    suku = sl[below(len(sl))]
    chosen = []
    nf = len(firsts)
    while len(chosen) < k:
        n = firsts[below(nf)]
        if n not in chosen:
            chosen.append(n)
    return " ".join(chosen), suku


def initial_bytes(pop, hist, i):
    """Plain (uncensored) record bytes of person i's initial state, or None
    when the person takes a branch this path leaves to the dict path."""
    c = pop.cat[i]
    if c & C_HIST_DEAD:
        return None
    f1 = hist.init_f1[i]
    if f1 & F_PROT:
        return None
    f2 = hist.init_f2[i]
    rng = pop.person_rng(i)
    random = rng.random
    getrandbits = rng.getrandbits

    def below(n):
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    h = pop.hetus[i]
    born = _fromordinal(pop.birth_ord[i])
    start = pop.start
    male = int(h[7:10]) % 2 == 1
    immigrant = bool(c & C_IMMIGRANT)
    age = years_between(born, start)
    qh = '"%s"' % h
    out = ['{"henkilotunnus":', qh, ',"tietoryhmat":[{"tietoryhma":"HENKILOTUNNUS_KORJAUS",'
           '"voimassaolo":"AKTIIVI","muutettuHenkilotunnus":', qh,
           ',"aktiivinenHenkilotunnus":', qh, ',"edellisetHenkilotunnukset":[]}']
    ap = out.append

    # --- names (Population.names)
    etu, suku = _names(random, below, male, immigrant)
    nm = None
    name_alku = born if random() < 0.6 else None
    if not male and age >= 25 and not immigrant and random() < 0.45:
        sl = R.SURNAMES
        maiden = sl[below(len(sl))]
        if maiden != suku:
            wed = add_years(born, 22 + below(max(1, min(age - 21, 30))))
            wed = _fromordinal(wed.toordinal() + below(300))
            if wed >= start:
                wed = start - _D30
            prec = "VUOSI" if wed.year < 1975 else ("KUUKAUSI" if wed.year < 1990 else "PAIVA")
            nm = (pop.nimenmuutos("NYKYINEN_SUKUNIMI", suku, alku=wed, tarkkuus=prec),
                  pop.nimenmuutos("EDELLINEN_SUKUNIMI", maiden, loppu=wed - _D1, tarkkuus=prec))
            name_alku = wed
    pe, ue, qe, _pe = _name_facts(etu)
    ps, us, qs, plain_suku = _name_facts(suku)
    ap(',{"tietoryhma":"HENKILON_NIMI","etunimi":%s,"sukunimi":%s' % (pe, ps))
    if ue or us:
        ap(',"etunimiUTF8":%s,"sukunimiUTF8":%s' % (qe, qs))
    if name_alku is not None:
        ap(',"alkupv":%s}' % _d(name_alku))
    else:
        ap("}")
    if nm is not None:
        ap(",")
        ap(dumps(nm[0]).decode())
        ap(",")
        ap(dumps(nm[1]).decode())
    ap(",")
    ap(_SUKUPUOLI[male])
    prec = "PAIVA"
    if immigrant and born.day == 1:
        prec = "VUOSI" if born.month == 1 else "KUUKAUSI"
    ap(',{"tietoryhma":"SYNTYMAPAIVA","syntymapv":%s}' % (
        _d(born) if prec == "PAIVA" else _dp(born, prec)))
    # --- civil status
    if age < 18:
        sv_ = "NAIMATON"
    elif immigrant and random() < 0.3:
        sv_ = "EI_TIETOA"
    elif nm:
        sv_ = _CIVIL_NM[below(8)]
    else:
        r = random()
        sv_ = ("NAIMATON" if r < 0.42 else "AVIOLIITOSSA" if r < 0.80 else
               "ERONNUT" if r < 0.93 else "LESKI" if r < 0.995 else
               "REKISTEROIDYSSA_PARISUHTEESSA")
    ap(',{"tietoryhma":"SIVIILISAATY","siviilisaaty":"%s"}' % sv_)
    # --- citizenship and languages
    if immigrant:
        cl = R.CITIZENSHIPS
        cz = cl[below(len(cl))]
        items = '[{"kansalaisuuskoodi":%s,"voimassaolo":"AKTIIVI"}' % _q(cz)
        if age > 10 and random() < 0.3:
            items += (',{"kansalaisuuskoodi":"246","voimassaolo":"AKTIIVI","saamispv":%s}'
                      % _d(start - datetime.timedelta(days=200 + below(3800))))
        items += "]"
        lang = _IMM_LANGS[below(10)]
    else:
        items = '[{"kansalaisuuskoodi":"246","voimassaolo":"AKTIIVI"}]'
        r = random()
        lang = "fi" if r < 0.90 else ("sv" if r < 0.998 else "se")
    ap(',{"tietoryhma":"KANSALAISUUS","henkilonKansalaisuudet":%s}' % items)
    db = _d(born)
    if immigrant and random() < 0.02:
        ap(',{"tietoryhma":"AIDINKIELI","kielikoodi":"98","nimi":"tigrinja","alkupv":%s}' % db)
    else:
        ap(',{"tietoryhma":"AIDINKIELI","kielikoodi":"%s","kielikoodiISO6392":"%s","alkupv":%s}'
           % (lang, _LANG[lang], db))
    if lang == "sv":
        ap(',{"tietoryhma":"ASIOINTIKIELI","kielikoodi":"sv","kielikoodiISO6392":"swe","alkupv":%s}' % db)
    else:
        ap(',{"tietoryhma":"ASIOINTIKIELI","kielikoodi":"fi","kielikoodiISO6392":"fin","alkupv":%s}' % db)
    # --- protection order: F_PROT left to the dict path above
    if random() < pop.turvakielto_share * 0.3:
        return None
    # --- residence (Population._initial_residence with until = start)
    lo = max(born.toordinal(), start.toordinal() - 25 * 365)
    span = max(1, start.toordinal() - lo - 1)
    alku = _fromordinal(lo + below(span))
    if f1 & F_ABROAD:
        ap(",")
        ap(dumps(pop.make_foreign(rng, "VAKINAINEN_ULKOMAINEN_OSOITE", alku)).decode())
        if f2 & G_FPOSTAL:
            ap(",")
            ap(dumps(pop.make_foreign_postal(rng, alku)).decode())
        kk = None
    else:
        x = random() * pop._muni_total
        muni = R.MUNICIPALITIES[_bisect_right(pop._muni_cum, x)]
        ap(",")
        ap(_address(random, below, "VAKINAINEN_KOTIMAINEN_OSOITE", alku, muni))
        kk_span = max(1, alku.toordinal() - lo)
        kk_alku = _fromordinal(alku.toordinal() - (below(kk_span) if random() < 0.4 else 0))
        dk = _d(kk_alku)
        kk = ',{"tietoryhma":"KOTIKUNTA","kuntakoodi":"%s","kuntaanMuuttopv":%s,"kuntaanMuuttoPv":%s}' % (
            muni[0], dk, dk)
        tko = tuo = kpo = None
        if f1 & F_TEMP:
            t_alku = _fromordinal(start.toordinal() - 1 - below(400))
            tko = dumps(pop.make_address(rng, "TILAPAINEN_KOTIMAINEN_OSOITE", max(t_alku, alku))).decode()
        if f2 & G_TEMP_ABROAD:
            t_alku = _fromordinal(start.toordinal() - 1 - below(300))
            tuo = dumps(pop.make_foreign(rng, "TILAPAINEN_ULKOMAINEN_OSOITE", max(t_alku, alku))).decode()
        if f1 & F_POSTAL:
            kpo = dumps(pop.make_postal(
                rng, max(alku, start - datetime.timedelta(days=1 + below(2000))), muni)).decode()
        # serving order: VKO, TKO, KPO, VUO, TUO, UPO, KOTIKUNTA
        if tko is not None:
            ap(",")
            ap(tko)
        if kpo is not None:
            ap(",")
            ap(kpo)
        if tuo is not None:
            ap(",")
            ap(tuo)
        ap(kk)
    # contact addresses only exist with F_PROT (left to the dict path)
    if f2 & G_GUARDED:
        sur = plain_suku
        ap(",")
        ap(_guardian(pop, rng, random, below, born, sur, "AITI", False))
        if f2 & G_TWO_GUARD:
            foreign = random() < 0.05
            ap(",")
            ap(_guardian(pop, rng, random, below, born, sur, "ISA", foreign))
    if f2 & G_EDUNV:
        ap(",")
        ap(dumps(pop.edunvalvonta_record(
            rng, start - datetime.timedelta(days=30 + below(2970)))).decode())
    if f2 & G_VALTUUTUS:
        ap(",")
        ap(dumps(pop.valtuutus_record(
            rng, start - datetime.timedelta(days=30 + below(2970)), plain_suku)).decode())
    ap("]}")
    return "".join(out).encode()


_CIVIL_NM = ["AVIOLIITOSSA"] * 6 + ["ERONNUT", "LESKI"]
_IMM_LANGS = ["ru", "et", "ar", "so", "en", "vi", "zh", "fa", "uk", "tr"]

from bisect import bisect_right as _bisect_right  # noqa: E402


def _address(random, below, tietoryhma, alku, muni):
    """Population.make_address with the municipality given."""
    code = muni[0]
    post_fi, post_sv = muni[4], muni[5]
    prof = muni[7]
    qcodes, pt_fi, pt_both, qcode = _MUNI[code]
    if prof == "sf":
        sv, fi = _STREETS_SV[below(len(_STREETS_SV))]
        katunimi = '{"fi":%s,"sv":%s}' % (fi, sv)
    elif prof == "fs" or random() < 0.35:
        fi, sv = _STREETS_BI[below(len(_STREETS_BI))]
        katunimi = '{"fi":%s,"sv":%s}' % (fi, sv) if prof == "fs" else '{"fi":%s}' % fi
    else:
        fi = _STREETS_FI[below(len(_STREETS_FI))]
        katunimi = '{"fi":%s,"sv":%s}' % (fi, fi) if random() < 0.5 else '{"fi":%s}' % fi
    n = 1 + int(random() ** 2 * 120)
    r = random()
    if r < 0.04:
        katunumero = "%da-%db" % (n, n)
    elif r < 0.10:
        katunumero = "%d%s" % (n, "abc"[below(3)])
    else:
        katunumero = str(n)
    parts = ['{"tietoryhma":"', tietoryhma, '","katunimi":', katunimi,
             ',"katunumero":"', katunumero, '"']
    r = random()
    if r < 0.45:
        parts.append(',"huoneistokirjain":"%s","huoneistonumero":"%03d"' % (
            "ABCDEFGH"[below(8)], 1 + below(60)))
    elif r < 0.70:
        parts.append(',"huoneistonumero":"%03d"' % (1 + below(120)))
    if random() < 0.03:
        parts.append(',"jakokirjain":"%s"' % "ab"[below(2)])
    parts.append(',"postinumero":')
    parts.append(qcodes[below(len(qcodes))])
    if random() < 0.1 and post_fi == post_sv:
        parts.append(',"postitoimipaikka":')
        parts.append(pt_fi)
    else:
        parts.append(',"postitoimipaikka":')
        parts.append(pt_both)
    # building_id
    bn = 900000000 + below(100000000)
    osn = 1 if random() < 0.9 else 2 + below(3)
    parts.append(',"rakennustunnus":"%d%s","osoitenumero":%d,"kuntakoodi":%s,"alkupv":%s}' % (
        bn, hetumod.CHECK_CHARS[bn % 31], osn, qcode, _d(alku)))
    return "".join(parts)


def _guardian(pop, rng, random, below, child_born, child_surname, role, foreign):
    """Population.guardian_record (default laji, alku) with nested_person."""
    male = role in ("ISA", "ADOPTIOISA")
    born_from = add_years(child_born, -45)
    born_to = add_years(child_born, -19)
    span = max(1, born_to.toordinal() - born_from.toordinal())
    born = _fromordinal(born_from.toordinal() + below(span))
    # Population.names(rng, male, rng.random() < 0.05)
    etu, suku = _names(random, below, male, random() < 0.05)
    if child_surname and random() < 0.8:
        suku = child_surname
    parts = ['{"tietoryhma":"HUOLTAJA","huoltaja":{']
    if not foreign:
        y = born.year
        marker = "+" if y < 1900 else ("-" if y < 2000 else "A")
        nnn = 900 + 2 * below(50) + (1 if male else 0)
        parts.append('"henkilotunnus":"%s",' % hetumod.make(born, marker, nnn))
    pe, ue, qe, _pe = _name_facts(etu)
    ps, us, qs, plain_suku = _name_facts(suku)
    parts.append('"etunimet":%s,"sukunimi":%s' % (pe, ps))
    if ue or us:
        parts.append(',"etunimetUTF8":%s,"sukunimiUTF8":%s' % (qe, qs))
    parts.append(',"syntymapv":%s,"sukupuoli":"%s"},"huoltajanLaji":"LAKISAATEINEN_HUOLTAJA",'
                 '"huoltajanRooli":"%s","huoltosuhteenAlkupv":%s,"huoltosuhteenLoppupv":%s,'
                 '"oikeudet":[]}' % (_d(born), "MIES" if male else "NAINEN", role,
                                      _d(child_born), _d(add_years(child_born, 18))))
    return "".join(parts)
