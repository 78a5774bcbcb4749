"""In-process checks of the population and the history generator."""
import collections
import datetime
import json
import re
import unittest

from tests import mockproc  # noqa: F401  (sets sys.path)
from vtjmock import apply, censor, events, hetu, refdata as R
from vtjmock.history import History, KINDS, ORDERS
from vtjmock.population import Population
from vtjmock.store import Config, World
from tests.orders import (CLOSING_FIRST, NEW_FIRST, DIMENSIONS, order_facts,
                          type_order_violations)

START = datetime.date(2025, 9, 27)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def world(persons=2000, seed=5, **kw):
    return World(Config(persons=persons, seed=seed, **kw))


def walk(obj, fn, key=None):
    fn(key, obj)
    if isinstance(obj, dict):
        for k, v in obj.items():
            walk(v, fn, k)
    elif isinstance(obj, list):
        for v in obj:
            walk(v, fn, key)


class PopulationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = world()
        cls.pop = cls.w.pop

    def test_deterministic(self):
        a = Population(3000, 42, START)
        b = Population(3000, 42, START)
        c = Population(3000, 43, START)
        self.assertEqual(a.hetus, b.hetus)
        self.assertNotEqual(a.hetus, c.hetus)
        for i in (0, 17, 2999):
            self.assertEqual(json.dumps(a.initial_state(i), sort_keys=True),
                             json.dumps(b.initial_state(i), sort_keys=True))

    def test_hetus_valid_unique_test_range(self):
        hs = self.pop.hetus
        self.assertEqual(len(set(hs)), len(hs))
        for h in hs:
            self.assertTrue(hetu.is_test_hetu(h), h)

    def test_full_birth_date_takes_another_marker(self):
        """A population of millions fills the 100 test numbers of a birth date: the next person
        born that day gets a free hetu of the same date under another marker of its century
        (and the day before once all are full), with its check character."""
        import random
        pop = Population(200, 3, START)
        born = datetime.date(1985, 6, 1)
        per_date = {}
        for m in "-" + hetu.MARKERS_1900_NEW:
            for k in range(100 if m in "-YXW" else 99):
                h = hetu.make(born, m, 900 + k)
                pop.index[h] = 0
                per_date[h[:7]] = per_date.get(h[:7], 0) + 1
        rng = random.Random(1)
        h, b = pop._free_hetu_other_marker(rng, born, per_date)
        self.assertEqual(b, born)
        self.assertIn(h[6], "VU")
        self.assertEqual(h[7:10], "999")
        self.assertTrue(hetu.is_test_hetu(h) and h not in pop.index)
        for m in "VU":
            h = hetu.make(born, m, 999)
            pop.index[h] = 0
            per_date[h[:7]] = 100
        h, b = pop._free_hetu_other_marker(rng, born, per_date)
        self.assertEqual(b, born - datetime.timedelta(days=1))
        self.assertEqual(hetu.parse(h)[0], b)
        self.assertTrue(hetu.is_test_hetu(h) and h not in pop.index)

    def test_every_century_marker_with_plausible_dates(self):
        used = collections.Counter(h[6] for h in self.pop.hetus)
        for m in hetu.ALL_MARKERS:
            self.assertGreater(used[m], 0, "marker %s unused" % m)
        for i, h in enumerate(self.pop.hetus):
            born, marker, _ = hetu.parse(h)
            self.assertLessEqual(born, START)
            if marker == "+":
                # born in the 1800s: must be long dead
                self.assertIn("KUOLINPAIVA", self.pop.initial_state(i))

    def test_all_product_groups_present(self):
        seen = collections.Counter()
        precisions = set()
        for i in range(self.pop.size):
            st = self.pop.initial_state(i)
            seen.update(st.keys())
            for recs in st.values():
                for r in recs:
                    walk(r, lambda k, v: precisions.add(v["tarkkuus"])
                         if isinstance(v, dict) and "tarkkuus" in v else None)
        asrek = ["HENKILOTUNNUS_KORJAUS", "HENKILON_NIMI", "NIMENMUUTOS", "AIDINKIELI",
                 "ASIOINTIKIELI", "KUOLINPAIVA", "TURVAKIELTO", "EDUNVALVONTA",
                 "EDUNVALVONTAVALTUUTUS", "VAKINAINEN_KOTIMAINEN_OSOITE",
                 "TILAPAINEN_KOTIMAINEN_OSOITE", "KOTIMAINEN_POSTIOSOITE",
                 "VAKINAINEN_ULKOMAINEN_OSOITE", "TILAPAINEN_ULKOMAINEN_OSOITE",
                 "ULKOMAINEN_POSTIOSOITE", "KOTIMAINEN_YHTEYSOSOITE", "KOTIKUNTA",
                 "HUOLTAJA", "SIVIILISAATY", "KANSALAISUUS", "SUKUPUOLI", "SYNTYMAPAIVA"]
        for g in asrek:
            self.assertGreater(seen[g], 0, g)
        self.assertEqual(seen["HENKILOTUNNUS_KORJAUS"], self.pop.size)
        self.assertEqual(precisions, {"PAIVA", "KUUKAUSI", "VUOSI"})
        # ULKOMAINEN_YHTEYSOSOITE only for protected persons abroad: rare, but
        # appears in a larger population
        big = Population(60000, 5, START)
        self.assertTrue(any("ULKOMAINEN_YHTEYSOSOITE" in big.initial_state(i)
                            for i in range(60000) if big.traits(i)[0] & 4 and big.traits(i)[0] & 2))

    def test_value_shapes(self):
        munis = {m[0] for m in R.MUNICIPALITIES}
        stats = collections.Counter()
        for i in range(self.pop.size):
            st = self.pop.initial_state(i)
            hk = st["HENKILOTUNNUS_KORJAUS"][0]
            self.assertEqual(hk["aktiivinenHenkilotunnus"], self.pop.hetus[i])
            self.assertEqual(hk["muutettuHenkilotunnus"], self.pop.hetus[i])
            self.assertEqual(hk["edellisetHenkilotunnukset"], [])
            for r in st.get("VAKINAINEN_KOTIMAINEN_OSOITE", ()):
                self.assertIsInstance(r["katunimi"], dict)
                self.assertIn("fi", r["katunimi"])
                self.assertIsInstance(r["postitoimipaikka"], dict)
                self.assertRegex(r["postinumero"], r"^\d{5}$")
                self.assertIsInstance(r["osoitenumero"], int)
                self.assertIn(r["kuntakoodi"], munis)
                self.assertIsInstance(r["katunumero"], str)
                if "huoneistonumero" in r:
                    self.assertRegex(r["huoneistonumero"], r"^\d{3}$")
                    stats["apartment"] += 1
                if "huoneistokirjain" in r:
                    stats["staircase"] += 1
                if "jakokirjain" in r:
                    stats["division"] += 1
                if "sv" in r["katunimi"] and r["katunimi"]["sv"] != r["katunimi"]["fi"]:
                    stats["bilingual"] += 1
                text = json.dumps(r, ensure_ascii=False)
                if any(c in text for c in "äöåÄÖÅ"):
                    stats["umlaut"] += 1
            for r in st.get("KOTIKUNTA", ()):
                self.assertEqual(r["kuntaanMuuttopv"], r["kuntaanMuuttoPv"])
                self.assertRegex(r["kuntakoodi"], r"^\d{3}$")
            for r in st.get("VAKINAINEN_ULKOMAINEN_OSOITE", ()):
                self.assertRegex(r["valtiokoodi"], r"^\d{3}$")
                self.assertNotIn("VAKINAINEN_KOTIMAINEN_OSOITE", st)
                stats["abroad"] += 1
            for r in st.get("TURVAKIELTO", ()):
                self.assertIsInstance(r["turvakieltoAktiivinen"], bool)
                if r["turvakieltoAktiivinen"]:
                    stats["protected"] += 1
            if "KUOLINPAIVA" in st:
                self.assertIs(st["KUOLINPAIVA"][0]["kuollut"], True)
                stats["dead"] += 1

            def check_dates(k, v):
                if isinstance(v, dict) and "arvo" in v:
                    self.assertEqual(set(v), {"arvo", "tarkkuus"})
                    self.assertRegex(v["arvo"], DATE_RE)
                    if v["tarkkuus"] == "KUUKAUSI":
                        self.assertTrue(v["arvo"].endswith("-01"))
                    if v["tarkkuus"] == "VUOSI":
                        self.assertTrue(v["arvo"].endswith("-01-01"))
            walk(st, check_dates)
        for k in ("apartment", "staircase", "division", "bilingual", "umlaut", "abroad",
                  "protected", "dead"):
            self.assertGreater(stats[k], 0, k)
        # about 1% protected (binomial noise at 2000 persons)
        self.assertLess(stats["protected"], 0.03 * self.pop.size)

    def test_municipality_weighting(self):
        c = collections.Counter()
        for i in range(self.pop.size):
            for r in self.pop.initial_state(i).get("KOTIKUNTA", ()):
                c[r["kuntakoodi"]] += 1
        self.assertEqual(c.most_common(1)[0][0], "091")
        self.assertGreater(len(c), 25)


class HistoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = world()
        cls.h = cls.w.hist

    def test_strictly_increasing(self):
        h = self.h
        for a, b in zip(h.ev_key, h.ev_key[1:]):
            self.assertLess(a, b)
        for a, b in zip(h.ev_ms, h.ev_ms[1:]):
            self.assertLess(a, b)
        self.assertGreater(h.ev_key[0], History.BASE_KEY)
        self.assertLess(h.ev_ms[-1], self.w.end_ms)
        self.assertGreaterEqual(h.ev_ms[0], self.w.start_ms)

    def test_every_kind_occurs(self):
        kinds = collections.Counter(self.h.ev_kind)
        for k, name in enumerate(KINDS):
            self.assertGreater(kinds[k], 0, name)

    def test_volume(self):
        # about 3-4 % of persons with a change per month
        persons_by_month = collections.defaultdict(set)
        for e, p in enumerate(self.h.ev_person):
            persons_by_month[self.h.ev_ms[e] // (30 * 86400000)].add(p)
        full = sorted(persons_by_month.items())[1:-1]
        share = sum(len(s) for _, s in full) / len(full) / self.w.pop.size
        self.assertGreater(share, 0.025)
        self.assertLess(share, 0.06)
        # scaling with --change-rate
        w2 = world(change_rate=0.07)
        self.assertGreater(len(w2.hist.ev_ms), 1.6 * len(self.h.ev_ms))

    def test_same_day_same_person_and_combos(self):
        per = collections.defaultdict(list)
        for e, p in enumerate(self.h.ev_person):
            per[(p, self.h.ev_ms[e] // 86400000)].append(KINDS[self.h.ev_kind[e]])
        multi = [v for v in per.values() if len(v) > 1]
        self.assertTrue(multi)
        orders = {tuple(v[:2]) for v in multi}
        self.assertIn(("TK_START", "MOVE"), orders)
        self.assertIn(("MOVE", "TK_START"), orders)

    def _check_all_steps(self, w, persons, hist=None):
        """apply(state before, change) == state after, for every change of
        `persons` (the world's history, or `hist` over the same population)."""
        pop, h = w.pop, hist or w.hist
        n = 0
        for i in persons:
            init, steps = events.timeline(pop, h, i)
            prev = {t: list(v) for t, v in init.items()}
            for s in steps:
                want = {t: list(v) for t, v in s.state.items() if v}
                got = apply.apply_change(prev, s.groups)
                self.assertEqual(got, want, "person %d change %s (%s)" % (
                    i, KINDS[h.ev_kind[s.e]], h.order))
                prev = want
                n += 1
        return n

    def test_apply_invariant_every_change(self):
        self.assertEqual(self.h.order, "mixed")
        for order in ORDERS:
            h = History(self.w.pop, self.w.cfg.days, self.w.cfg.change_rate, order=order)
            self.assertEqual(h.order, order)
            n = self._check_all_steps(self.w, range(self.w.pop.size), h)
            self.assertEqual(n, len(self.h.ev_ms))

    def test_apply_invariant_sample_of_larger_population(self):
        w = world(persons=60000, seed=77)
        import random
        rng = random.Random(1)
        sample = rng.sample([i for i in range(60000) if w.hist.p_off[i + 1] > w.hist.p_off[i]], 1500)
        # include every hetu correction and every protection change
        for e, k in enumerate(w.hist.ev_kind):
            if KINDS[k] in ("HETU_CORR", "TK_START_EXP", "TK_END", "MOVE_REVERT", "DEATH_UNDO",
                            "GUARDIAN_MOD", "CONTACT_CHANGE"):
                sample.append(w.hist.ev_person[e])
        sample = sorted(set(sample))
        for order in ORDERS:
            h = w.hist if order == "mixed" else History(w.pop, w.cfg.days, w.cfg.change_rate, order=order)
            self.assertGreater(self._check_all_steps(w, sample, h), 1500)

    def test_high_change_rate(self):
        """At change rate 1.0 persons run out of citizenships to acquire
        (this crashed start-up once); they give one up instead, and every
        change still applies."""
        w = world(persons=1000, seed=1, change_rate=1.0)
        self.assertEqual(self._check_all_steps(w, range(1000)), len(w.hist.ev_ms))
        lost = 0
        for i in range(1000):
            for s in events.timeline(w.pop, w.hist, i)[1]:
                for g in s.groups:
                    if g["tietoryhma"] == "KANSALAISUUS" and g["poistetutKansalaisuudet"]:
                        lost += 1
                        self.assertNotIn(g["poistetutKansalaisuudet"][0]["kansalaisuuskoodi"],
                                         [x["kansalaisuuskoodi"] for x in g["henkilonKansalaisuudet"]])
                        self.assertEqual(g["voimassaolevatTiedot"][0]["henkilonKansalaisuudet"],
                                         g["henkilonKansalaisuudet"])
        self.assertGreater(lost, 0)

    def test_hetu_corrections(self):
        h = self.h
        self.assertTrue(h.corrections)
        for i, (e, new) in h.corrections.items():
            self.assertTrue(hetu.is_test_hetu(new))
            self.assertNotIn(new, self.w.pop.index)
            init, steps = events.timeline(self.w.pop, h, i)
            step = [s for s in steps if s.e == e][0]
            self.assertEqual(step.hetu, self.w.pop.hetus[i])
            kinds = [(g["tietoryhma"], g.get("voimassaolo"), g["muutosattribuutti"]) for g in step.groups]
            hk = [k for k in kinds if k[0] == "HENKILOTUNNUS_KORJAUS"]
            self.assertEqual(sorted(hk), [("HENKILOTUNNUS_KORJAUS", "AKTIIVI", "LISATTY"),
                                          ("HENKILOTUNNUS_KORJAUS", "PASSIIVI", "MUUTETTU")])
            self.assertIn(("HENKILON_NIMI", None, "LISATIETO"), kinds)
            hk = step.state["HENKILOTUNNUS_KORJAUS"][0]
            self.assertEqual(hk["aktiivinenHenkilotunnus"], new)
            self.assertEqual(hk["edellisetHenkilotunnukset"], [self.w.pop.hetus[i]])
            for s in steps:
                self.assertEqual(s.hetu, self.w.pop.hetus[i] if s.e <= e else new)

    def test_parallel_serialisation_identical(self):
        """The forked start-up path yields byte-identical change records and
        person records."""
        a = world(persons=4000, seed=8, workers=1)
        b = world(persons=4000, seed=8, workers=3, parallel_min=0)
        self.assertEqual(len(b._segs), 3)
        self.assert_same_records(a, b)

    def assert_same_records(self, a, b):
        """Every change record and every person record, in both views."""
        for e in range(len(a.hist.ev_ms)):
            self.assertTrue(b.change_record(e))
            self.assertEqual(a.change_record(e), b.change_record(e))
            self.assertEqual(a.change_record(e, True), b.change_record(e, True))
        self.assertEqual(a.rec_until, b.rec_until)
        for s in range(len(a.rec_len)):
            self.assertEqual(a.record(s), b.record(s))
            self.assertEqual(a.record(s, True), b.record(s, True))

    def test_deflated_records_identical(self):
        """Records kept deflated in the arena (the mode of the largest populations) are served
        byte for byte as the plain arena serves them: every change record and every person
        record in both views, and whole /perustiedot answers at several presents."""
        a = world(persons=3000, seed=9, workers=2, parallel_min=0, compress="off")
        b = world(persons=3000, seed=9, workers=2, parallel_min=0, compress="on")
        self.assertIsNone(a.zdict)
        self.assertEqual(len(b.zdict), 32768)
        self.assertLess(b.arena_bytes * 4, a.arena_bytes)
        self.assert_same_records(a, b)
        hetus = a.pop.hetus
        for days in (0, 90, 400):
            a.advance(0, days=days)
            b.advance(0, days=days)
            for account in ("mutpT1", "mutpT1x"):
                for k in range(0, len(hetus), 1000):
                    self.assertEqual(a.perustiedot(hetus[k:k + 1000], account),
                                     b.perustiedot(hetus[k:k + 1000], account))
                self.assertEqual(a.muutokset(0, hetus, account, page_size=100000),
                                 b.muutokset(0, hetus, account, page_size=100000))

    def test_compress_auto_by_size(self):
        from vtjmock import store
        self.assertIsNone(world(persons=500).zdict)
        saved = store.COMPRESS_AUTO_PERSONS
        store.COMPRESS_AUTO_PERSONS = 500
        try:
            self.assertIsNotNone(world(persons=500).zdict)
        finally:
            store.COMPRESS_AUTO_PERSONS = saved

    def test_records_equal_states(self):
        """Every pre-rendered record (all versions, both views) is the
        rendering of the state at that version, every pre-rendered change
        record (both views) the rendering of the timeline's change, under
        each order; the fast initial-record path agrees byte for byte with
        the dict path."""
        from vtjmock import fastinit, render
        from vtjmock.store import censor_state_dict
        from vtjmock.timeutil import helsinki_date, iso_ms
        for persons, seed, order in ((3000, 5, "mixed"), (6000, 21, "mixed"),
                                     (3000, 5, "new-first"), (3000, 5, "closing-first")):
            w = world(persons=persons, seed=seed, workers=2, parallel_min=0, order=order)
            h = w.hist
            self.assertEqual(h.order, order)
            fast = 0
            for i in range(persons):
                init, steps = events.timeline(w.pop, h, i)
                for s in steps:
                    plain = render.change_bytes(s.hetu, iso_ms(h.ev_ms[s.e]), s.groups)
                    self.assertEqual(w.change_record(s.e), plain, (i, s.e, order))
                    if censor.is_protected(s.state, helsinki_date(h.ev_ms[s.e]).toordinal()):
                        plain = render.change_bytes(s.hetu, iso_ms(h.ev_ms[s.e]),
                                                    censor.censor_change_groups(s.groups))
                    self.assertEqual(w.change_record(s.e, True), plain, (i, s.e, order))
                states = [init] + [s.state for s in steps]
                for k, st in enumerate(states):
                    slot = i + h.p_off[i] + k
                    hetu_ = st["HENKILOTUNNUS_KORJAUS"][0]["aktiivinenHenkilotunnus"]
                    plain = render.person_bytes(hetu_, render.state_records(st))
                    self.assertEqual(w.record(slot), plain, (i, k))
                    until = censor.protection_until(st)
                    self.assertEqual(w.rec_until[slot], until or 0)
                    if until is not None:
                        self.assertEqual(w.record(slot, True), render.person_bytes(
                            hetu_, render.state_records(censor_state_dict(st))))
                    else:
                        self.assertEqual(w.record(slot, True), plain)
                fb = fastinit.initial_bytes(w.pop, h, i)
                if fb is not None:
                    fast += 1
                    self.assertEqual(fb, render.person_bytes(
                        w.pop.hetus[i], render.state_records(init)), i)
            self.assertGreater(fast, persons * 0.9)

    def test_flags_agree_with_states(self):
        """The scheduler's flags (used for /_control/hetut?kind=) agree with
        the generated states."""
        h = self.h
        for i in range(self.w.pop.size):
            init, steps = events.timeline(self.w.pop, h, i)
            for k in range(len(steps) + 1):
                st = steps[k - 1].state if k else init
                upto = steps[k].e if k < len(steps) else len(h.ev_ms)
                f1, f2, pend = h.flags_at(i, upto)
                dead = bool(st.get("KUOLINPAIVA") and st["KUOLINPAIVA"][0]["kuollut"])
                self.assertEqual(bool(f1 & 1), dead, i)
                self.assertEqual(bool(f1 & 2), "VAKINAINEN_ULKOMAINEN_OSOITE" in st, i)
                until = censor.protection_until(st)
                self.assertEqual(bool(f1 & 4), until is not None, i)
                if until is not None:
                    self.assertEqual(pend or censor.NO_END, until, i)



def order_counts(pop, hist):
    """Counter of (kind name, dimension, order) over every change, and the
    list of changes that break their forced order within a group type."""
    c = collections.Counter()
    bad = []
    for i in range(pop.size):
        if hist.p_off[i + 1] == hist.p_off[i]:
            continue
        for s in events.timeline(pop, hist, i)[1]:
            kind = KINDS[hist.ev_kind[s.e]]
            for dim, o in order_facts(s.groups).items():
                c[(kind, dim, o)] += 1
            if hist.order != "mixed" and type_order_violations(s.groups, hist.order):
                bad.append((i, kind))
    return c, bad


def by_dimension(c):
    d = collections.Counter()
    for (_kind, dim, o), n in c.items():
        d[(dim, o)] += n
    return d


class OrderTest(unittest.TestCase):
    """The order of the records inside a change (--order): the default mixes
    DVV's order (new record first, AKTIIVI first, LISATIETO last) and the
    opposite about half each; a forced order gives only that one; the order
    is the only thing --order changes."""

    @classmethod
    def setUpClass(cls):
        cls.pop = Population(2000, 5, START)
        cls.hists = {o: History(cls.pop, 400, 0.035, order=o) for o in ORDERS}
        cls.counts = {o: order_counts(cls.pop, h) for o, h in cls.hists.items()}

    def assertShare(self, a, b, what):
        self.assertGreater(a + b, 0, what)
        share = a / (a + b)
        self.assertTrue(0.3 <= share <= 0.7, "%s: %d closing-first, %d new-first" % (what, a, b))

    def test_forced_orders_give_one_order(self):
        least = {"close": 300, "context": 200, "voimassa": 20, "hetu": 3}
        for order in (CLOSING_FIRST, NEW_FIRST):
            c, bad = self.counts[order]
            self.assertEqual(bad, [], order)
            d = by_dimension(c)
            for dim in DIMENSIONS:
                self.assertGreaterEqual(d[(dim, order)], least[dim], (order, dim))
                self.assertEqual(sum(n for (dm, _o), n in d.items() if dm == dim), d[(dim, order)],
                                 (order, dim, d))

    def test_default_mix_shares(self):
        c, _bad = self.counts["mixed"]
        d = by_dimension(c)
        for dim in DIMENSIONS:
            self.assertEqual(d[(dim, "between")], 0, dim)
        for dim in ("close", "context"):
            self.assertShare(d[(dim, CLOSING_FIRST)], d[(dim, NEW_FIRST)], "2000 persons, " + dim)
        for dim in ("voimassa", "hetu"):
            self.assertGreater(d[(dim, CLOSING_FIRST)], 0, dim)
            self.assertGreater(d[(dim, NEW_FIRST)], 0, dim)
        # enough of the rarer kinds for shares: 40,000 persons
        pop = Population(40000, 5, START)
        c, _bad = order_counts(pop, History(pop, 400, 0.035))
        d = by_dimension(c)
        for dim in DIMENSIONS:
            self.assertShare(d[(dim, CLOSING_FIRST)], d[(dim, NEW_FIRST)], "40000 persons, " + dim)
        seen = set()
        for kind, dim in {(k, dm) for k, dm, _o in c}:
            a, b = c[(kind, dim, CLOSING_FIRST)], c[(kind, dim, NEW_FIRST)]
            if a + b >= 10:
                seen.add((kind, dim))
                self.assertTrue(a and b, (kind, dim, a, b))
            if a + b >= 40:
                self.assertShare(a, b, "40000 persons, %s %s" % (kind, dim))
        for kind, dim in (("MOVE", "close"), ("MOVE", "context"), ("MOVE_ABROAD", "close"),
                          ("RETURN", "close"), ("POSTAL_CHANGE", "close"), ("LANG", "close"),
                          ("SURNAME", "close"), ("TK_END", "close"), ("MOVE_REVERT", "voimassa"),
                          ("MOVE_REVERT", "context"), ("GUARDIAN_MOD", "voimassa"),
                          ("HETU_CORR", "hetu"), ("HETU_CORR", "context"), ("TK_START", "context"),
                          ("TK_START_CONTACT", "context"), ("TK_START_EXP", "context")):
            self.assertIn((kind, dim), seen)

    def test_order_changes_only_the_order(self):
        """Same states and hetus under every order, each change the same
        records in another order; and the orders do differ."""
        differs = collections.Counter()
        pop = self.pop
        for i in range(pop.size):
            if self.hists["mixed"].p_off[i + 1] == self.hists["mixed"].p_off[i]:
                continue
            lines = {o: events.timeline(pop, h, i) for o, h in self.hists.items()}
            init, steps = lines["mixed"]
            for o, (init_o, steps_o) in lines.items():
                self.assertEqual(init_o, init)
                self.assertEqual(len(steps_o), len(steps))
                for a, b in zip(steps, steps_o):
                    self.assertEqual((a.e, a.hetu, a.state), (b.e, b.hetu, b.state))
                    self.assertEqual(sorted(json.dumps(g, sort_keys=True) for g in a.groups),
                                     sorted(json.dumps(g, sort_keys=True) for g in b.groups))
                    if a.groups != b.groups:
                        differs[o] += 1
        n = len(self.hists["mixed"].ev_ms)
        self.assertEqual(differs["mixed"], 0)
        self.assertGreater(differs[CLOSING_FIRST], n * 0.2)
        self.assertGreater(differs[NEW_FIRST], n * 0.2)

    def test_same_seed_same_orders(self):
        pop = Population(2000, 5, START)
        for order in ORDERS:
            h = History(pop, 400, 0.035, order=order)
            for i in range(0, 2000, 7):
                a = events.timeline(pop, h, i)[1]
                b = events.timeline(self.pop, self.hists[order], i)[1]
                self.assertEqual([s.groups for s in a], [s.groups for s in b], (order, i))
        with self.assertRaises(ValueError):
            History(pop, 400, 0.035, order="random")

if __name__ == "__main__":
    unittest.main()
