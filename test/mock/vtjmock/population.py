"""Synthetic population: test hetus, per-person traits and the initial state
(every data group at history start), all deterministic from (size, seed,
history start).

Only the hetus, birth dates and a category byte per person are built at
start-up; a person's data groups are generated on demand from a per-person
random stream, so a million persons fit in memory and start fast.

A *state* is a dict {tietoryhma: tuple(records)}; a record is the group
object exactly as /perustiedot serves it (with its "tietoryhma" key).
Records are never mutated once built, so states can share them.
"""
import bisect
import datetime
import random
import unicodedata
from array import array

from . import hetu as hetumod
from . import refdata as R
from .rnd import choice as _choice, randrange as _randrange
from .timeutil import dobj

M64 = 0xFFFFFFFFFFFFFFFF

# category byte (decided together with the hetu)
C_HIST_DEAD = 1      # died before the history starts
C_IMMIGRANT = 2      # foreign-born: foreign names/language/citizenship

# schedule flags (byte 1) -- also maintained by history.py
F_DEAD = 1
F_ABROAD = 2
F_PROT = 4           # TURVAKIELTO record with turvakieltoAktiivinen true
F_TEMP = 8           # has TILAPAINEN_KOTIMAINEN_OSOITE
F_POSTAL = 16        # has KOTIMAINEN_POSTIOSOITE
F_REVERT = 32        # last location event was a domestic move (can be undone)
F_DIED_HIST = 64     # died during the history, death not yet corrected
F_CORRECTED = 128    # hetu already corrected once
# flags byte 2
G_TEMP_ABROAD = 1    # has TILAPAINEN_ULKOMAINEN_OSOITE
G_FPOSTAL = 2        # has ULKOMAINEN_POSTIOSOITE
G_CONTACT = 4        # has a *_YHTEYSOSOITE
G_EDUNV = 8          # has EDUNVALVONTA
G_VALTUUTUS = 16     # has EDUNVALVONTAVALTUUTUS
G_TWO_GUARD = 32     # minor with two guardians
G_IMMIGRANT = 64
G_GUARDED = 128      # minor at history start: has HUOLTAJA records


def mix64(z):
    """splitmix64 finaliser: a cheap, well-spread integer hash."""
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def years_between(born, d):
    return d.year - born.year - ((d.month, d.day) < (born.month, born.day))


def add_years(d, n):
    try:
        return d.replace(year=d.year + n)
    except ValueError:          # 29 Feb
        return d.replace(year=d.year + n, day=28)


def plain_name(s):
    """Transliterate characters outside ISO-8859-1 (the plain name fields may
    be limited to a legacy charset; exact spelling goes to the *UTF8 twin)."""
    if not needs_utf8(s):
        return s
    out = []
    for ch in s:
        if ord(ch) < 256:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch)[0]
            out.append(base if ord(base) < 256 else "?")
    return "".join(out)


def needs_utf8(s):
    try:
        s.encode("latin-1")
        return False
    except UnicodeEncodeError:
        return True


def building_id(rng):
    """Permanent building id: '9' + 8 digits + mod-31 check char (test ids)."""
    n = 900000000 + _randrange(rng, 100000000)
    return "%d%s" % (n, hetumod.CHECK_CHARS[n % 31])


class Population:
    def __init__(self, size, seed, start, turvakielto_share=0.01):
        self.size = size
        self.seed = seed
        self.start = start                      # datetime.date, history start
        self.start_ord = start.toordinal()
        self.turvakielto_share = turvakielto_share
        self.hetus = []
        self.index = {}
        self.birth_ord = array("i")
        self.cat = bytearray(size)
        self._muni_cum = []
        acc = 0
        for m in R.MUNICIPALITIES:
            acc += m[3]
            self._muni_cum.append(acc)
        self._muni_total = acc
        self._generate_hetus()

    # ------------------------------------------------------------------ hetus
    def _living_age_weights(self):
        w = []
        for age in range(0, 105):
            if age < 18:
                x = 0.95
            elif age < 65:
                x = 1.15
            elif age < 80:
                x = 1.2
            elif age < 90:
                x = 0.6
            elif age < 100:
                x = 0.15
            else:
                x = 0.01
            w.append(x)
        cum, acc = [], 0.0
        for x in w:
            acc += x
            cum.append(acc)
        return cum

    def _generate_hetus(self):
        rng = random.Random(mix64(self.seed * 0x10001 + 17))
        living_cum = self._living_age_weights()
        living_total = living_cum[-1]
        index = self.index
        hetus = self.hetus
        birth_ord = self.birth_ord
        cat = self.cat
        make = hetumod.make
        date_fromordinal = datetime.date.fromordinal
        start_ord = self.start_ord
        per_date = {}       # hetus issued per birth date and marker (the hetu's first 7 characters)
        for i in range(self.size):
            u = rng.random()
            c = 0
            if u < 0.015:
                # died before the history: born 1890..1960
                c = C_HIST_DEAD
                born = date_fromordinal(
                    datetime.date(1890, 1, 1).toordinal() + _randrange(rng, 70 * 365))
                new_marker = False
            else:
                age = bisect.bisect_left(living_cum, rng.random() * living_total)
                born = date_fromordinal(start_ord - age * 365 - _randrange(rng, 365) - 1)
                new_marker = rng.random() < (0.30 if born.year >= 2023 else 0.02)
                if new_marker or rng.random() < 0.05:
                    c |= C_IMMIGRANT
                    if new_marker and rng.random() < 0.2:
                        # unknown birthday: registered as 1st of month/year
                        born = born.replace(day=1, month=1 if rng.random() < 0.5 else born.month)
            y = born.year
            if y < 1900:
                marker = "+"
            elif y < 2000:
                marker = _choice(rng, hetumod.MARKERS_1900_NEW) if new_marker else "-"
            else:
                marker = _choice(rng, hetumod.MARKERS_2000_NEW) if new_marker else "A"
            if per_date.get(make(born, marker, 900)[:7], 0) >= 100:
                # all 100 numbers of the date taken (never so below ~3 million persons)
                h, born = self._free_hetu_other_marker(rng, born, per_date)
            else:
                for _try in range(40):
                    h = make(born, marker, 900 + _randrange(rng, 100))
                    if h not in index:
                        break
                    if _try > 20:
                        born = born + datetime.timedelta(days=1)
                        if (born.year < 1900) != (y < 1900) or (born.year < 2000) != (y < 2000):
                            born = born - datetime.timedelta(days=2)
                else:
                    h, born = self._free_hetu_other_marker(rng, born, per_date)
            per_date[h[:7]] = per_date.get(h[:7], 0) + 1
            index[h] = i
            hetus.append(h)
            birth_ord.append(born.toordinal())
            cat[i] = c
        self._ensure_every_marker(rng)

    def _free_hetu_other_marker(self, rng, born, per_date):
        """A free hetu for a birth date whose 100 test numbers (900-999) are taken under the
        usual marker, as they are in a population of several millions (about 150 births a day
        against 100 numbers): the same date under another marker of its century (the markers
        of 2023 are valid for every birth; only what is drawn before this point decides the
        data of a smaller population, which never reaches it). Fails only when every marker
        of the century is full on the date and on the 365 days before it."""
        for _shift in range(366):
            y = born.year
            markers = ("+" if y < 1900 else "-" + hetumod.MARKERS_1900_NEW if y < 2000
                       else "A" + hetumod.MARKERS_2000_NEW)
            first = _randrange(rng, len(markers))
            for k in range(len(markers)):
                marker = markers[(first + k) % len(markers)]
                if per_date.get(hetumod.make(born, marker, 900)[:7], 0) >= 100:
                    continue
                number = _randrange(rng, 100)
                for j in range(100):
                    h = hetumod.make(born, marker, 900 + (number + j) % 100)
                    if h not in self.index:
                        return h, born
            born = born - datetime.timedelta(days=1)
        raise RuntimeError("could not find a free hetu")

    def _ensure_every_marker(self, rng):
        """Every century marker must be used by some persons, even in a small
        population; re-issue a few hetus where a marker is missing."""
        used = {}
        for h in self.hetus:
            used[h[6]] = used.get(h[6], 0) + 1
        taken = set()
        for marker in hetumod.ALL_MARKERS:
            if used.get(marker) or self.size < 40:
                continue
            for _ in range(1000):
                i = _randrange(rng, self.size)
                if i in taken:
                    continue
                taken.add(i)
                break
            base = hetumod.CENTURY[marker]
            if marker == "+":
                born = datetime.date(1890 + _randrange(rng, 10), 1 + _randrange(rng, 12),
                                     1 + _randrange(rng, 28))
                self.cat[i] = C_HIST_DEAD
            elif base == 1900:
                born = datetime.date(1950 + _randrange(rng, 49), 1 + _randrange(rng, 12),
                                     1 + _randrange(rng, 28))
                self.cat[i] = C_IMMIGRANT if marker != "-" else 0
            else:
                last = min(self.start.year - 1, 2024)
                born = datetime.date(2000 + _randrange(rng, last - 1999), 1 + _randrange(rng, 12),
                                     1 + _randrange(rng, 28))
                self.cat[i] = C_IMMIGRANT if marker != "A" else 0
            for _ in range(200):
                h = hetumod.make(born, marker, 900 + _randrange(rng, 100))
                if h not in self.index:
                    break
            del self.index[self.hetus[i]]
            self.hetus[i] = h
            self.index[h] = i
            self.birth_ord[i] = born.toordinal()

    # ----------------------------------------------------------------- traits
    def traits(self, i):
        """Initial schedule flags (byte1, byte2) and, for a protection order
        that ends by itself, its end date ordinal (else 0).  Cheap: one hash,
        so the scheduler can call it for a million persons."""
        t = mix64((self.seed << 24) ^ (i * 0x2545F4914F6CDD1D) ^ 0x5bd1e995)
        t2 = mix64(t)
        # u(k) = 12-bit uniform k of the two hashes, (t >> 12k) & 4095 / 4096
        # for k < 5, then t2; written out (a million calls at start-up)
        c = self.cat[i]
        f1 = f2 = 0
        prot_end = 0
        if c & C_IMMIGRANT:
            f2 |= G_IMMIGRANT
        if c & C_HIST_DEAD:
            return F_DEAD, f2, 0
        age = self.age_at_start(i)
        adult = age >= 18
        if adult and (t & 4095) / 4096.0 < 0.025:                       # u(0)
            f1 |= F_ABROAD
        if ((t >> 12) & 4095) / 4096.0 < self.turvakielto_share:       # u(1)
            f1 |= F_PROT
            if ((t >> 24) & 4095) / 4096.0 < 0.25:                      # u(2)
                prot_end = self.start_ord + 10 + int(((t >> 36) & 4095) / 4096.0 * 300)
            elif ((t >> 48) & 4095) / 4096.0 < 0.6:                    # u(4)
                f2 |= G_CONTACT
        u6 = ((t2 >> 12) & 4095) / 4096.0
        if not (f1 & F_ABROAD):
            u5 = (t2 & 4095) / 4096.0
            if u5 < 0.015:
                f1 |= F_TEMP
            elif u5 < 0.02:
                f2 |= G_TEMP_ABROAD
            if u6 < 0.04:
                f1 |= F_POSTAL
        elif u6 < 0.5:
            f2 |= G_FPOSTAL
        if adult and (((t2 >> 24) & 4095) / 4096.0 < (0.04 if age >= 80 else 0.003)):  # u(7)
            f2 |= G_EDUNV
        if age >= 70 and ((t2 >> 36) & 4095) / 4096.0 < 0.02:          # u(8)
            f2 |= G_VALTUUTUS
        if not adult:
            f2 |= G_GUARDED
            if ((t2 >> 48) & 4095) / 4096.0 >= 0.2:                      # u(9)
                f2 |= G_TWO_GUARD
        return f1, f2, prot_end

    def age_at_start(self, i):
        b = datetime.date.fromordinal(self.birth_ord[i])
        return years_between(b, self.start)

    # ------------------------------------------------------------ generation
    def person_rng(self, i):
        return random.Random(mix64((self.seed * 0x9E3779B1) ^ (i << 20) ^ 0xA5A5))

    def birth(self, i):
        return datetime.date.fromordinal(self.birth_ord[i])

    def pick_municipality(self, rng):
        x = rng.random() * self._muni_total
        return R.MUNICIPALITIES[bisect.bisect_right(self._muni_cum, x)]

    def make_address(self, rng, tietoryhma, alku, muni=None):
        """VAKINAINEN/TILAPAINEN_KOTIMAINEN_OSOITE record."""
        if muni is None:
            muni = self.pick_municipality(rng)
        code, _kfi, _ksv, _w, post_fi, post_sv, codes, prof = muni
        if prof == "sf":
            sv, fi = _choice(rng, R.STREETS_SV)
            katunimi = {"fi": fi, "sv": sv}
        elif prof == "fs" or rng.random() < 0.35:
            fi, sv = _choice(rng, R.STREETS_BILINGUAL)
            katunimi = {"fi": fi, "sv": sv} if prof == "fs" else {"fi": fi}
        else:
            fi = _choice(rng, R.STREETS_FI)
            katunimi = {"fi": fi, "sv": fi} if rng.random() < 0.5 else {"fi": fi}
        n = 1 + int(rng.random() ** 2 * 120)
        r = rng.random()
        if r < 0.04:
            katunumero = "%da-%db" % (n, n)
        elif r < 0.10:
            katunumero = "%d%s" % (n, _choice(rng, "abc"))
        else:
            katunumero = str(n)
        rec = {"tietoryhma": tietoryhma, "katunimi": katunimi, "katunumero": katunumero}
        r = rng.random()
        if r < 0.45:
            rec["huoneistokirjain"] = _choice(rng, "ABCDEFGH")
            rec["huoneistonumero"] = "%03d" % (1 + _randrange(rng, 60))
        elif r < 0.70:
            rec["huoneistonumero"] = "%03d" % (1 + _randrange(rng, 120))
        if rng.random() < 0.03:
            rec["jakokirjain"] = _choice(rng, "ab")
        rec["postinumero"] = _choice(rng, codes)
        if rng.random() < 0.1 and post_fi == post_sv:
            rec["postitoimipaikka"] = {"fi": post_fi}
        else:
            rec["postitoimipaikka"] = {"fi": post_fi, "sv": post_sv}
        rec["rakennustunnus"] = building_id(rng)
        rec["osoitenumero"] = 1 if rng.random() < 0.9 else 2 + _randrange(rng, 3)
        rec["kuntakoodi"] = code
        rec["alkupv"] = dobj(alku)
        return rec

    @staticmethod
    def kotikunta(code, d):
        return {"tietoryhma": "KOTIKUNTA", "kuntakoodi": code,
                "kuntaanMuuttopv": dobj(d), "kuntaanMuuttoPv": dobj(d)}

    def make_postal(self, rng, alku, muni=None):
        if muni is None:
            muni = self.pick_municipality(rng)
        if rng.random() < 0.4:
            box = 1 + _randrange(rng, 3000)
            po = {"fi": "PL %d" % box, "sv": "PB %d" % box}
        else:
            fi, sv = _choice(rng, R.STREETS_BILINGUAL)
            tail = " %d" % (1 + _randrange(rng, 60))
            if rng.random() < 0.5:
                tail += " %s %d" % (_choice(rng, "ABC"), 1 + _randrange(rng, 40))
            po = {"fi": fi + tail, "sv": sv + tail} if muni[7] != "fi" else {"fi": fi + tail}
        return {"tietoryhma": "KOTIMAINEN_POSTIOSOITE", "postiosoite": po,
                "postinumero": _choice(rng, muni[6]),
                "postitoimipaikka": {"fi": muni[4], "sv": muni[5]},
                "alkupv": dobj(alku)}

    @staticmethod
    def make_foreign(rng, tietoryhma, alku):
        code, _fi, _sv, cities = _choice(rng, R.COUNTRIES)
        rec = {"tietoryhma": tietoryhma,
               "lahiosoite": "%s %d" % (_choice(rng, R.FOREIGN_STREETS), 1 + _randrange(rng, 150)),
               "paikkakunta": _choice(rng, cities), "valtiokoodi": code}
        if rng.random() < 0.05:
            rec["valtiokoodi"] = "998"
            rec["valtionimi"] = "Atlantis"
        rec["alkupv"] = dobj(alku)
        return rec

    @staticmethod
    def make_foreign_postal(rng, alku):
        code, _fi, _sv, cities = _choice(rng, R.COUNTRIES)
        return {"tietoryhma": "ULKOMAINEN_POSTIOSOITE",
                "postiosoite": "%s %d" % (_choice(rng, R.FOREIGN_STREETS), 1 + _randrange(rng, 90)),
                "postiosoiteLisarivi": "c/o %s" % _choice(rng, R.SURNAMES),
                "postitoimipaikka": "%05d %s" % (_randrange(rng, 10000, 99999), _choice(rng, cities)),
                "valtiokoodi": code, "alkupv": dobj(alku)}

    def make_contact(self, rng, abroad, alku):
        if abroad:
            code, _fi, _sv, cities = _choice(rng, R.COUNTRIES)
            return {"tietoryhma": "ULKOMAINEN_YHTEYSOSOITE",
                    "postiosoite": "Box %d" % (1 + _randrange(rng, 9000)),
                    "paikkakunta": _choice(rng, cities), "valtiokoodi": code,
                    "alkupv": dobj(alku)}
        muni = self.pick_municipality(rng)
        box = 1 + _randrange(rng, 9000)
        return {"tietoryhma": "KOTIMAINEN_YHTEYSOSOITE",
                "postiosoite": {"fi": "PL %d" % box, "sv": "PB %d" % box},
                "postinumero": muni[6][0][:4] + "1",
                "postitoimipaikka": {"fi": muni[4], "sv": muni[5]},
                "alkupv": dobj(alku)}

    @staticmethod
    def names(rng, male, immigrant):
        if immigrant and rng.random() < 0.8:
            firsts = R.FOREIGN_FIRST_MALE if male else R.FOREIGN_FIRST_FEMALE
            k = 1 if rng.random() < 0.6 else 2
            sur = _choice(rng, R.FOREIGN_SURNAMES)
        else:
            firsts = R.FIRST_MALE if male else R.FIRST_FEMALE
            k = 1 + (rng.random() < 0.8) + (rng.random() < 0.3)
            sur = _choice(rng, R.SURNAMES)
        chosen = []
        while len(chosen) < k:
            n = _choice(rng, firsts)
            if n not in chosen:
                chosen.append(n)
        return " ".join(chosen), sur

    @staticmethod
    def name_record(etu, suku, alku=None):
        rec = {"tietoryhma": "HENKILON_NIMI", "etunimi": plain_name(etu),
               "sukunimi": plain_name(suku)}
        if needs_utf8(etu) or needs_utf8(suku):
            rec["etunimiUTF8"] = etu
            rec["sukunimiUTF8"] = suku
        if alku is not None:
            rec["alkupv"] = dobj(alku)
        return rec

    @staticmethod
    def nimenmuutos(nimilaji, nimi, alku=None, loppu=None, tarkkuus="PAIVA"):
        rec = {"tietoryhma": "NIMENMUUTOS", "nimilaji": nimilaji, "nimi": plain_name(nimi)}
        if needs_utf8(nimi):
            rec["nimiUTF8"] = nimi
        if alku is not None:
            rec["alkupv"] = dobj(alku, tarkkuus)
        if loppu is not None:
            rec["loppupv"] = dobj(loppu, tarkkuus)
        return rec

    def nested_person(self, rng, born_from, born_to, male, surname=None, with_hetu=True):
        """A guardian/trustee reference: valid test hetu, names, birth date."""
        span = max(1, born_to.toordinal() - born_from.toordinal())
        born = datetime.date.fromordinal(born_from.toordinal() + _randrange(rng, span))
        etu, suku = self.names(rng, male, rng.random() < 0.05)
        if surname and rng.random() < 0.8:
            suku = surname
        p = {}
        if with_hetu:
            marker = "+" if born.year < 1900 else ("-" if born.year < 2000 else "A")
            nnn = 900 + 2 * _randrange(rng, 50) + (1 if male else 0)
            p["henkilotunnus"] = hetumod.make(born, marker, nnn)
        p["etunimet"] = plain_name(etu)
        p["sukunimi"] = plain_name(suku)
        if needs_utf8(etu) or needs_utf8(suku):
            p["etunimetUTF8"] = etu
            p["sukunimiUTF8"] = suku
        p["syntymapv"] = dobj(born)
        p["sukupuoli"] = "MIES" if male else "NAINEN"
        return p

    @staticmethod
    def language(code, alku):
        iso2, _fi, _sv = R.LANGUAGES[code]
        return {"tietoryhma": "AIDINKIELI", "kielikoodi": code,
                "kielikoodiISO6392": iso2, "alkupv": dobj(alku)}

    @staticmethod
    def asiointikieli(code, alku):
        return {"tietoryhma": "ASIOINTIKIELI", "kielikoodi": code,
                "kielikoodiISO6392": "swe" if code == "sv" else "fin",
                "alkupv": dobj(alku)}

    def guardian_record(self, rng, child_born, child_surname, role, laji="LAKISAATEINEN_HUOLTAJA",
                        alku=None, foreign=False):
        male = role in ("ISA", "ADOPTIOISA")
        p = self.nested_person(rng, add_years(child_born, -45), add_years(child_born, -19),
                               male, child_surname, with_hetu=not foreign)
        return {"tietoryhma": "HUOLTAJA", "huoltaja": p, "huoltajanLaji": laji,
                "huoltajanRooli": role,
                "huoltosuhteenAlkupv": dobj(alku or child_born),
                "huoltosuhteenLoppupv": dobj(add_years(child_born, 18)),
                "oikeudet": []}

    def edunvalvonta_record(self, rng, alku):
        if rng.random() < 0.7:
            num, fi, sv = _choice(rng, R.PUBLIC_GUARDIAN_OFFICES)
            ev = {"edunvalvoja": {"viranomaisnumero": num, "nimi": {"fi": fi, "sv": sv}},
                  "tehtavaAlkupv": dobj(alku)}
        else:
            ev = {"edunvalvoja": self.nested_person(
                rng, datetime.date(1950, 1, 1), datetime.date(1990, 1, 1), rng.random() < 0.5),
                "tehtavaAlkupv": dobj(alku)}
            ev["edunvalvoja"].pop("syntymapv")
            ev["edunvalvoja"].pop("sukupuoli")
        return {"tietoryhma": "EDUNVALVONTA", "alkupv": dobj(alku),
                "nykyisetEdunvalvojat": [ev]}

    def valtuutus_record(self, rng, alku, surname):
        p = self.nested_person(rng, datetime.date(1955, 1, 1), datetime.date(1995, 1, 1),
                               rng.random() < 0.5, surname)
        p.pop("syntymapv")
        p.pop("sukupuoli")
        return {"tietoryhma": "EDUNVALVONTAVALTUUTUS",
                "valtuutussuhteenAlkupv": dobj(alku),
                "nykyisetEdunvalvontavaltuutetut": [{"edunvalvontavaltuutettu": p}]}

    # ---------------------------------------------------------- initial state
    def initial_state(self, i, traits=None):
        """State at history start.  `traits`: self.traits(i) when the caller
        has it at hand (History keeps them)."""
        rng = self.person_rng(i)
        h = self.hetus[i]
        born = self.birth(i)
        start = self.start
        f1, f2, prot_end = traits if traits is not None else self.traits(i)
        c = self.cat[i]
        male = int(h[7:10]) % 2 == 1
        immigrant = bool(c & C_IMMIGRANT)
        age = years_between(born, start)
        st = {}
        st["HENKILOTUNNUS_KORJAUS"] = ({"tietoryhma": "HENKILOTUNNUS_KORJAUS",
                                        "voimassaolo": "AKTIIVI",
                                        "muutettuHenkilotunnus": h,
                                        "aktiivinenHenkilotunnus": h,
                                        "edellisetHenkilotunnukset": []},)
        etu, suku = self.names(rng, male, immigrant)
        nm = []
        name_alku = born if rng.random() < 0.6 else None
        if not male and age >= 25 and not immigrant and rng.random() < 0.45:
            maiden = _choice(rng, R.SURNAMES)
            if maiden != suku:
                wed = add_years(born, 22 + _randrange(rng, max(1, min(age - 21, 30))))
                wed = datetime.date.fromordinal(wed.toordinal() + _randrange(rng, 300))
                if wed >= start:
                    wed = start - datetime.timedelta(days=30)
                prec = "VUOSI" if wed.year < 1975 else ("KUUKAUSI" if wed.year < 1990 else "PAIVA")
                nm.append(self.nimenmuutos("NYKYINEN_SUKUNIMI", suku, alku=wed, tarkkuus=prec))
                nm.append(self.nimenmuutos("EDELLINEN_SUKUNIMI", maiden,
                                           loppu=wed - datetime.timedelta(days=1), tarkkuus=prec))
                name_alku = wed
        st["HENKILON_NIMI"] = (self.name_record(etu, suku, name_alku),)
        if nm:
            st["NIMENMUUTOS"] = tuple(nm)
        st["SUKUPUOLI"] = ({"tietoryhma": "SUKUPUOLI", "sukupuoli": "MIES" if male else "NAINEN"},)
        prec = "PAIVA"
        if immigrant and born.day == 1:
            prec = "VUOSI" if born.month == 1 else "KUUKAUSI"
        st["SYNTYMAPAIVA"] = ({"tietoryhma": "SYNTYMAPAIVA", "syntymapv": dobj(born, prec)},)
        # civil status
        if age < 18:
            sv_ = "NAIMATON"
        elif immigrant and rng.random() < 0.3:
            sv_ = "EI_TIETOA"
        elif nm:
            sv_ = _choice(rng, ["AVIOLIITOSSA"] * 6 + ["ERONNUT", "LESKI"])
        else:
            r = rng.random()
            sv_ = ("NAIMATON" if r < 0.42 else "AVIOLIITOSSA" if r < 0.80 else
                   "ERONNUT" if r < 0.93 else "LESKI" if r < 0.995 else
                   "REKISTEROIDYSSA_PARISUHTEESSA")
        st["SIVIILISAATY"] = ({"tietoryhma": "SIVIILISAATY", "siviilisaaty": sv_},)
        # citizenship and languages
        if immigrant:
            cz = _choice(rng, R.CITIZENSHIPS)
            items = [{"kansalaisuuskoodi": cz, "voimassaolo": "AKTIIVI"}]
            if age > 10 and rng.random() < 0.3:
                items.append({"kansalaisuuskoodi": "246", "voimassaolo": "AKTIIVI",
                              "saamispv": dobj(start - datetime.timedelta(days=_randrange(rng, 200, 4000)))})
            lang = _choice(rng, ["ru", "et", "ar", "so", "en", "vi", "zh", "fa", "uk", "tr"])
        else:
            items = [{"kansalaisuuskoodi": "246", "voimassaolo": "AKTIIVI"}]
            r = rng.random()
            lang = "fi" if r < 0.90 else ("sv" if r < 0.998 else "se")
        st["KANSALAISUUS"] = ({"tietoryhma": "KANSALAISUUS", "henkilonKansalaisuudet": items},)
        if immigrant and rng.random() < 0.02:
            st["AIDINKIELI"] = ({"tietoryhma": "AIDINKIELI", "kielikoodi": "98",
                                 "nimi": "tigrinja", "alkupv": dobj(born)},)
        else:
            st["AIDINKIELI"] = (self.language(lang, born),)
        st["ASIOINTIKIELI"] = (self.asiointikieli("sv" if lang == "sv" else "fi", born),)
        # death
        if c & C_HIST_DEAD:
            lo = max(add_years(born, 40), datetime.date(1950, 1, 1)).toordinal()
            hi = min(add_years(born, 100), start - datetime.timedelta(days=2)).toordinal()
            died = datetime.date.fromordinal(lo + _randrange(rng, max(1, hi - lo)))
            st["KUOLINPAIVA"] = ({"tietoryhma": "KUOLINPAIVA", "kuollut": True,
                                  "kuolinpv": dobj(died)},)
            if died.year >= 1980:
                self._initial_residence(st, rng, born, died, f1, f2)
            return st
        # protection order
        if f1 & F_PROT:
            tk = {"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": True}
            if prot_end:
                tk["turvaLoppuPv"] = dobj(datetime.date.fromordinal(prot_end))
            st["TURVAKIELTO"] = (tk,)
        elif rng.random() < self.turvakielto_share * 0.3:
            st["TURVAKIELTO"] = ({"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": False,
                                  "turvaLoppuPv": dobj(start - datetime.timedelta(days=_randrange(rng, 30, 3000)))},)
        self._initial_residence(st, rng, born, start, f1, f2)
        if f2 & G_CONTACT:
            st[("ULKOMAINEN_YHTEYSOSOITE" if f1 & F_ABROAD else "KOTIMAINEN_YHTEYSOSOITE")] = (
                self.make_contact(rng, f1 & F_ABROAD, start - datetime.timedelta(days=_randrange(rng, 10, 2000))),)
        # guardianship of minors
        if f2 & G_GUARDED:
            sur = st["HENKILON_NIMI"][0]["sukunimi"]
            recs = [self.guardian_record(rng, born, sur, "AITI")]
            if f2 & G_TWO_GUARD:
                recs.append(self.guardian_record(rng, born, sur, "ISA",
                                                 foreign=rng.random() < 0.05))
            st["HUOLTAJA"] = tuple(recs)
        if f2 & G_EDUNV:
            st["EDUNVALVONTA"] = (self.edunvalvonta_record(
                rng, start - datetime.timedelta(days=_randrange(rng, 30, 3000))),)
        if f2 & G_VALTUUTUS:
            st["EDUNVALVONTAVALTUUTUS"] = (self.valtuutus_record(
                rng, start - datetime.timedelta(days=_randrange(rng, 30, 3000)),
                st["HENKILON_NIMI"][0]["sukunimi"]),)
        return st

    def _initial_residence(self, st, rng, born, until, f1, f2):
        """Address groups valid at `until` (history start, or death)."""
        lo = max(born.toordinal(), until.toordinal() - 25 * 365)
        span = max(1, until.toordinal() - lo - 1)
        alku = datetime.date.fromordinal(lo + _randrange(rng, span))
        if f1 & F_ABROAD:
            st["VAKINAINEN_ULKOMAINEN_OSOITE"] = (
                self.make_foreign(rng, "VAKINAINEN_ULKOMAINEN_OSOITE", alku),)
            if f2 & G_FPOSTAL:
                st["ULKOMAINEN_POSTIOSOITE"] = (self.make_foreign_postal(rng, alku),)
            return
        muni = self.pick_municipality(rng)
        st["VAKINAINEN_KOTIMAINEN_OSOITE"] = (
            self.make_address(rng, "VAKINAINEN_KOTIMAINEN_OSOITE", alku, muni),)
        # moved into the municipality on or before moving into the address
        kk_span = max(1, alku.toordinal() - lo)
        kk_alku = datetime.date.fromordinal(alku.toordinal() - (_randrange(rng, kk_span) if rng.random() < 0.4 else 0))
        st["KOTIKUNTA"] = (self.kotikunta(muni[0], kk_alku),)
        if f1 & F_TEMP:
            t_alku = datetime.date.fromordinal(until.toordinal() - 1 - _randrange(rng, 400))
            st["TILAPAINEN_KOTIMAINEN_OSOITE"] = (
                self.make_address(rng, "TILAPAINEN_KOTIMAINEN_OSOITE", max(t_alku, alku)),)
        if f2 & G_TEMP_ABROAD:
            t_alku = datetime.date.fromordinal(until.toordinal() - 1 - _randrange(rng, 300))
            st["TILAPAINEN_ULKOMAINEN_OSOITE"] = (
                self.make_foreign(rng, "TILAPAINEN_ULKOMAINEN_OSOITE", max(t_alku, alku)),)
        if f1 & F_POSTAL:
            st["KOTIMAINEN_POSTIOSOITE"] = (self.make_postal(rng, max(alku, until - datetime.timedelta(days=1 + _randrange(rng, 2000))), muni),)
