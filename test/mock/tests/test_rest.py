"""REST endpoints against docs/interface.md: shapes, URL forms, paging, limits."""
import datetime
import json
import re
import unittest

from tests.mockproc import Mock, XROAD, basic, PASSWORD
from vtjmock import hetu as hetumod

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
BILINGUAL = ("katunimi", "postitoimipaikka", "postiosoite")
INTEGER_FIELDS = ("osoitenumero", "lajikoodi", "viranomaisnumero", "uskontokunta",
                  "vuodenvaihde", "jarjestysnumero")
STRING_FIELDS = ("kuntakoodi", "valtiokoodi", "kansalaisuuskoodi", "postinumero",
                 "huoneistonumero", "katunumero")
try:
    from zoneinfo import ZoneInfo
    _HEL = ZoneInfo("Europe/Helsinki")

    def helsinki(stamp):
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(_HEL).date()
except Exception:   # no tzdata: fall back on the mock's own rule
    from vtjmock.timeutil import helsinki_date, parse_iso_ms

    def helsinki(stamp):
        return helsinki_date(parse_iso_ms(stamp))

HETU_KEYS = ("henkilotunnus", "muutettuHenkilotunnus", "aktiivinenHenkilotunnus",
             "edellisetHenkilotunnukset")


def check_shapes(tc, obj, key=None, in_group=None):
    """Field types as documented in docs/interface.md#value-objects."""
    if isinstance(obj, dict):
        if "tarkkuus" in obj or "arvo" in obj:
            tc.assertEqual(set(obj), {"arvo", "tarkkuus"})
            tc.assertIn(obj["tarkkuus"], ("PAIVA", "KUUKAUSI", "VUOSI"))
            datetime.date.fromisoformat(obj["arvo"])
            return
        grp = obj.get("tietoryhma", in_group)
        for k, v in obj.items():
            if k in INTEGER_FIELDS:
                tc.assertIsInstance(v, int, k)
                tc.assertNotIsInstance(v, bool, k)
            if k in STRING_FIELDS:
                tc.assertIsInstance(v, str, k)
            if k in BILINGUAL and grp not in ("ULKOMAINEN_POSTIOSOITE", "ULKOMAINEN_YHTEYSOSOITE"):
                tc.assertIsInstance(v, dict, k)
                tc.assertIn("fi", v)
                tc.assertTrue(set(v) <= {"fi", "sv"})
            if k in HETU_KEYS:
                for h in (v if isinstance(v, list) else [v]):
                    tc.assertTrue(hetumod.is_test_hetu(h), h)
            if k in ("kuollut", "turvakieltoAktiivinen"):
                tc.assertIsInstance(v, bool)
            check_shapes(tc, v, k, grp)
    elif isinstance(obj, list):
        for v in obj:
            check_shapes(tc, v, key, in_group)


class RestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock(persons=2000, seed=11)
        cls.hetus = cls.m.hetut()
        cls.base = cls.m.state()["bookmark"]

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    # ----------------------------------------------------------- kirjausavain
    def test_kirjausavain(self):
        m = self.m
        st = m.state()
        for path in ("/api/v1/kirjausavain/2026-01-15", XROAD + "/api/v1/kirjausavain/2026-01-15"):
            s, b = m.json("GET", path)
            self.assertEqual(s, 200)
            self.assertEqual(list(b), ["viimeisinKirjausavain"])
            self.assertIsInstance(b["viimeisinKirjausavain"], int)
            # a date after the present -> the present's bookmark
            self.assertEqual(b["viimeisinKirjausavain"], st["bookmark"])
        s, b = m.json("GET", "/api/v1/kirjausavain/2000-01-01")
        self.assertEqual(b["viimeisinKirjausavain"], st["base_bookmark"])
        for bad in ("2026-13-01", "20260101", "2026-02-30", "huomenna"):
            s, b = m.json("GET", "/api/v1/kirjausavain/" + bad)
            self.assertEqual(s, 400, bad)
            self.assertIn("message", b)

    def test_kirjausavain_day_boundaries(self):
        """The bookmark of day D is the last change before D 00:00 Helsinki:
        changes fetched after it start on day D (Helsinki)."""
        m = Mock("--start-days", "400", persons=3000, seed=12)
        try:
            hs = m.hetut()
            for day in ("2025-12-01", "2026-03-29", "2026-06-15", "2026-10-25"):
                s, b = m.json("GET", "/api/v1/kirjausavain/" + day)
                key = b["viimeisinKirjausavain"]
                ch, _, _ = m.all_changes(key, hs)
                self.assertTrue(ch)
                d = datetime.date.fromisoformat(day)
                # independent clock: the system zoneinfo when present
                self.assertGreaterEqual(helsinki(ch[0]["muutospv"]), d, day)
                before, _, _ = m.all_changes(m.state()["base_bookmark"], hs)
                last_before = [c for c in before if helsinki(c["muutospv"]) < d][-1]
                self.assertLess(helsinki(last_before["muutospv"]), d)
                # and the day before has a change after the previous bookmark
                prev = (d - datetime.timedelta(days=1)).isoformat()
                _s, pb = m.json("GET", "/api/v1/kirjausavain/" + prev)
                self.assertLess(pb["viimeisinKirjausavain"], key)
        finally:
            m.stop()

    # -------------------------------------------------------------- muutokset
    def test_muutokset_empty_at_start(self):
        s, b = self.m.muutokset(self.base, self.hetus[:50])
        self.assertEqual(s, 200)
        self.assertEqual(b, {"viimeisinKirjausavain": self.base, "muutokset": [], "ajanTasalla": True})
        s, b = self.m.muutokset(self.base, [])
        self.assertEqual(b["muutokset"], [])
        self.assertTrue(b["ajanTasalla"])

    def test_muutokset_validation(self):
        m = self.m
        for body in (None, b"", b"{", b"[]", {"hetulista": []},
                     {"viimeisinKirjausavain": "123", "hetulista": []},
                     {"viimeisinKirjausavain": True, "hetulista": []},
                     {"viimeisinKirjausavain": 1.5, "hetulista": []},
                     {"viimeisinKirjausavain": 1},
                     {"viimeisinKirjausavain": 1, "hetulista": "010101-900R"},
                     {"viimeisinKirjausavain": 1, "hetulista": [1, 2]}):
            s, hd, data = m.request("POST", "/api/v1/muutokset", body)
            self.assertEqual(s, 400, body)
            self.assertTrue(hd["content-type"].startswith("application/json"))
            self.assertIn("message", json.loads(data))
        # tuotekoodi and unknown keys are accepted and ignored
        s, b = m.json("POST", "/api/v1/muutokset", {"viimeisinKirjausavain": self.base,
                                                     "hetulista": [], "tuotekoodi": "mutpT1",
                                                     "jokuUusi": 1})
        self.assertEqual(s, 200)
        s, hd, _ = m.request("GET", "/api/v1/muutokset")
        self.assertEqual(s, 405)


class PagingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock("--page-size", "37", "--start-days", "400", persons=2000, seed=13)
        cls.hetus = cls.m.hetut()
        cls.st = cls.m.state()

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def test_paging(self):
        m = self.m
        after = self.st["base_bookmark"]
        seen = []
        pages = 0
        while True:
            s, b = m.muutokset(after, self.hetus)
            self.assertEqual(s, 200)
            self.assertEqual(list(b), ["viimeisinKirjausavain", "muutokset", "ajanTasalla"])
            self.assertIsInstance(b["viimeisinKirjausavain"], int)
            self.assertGreaterEqual(b["viimeisinKirjausavain"], after)
            pages += 1
            if not b["ajanTasalla"]:
                self.assertEqual(len(b["muutokset"]), 37)
                self.assertGreater(b["viimeisinKirjausavain"], after)
            else:
                self.assertLessEqual(len(b["muutokset"]), 37)
                self.assertEqual(b["viimeisinKirjausavain"], self.st["bookmark"])
            for ch in b["muutokset"]:
                self.assertEqual(list(ch), ["henkilotunnus", "muutospv", "tietoryhmat"])
                self.assertRegex(ch["muutospv"], ISO_MS)
                self.assertTrue(ch["tietoryhmat"])
                for g in ch["tietoryhmat"]:
                    self.assertIn(g["muutosattribuutti"],
                                  ("LISATTY", "MUUTETTU", "POISTETTU", "KORJATTAVA", "KORJATTU",
                                   "LISATIETO"))
                check_shapes(self, ch)
            seen.extend(b["muutokset"])
            after = b["viimeisinKirjausavain"]
            if b["ajanTasalla"]:
                break
        self.assertGreater(pages, 3)
        stamps = [c["muutospv"] for c in seen]
        self.assertEqual(stamps, sorted(stamps))
        self.assertEqual(len(set(stamps)), len(stamps))
        # every change of the listed persons (those with a corrected hetu
        # have later changes under the new hetu only)
        self.assertGreater(len(seen), self.st["changes_visible"] * 0.9)
        # again from the final bookmark: nothing new
        s, b = m.muutokset(after, self.hetus)
        self.assertEqual(b["muutokset"], [])
        self.assertEqual(b["viimeisinKirjausavain"], after)
        self.assertTrue(b["ajanTasalla"])

    def test_page_size_control_and_xroad_form(self):
        m = self.m
        m.control("POST", "config", {"page_size": 5})
        try:
            s, b = m.json("POST", XROAD + "/api/v1/muutokset",
                          {"viimeisinKirjausavain": self.st["base_bookmark"], "hetulista": self.hetus})
            self.assertEqual(s, 200)
            self.assertEqual(len(b["muutokset"]), 5)
            self.assertFalse(b["ajanTasalla"])
        finally:
            m.control("POST", "config", {"page_size": 37})

    def test_bookmark_ahead_of_present(self):
        s, b = self.m.muutokset(self.st["bookmark"] + 10 ** 6, self.hetus[:10])
        self.assertEqual(b["viimeisinKirjausavain"], self.st["bookmark"] + 10 ** 6)
        self.assertTrue(b["ajanTasalla"])

    def test_unknown_hetus_ignored(self):
        s, b = self.m.muutokset(self.st["base_bookmark"], ["010101-0000", "nonsense", ""])
        self.assertEqual(s, 200)
        self.assertEqual(b["muutokset"], [])

    # ------------------------------------------------------------ perustiedot
    def test_perustiedot_shape_order_and_unknowns(self):
        m = self.m
        req = [self.hetus[5], "010101-0000", self.hetus[3], "123456-111A", self.hetus[9]]
        for path in ("/api/v1/perustiedot", XROAD + "/api/v1/perustiedot"):
            s, b = m.json("POST", path, {"hetulista": req})
            self.assertEqual(s, 200)
            self.assertEqual(list(b), ["perustiedot", "ajanTasalla"])
            self.assertIs(b["ajanTasalla"], True)
            got = [p["henkilotunnus"] for p in b["perustiedot"]]
            self.assertEqual(got, [self.hetus[5], self.hetus[3], self.hetus[9]])
            for p in b["perustiedot"]:
                self.assertEqual(list(p), ["henkilotunnus", "tietoryhmat"])
                for g in p["tietoryhmat"]:
                    self.assertNotIn("muutosattribuutti", g)
                    self.assertNotIn("voimassaolevatTiedot", g)
                types = [g["tietoryhma"] for g in p["tietoryhmat"]]
                self.assertIn("HENKILOTUNNUS_KORJAUS", types)
                hk = [g for g in p["tietoryhmat"] if g["tietoryhma"] == "HENKILOTUNNUS_KORJAUS"][0]
                self.assertEqual(hk["aktiivinenHenkilotunnus"], p["henkilotunnus"])
                check_shapes(self, p)

    def test_perustiedot_limit(self):
        m = self.m
        s, b = m.json("POST", "/api/v1/perustiedot", {"hetulista": self.hetus[:1000]})
        self.assertEqual(s, 200)
        self.assertEqual(len(b["perustiedot"]), len(set(self.hetus[:1000]) - set(m.hetut("passivated"))))
        s, b = m.json("POST", "/api/v1/perustiedot", {"hetulista": self.hetus[:1001]})
        self.assertEqual(s, 400)
        self.assertIn("1000", b["message"])
        for body in ({}, {"hetulista": "x"}, {"hetulista": [1]}, {"hetulista": [], "tietoryhmat": "X"}):
            s, b = m.json("POST", "/api/v1/perustiedot", body)
            self.assertEqual(s, 400, body)

    def test_perustiedot_filter(self):
        m = self.m
        hs = self.hetus[:200]
        full = m.perustiedot(hs)
        part = m.perustiedot(hs, tietoryhmat=["HENKILON_NIMI", "KOTIKUNTA"])
        self.assertEqual(len(full), len(part))
        for f, p in zip(full, part):
            want = [g for g in f["tietoryhmat"] if g["tietoryhma"] in ("HENKILON_NIMI", "KOTIKUNTA")]
            self.assertEqual(p["tietoryhmat"], want)
        # null means "no filter"
        s, b = m.json("POST", "/api/v1/perustiedot", {"hetulista": hs[:3], "tietoryhmat": None})
        self.assertEqual(b["perustiedot"], full[:3])

    def test_every_served_hetu_valid(self):
        m = self.m
        found = []

        def grab(obj):
            if isinstance(obj, dict):
                for k, v in obj.items():
                    if k in HETU_KEYS:
                        found.extend(v if isinstance(v, list) else [v])
                    else:
                        grab(v)
            elif isinstance(obj, list):
                for v in obj:
                    grab(v)
        grab(m.perustiedot(self.hetus))
        ch, _, _ = m.all_changes(self.st["base_bookmark"], self.hetus + m.hetut("corrected"))
        grab(ch)
        self.assertGreater(len(found), 2000)
        for h in found:
            self.assertTrue(hetumod.is_test_hetu(h), h)


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock(persons=300, seed=14)
        cls.x = Mock("--require-xroad-client", persons=300, seed=14)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.x.stop()

    def test_basic_and_mutp_headers(self):
        m = self.m
        path = "/api/v1/kirjausavain/2026-01-01"
        for acc in ("mutpT1", "mutpT1x"):
            s, _, _ = m.request("GET", path, auth=None, headers={"Authorization": basic(acc)})
            self.assertEqual(s, 200)
            s, _, _ = m.request("GET", path, auth=None,
                                headers={"MUTP-Tunnus": acc, "MUTP-Salasana": PASSWORD})
            self.assertEqual(s, 200)

    def test_rejections(self):
        m = self.m
        path = "/api/v1/perustiedot"
        cases = [{}, {"Authorization": basic("mutpT1", "wrong")},
                 {"Authorization": basic("someone")}, {"Authorization": "Bearer abc"},
                 {"Authorization": "Basic !!!"},
                 {"MUTP-Tunnus": "mutpT1", "MUTP-Salasana": "wrong"}, {"MUTP-Tunnus": "mutpT1"}]
        for h in cases:
            s, hd, data = m.request("POST", path, {"hetulista": []}, auth=None, headers=h)
            self.assertEqual(s, 401, h)
            self.assertTrue(hd["content-type"].startswith("application/json"))
            self.assertEqual(json.loads(data)["status"], 401)
            self.assertIn("www-authenticate", hd)

    def test_xroad_client_required(self):
        x = self.x
        path = XROAD + "/api/v1/kirjausavain/2026-01-01"
        s, hd, data = x.request("GET", path)
        self.assertEqual(s, 400)
        body = json.loads(data)
        self.assertEqual(set(body), {"type", "message", "detail"})
        s, _, _ = x.request("GET", path, headers={"X-Road-Client": "just-one-part"})
        self.assertEqual(s, 400)
        s, _, _ = x.request("GET", path, headers={"X-Road-Client": "FI-TEST/MUN/0132947-3/evaka-client"})
        self.assertEqual(s, 200)
        # without the flag the header is optional
        s, _, _ = self.m.request("GET", path)
        self.assertEqual(s, 200)

    def test_unknown_path(self):
        s, hd, data = self.m.request("GET", "/api/v1/olematon")
        self.assertEqual(s, 404)
        self.assertIn("message", json.loads(data))


if __name__ == "__main__":
    unittest.main()
