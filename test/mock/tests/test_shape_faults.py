"""The fault kinds that reshape a normal answer (phase "shape"): answers that do not fit the
request, bookmarks the interface cannot have issued, a key twice, a change without a time, and an
interface that has no bookmark for a day after the present."""
import datetime
import json
import unittest

from tests.mockproc import Mock
from vtjmock import hetu as H


class ShapeFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock("--start-days", "200", persons=1500, seed=31)
        cls.base = cls.m.state()["base_bookmark"]
        cls.changed = cls.m.hetut("changed", limit=40)
        cls.hetus = cls.m.hetut(limit=20)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def tearDown(self):
        self.m.control("DELETE", "fault")
        self.m.control("POST", "config", {"future_kirjausavain": None})

    def arm(self, kind, **kw):
        return self.m.control("POST", "fault", dict(kw, kind=kind))

    def muutokset(self, hetus=None, after=None):
        st, _hd, data = self.m.request("POST", "/api/v1/muutokset",
                                       {"viimeisinKirjausavain": self.base if after is None else after,
                                        "hetulista": hetus or self.changed})
        self.assertEqual(st, 200)
        return data

    def perustiedot(self, hetus=None):
        st, _hd, data = self.m.request("POST", "/api/v1/perustiedot", {"hetulista": hetus or self.hetus})
        self.assertEqual(st, 200)
        return data

    def test_foreign_hetu(self):
        plain = json.loads(self.muutokset())
        self.arm("foreign_hetu", endpoint="muutokset")
        got = json.loads(self.muutokset())
        self.assertEqual(len(got["muutokset"]), len(plain["muutokset"]) + 1)
        stranger = got["muutokset"][-1]["henkilotunnus"]
        self.assertNotIn(stranger, self.changed)
        self.assertTrue(H.is_test_hetu(stranger))
        self.assertEqual(got["muutokset"][-1]["tietoryhmat"], got["muutokset"][0]["tietoryhmat"])
        self.assertEqual(json.loads(self.muutokset()), plain, "used up after one request")
        # /perustiedot: a person nobody asked for
        self.arm("foreign_hetu", endpoint="perustiedot")
        people = json.loads(self.perustiedot())["perustiedot"]
        self.assertNotIn(people[-1]["henkilotunnus"], self.hetus)
        self.assertEqual(len(people), len(self.hetus) + 1)
        # an answer without changes gets one to carry the stranger
        self.arm("foreign_hetu", endpoint="muutokset", hetu="010185-900D")
        empty = json.loads(self.muutokset(after=self.m.state()["bookmark"]))
        self.assertEqual([c["henkilotunnus"] for c in empty["muutokset"]], [self.changed[0], "010185-900D"])

    def test_garbled_hetu(self):
        plain = json.loads(self.muutokset())
        self.arm("garbled_hetu", endpoint="muutokset")
        got = json.loads(self.muutokset())
        first = got["muutokset"][0]["henkilotunnus"]
        self.assertNotEqual(first, plain["muutokset"][0]["henkilotunnus"])
        self.assertEqual(first[:-1], plain["muutokset"][0]["henkilotunnus"][:-1])
        self.assertFalse(H.is_valid(first))
        self.arm("garbled_hetu", endpoint="perustiedot")
        self.assertNotIn(json.loads(self.perustiedot())["perustiedot"][0]["henkilotunnus"], self.hetus)

    def test_duplicate_person(self):
        self.arm("duplicate_person")
        people = json.loads(self.perustiedot())["perustiedot"]
        self.assertEqual(people[-1], people[0])
        self.assertEqual(len(people), len(self.hetus) + 1)
        self.assertEqual(len(json.loads(self.perustiedot())["perustiedot"]), len(self.hetus))

    def test_bookmark_values(self):
        for value in (9223372036854775807, 5446600000.5, "5446600000", -1):
            self.arm("bookmark", endpoint="muutokset", value=value)
            data = self.muutokset()
            self.assertEqual(json.loads(data)["viimeisinKirjausavain"], value)
            self.assertIn(b'"viimeisinKirjausavain":' + json.dumps(value).encode(), data)
        # relative to the request: backwards, and below the start with ajanTasalla true
        self.arm("bookmark", endpoint="muutokset", offset=-3, ajanTasalla=True, empty=True)
        got = json.loads(self.muutokset())
        self.assertEqual(got, {"viimeisinKirjausavain": self.base - 3, "muutokset": [], "ajanTasalla": True})
        self.arm("bookmark", endpoint="kirjausavain", value=0)
        st, _hd, data = self.m.request("GET", "/api/v1/kirjausavain/2026-01-01")
        self.assertEqual(json.loads(data), {"viimeisinKirjausavain": 0})

    def test_skip_lets_the_first_requests_pass(self):
        plain = json.loads(self.muutokset())
        self.arm("bookmark", endpoint="muutokset", count=3, skip=2, offset=-1)
        self.assertEqual(json.loads(self.muutokset()), plain)
        self.assertEqual(json.loads(self.muutokset()), plain)
        self.assertEqual(json.loads(self.muutokset())["viimeisinKirjausavain"], self.base - 1)
        self.assertEqual(json.loads(self.muutokset()), plain)

    def test_duplicate_key(self):
        self.arm("duplicate_key", endpoint="muutokset")
        data = self.muutokset().decode()
        self.assertIn('{"tietoryhma":"TURVAKIELTO","muutosattribuutti":"LISATTY",'
                      '"turvakieltoAktiivinen":true,"turvakieltoAktiivinen":false}', data)
        self.assertEqual(json.loads(data)["muutokset"][0]["tietoryhmat"][-1]["turvakieltoAktiivinen"], False)
        self.arm("duplicate_key", endpoint="perustiedot")
        data = self.perustiedot().decode()
        self.assertIn('{"tietoryhma":"TURVAKIELTO","turvakieltoAktiivinen":true,"turvakieltoAktiivinen":false}', data)

    def test_bad_muutospv(self):
        self.arm("bad_muutospv")
        first = json.loads(self.muutokset())["muutokset"][0]
        self.assertEqual(first["muutospv"], "ei aikaa")
        self.arm("bad_muutospv", value=1601527084394)
        self.assertEqual(json.loads(self.muutokset())["muutokset"][0]["muutospv"], 1601527084394)
        self.arm("bad_muutospv", missing=True)
        self.assertNotIn("muutospv", json.loads(self.muutokset())["muutokset"][0])
        # only /muutokset
        self.arm("bad_muutospv")
        self.perustiedot()
        self.assertEqual(len(self.m.control("GET", "fault")), 1)

    def present_day(self):
        return datetime.date.fromisoformat(self.m.state()["present"][:10])

    def test_future_kirjausavain(self):
        today = self.present_day()
        future = (today + datetime.timedelta(days=2)).isoformat()
        past = (today - datetime.timedelta(days=30)).isoformat()
        st, _hd, data = self.m.request("GET", "/api/v1/kirjausavain/" + future)
        self.assertEqual((st, json.loads(data)["viimeisinKirjausavain"]), (200, self.m.state()["bookmark"]))
        # the fault kind: 404 for a day after the present, a past day answered
        self.arm("future_kirjausavain_404", count=2)
        st, _hd, data = self.m.request("GET", "/api/v1/kirjausavain/" + future)
        self.assertEqual(st, 404)
        self.assertEqual(json.loads(data)["status"], 404)
        st, _hd, _ = self.m.request("GET", "/api/v1/kirjausavain/" + past)
        self.assertEqual(st, 200)
        # the config flag: every such request, until turned off
        for status in (404, 400, 422):
            self.m.control("POST", "config", {"future_kirjausavain": status})
            for _ in range(2):
                st, _hd, _ = self.m.request("GET", "/api/v1/kirjausavain/" + future)
                self.assertEqual(st, status)
            st, _hd, _ = self.m.request("GET", "/api/v1/kirjausavain/" + past)
            self.assertEqual(st, 200)
        self.m.control("POST", "config", {"future_kirjausavain": None})
        st, _hd, _ = self.m.request("GET", "/api/v1/kirjausavain/" + future)
        self.assertEqual(st, 200)
        s, _b = self.m.json("POST", "/_control/config", {"future_kirjausavain": 500}, auth=None)
        self.assertEqual(s, 400)

    def test_endpoint_rules(self):
        # a kind armed for any endpoint waits for one it fits
        self.arm("duplicate_person")
        self.muutokset()
        self.m.request("GET", "/api/v1/kirjausavain/2026-01-01")
        self.assertEqual(len(self.m.control("GET", "fault")), 1)
        log = self.m.requests_log()
        self.assertEqual([r["fault"] for r in log[-2:]], [None, None])
        self.m.control("DELETE", "fault")
        self.arm("bookmark", value=1)
        self.perustiedot()
        self.assertEqual(len(self.m.control("GET", "fault")), 1)
        self.assertIsNone(self.m.requests_log()[-1]["fault"])
        self.muutokset()
        self.assertEqual(self.m.requests_log()[-1]["fault"], "bookmark")
        self.assertEqual(self.m.control("GET", "fault"), [])


if __name__ == "__main__":
    unittest.main()
