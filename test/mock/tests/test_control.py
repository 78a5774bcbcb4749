"""Control API: present/advance, hetu lists, truth, request log, config."""
import unittest

from tests.mockproc import Mock, XROAD
from vtjmock import hetu as hetumod


class ControlTest(unittest.TestCase):
    def setUp(self):
        self.m = Mock(persons=1500, seed=51)

    def tearDown(self):
        self.assertEqual(self.m.stop(), 0)

    def test_state_and_advance(self):
        m = self.m
        st = m.state()
        for k in ("present", "bookmark", "persons", "seed", "history_start", "history_end",
                  "page_size", "latency_ms"):
            self.assertIn(k, st)
        self.assertEqual(st["persons"], 1500)
        self.assertEqual(st["seed"], 51)
        self.assertEqual(st["bookmark"], st["base_bookmark"])
        self.assertEqual(st["changes_visible"], 0)
        self.assertRegex(st["present"], r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
        prev = st
        for body in ({"days": 10}, {"hours": 36}, {"days": 1.5, "minutes": 30}):
            nst = m.advance(**body)
            self.assertGreater(nst["present"], prev["present"])
            self.assertGreaterEqual(nst["bookmark"], prev["bookmark"])
            prev = nst
        end = m.advance(days=10000)
        self.assertEqual(end["changes_visible"], end["changes_total"])
        self.assertEqual(end["bookmark"], end["final_bookmark"])
        self.assertEqual(end["present_date"], end["history_end"])
        s, b = m.json("POST", "/_control/advance", {"days": -1}, auth=None)
        self.assertEqual(s, 400)
        # the present never goes back
        again = m.control("POST", "advance", {"to": st["history_start"]})
        self.assertEqual(again["present"], end["present"])

    def test_start_days(self):
        m2 = Mock("--start-days", "100", persons=1500, seed=51)
        try:
            st = m2.state()
            self.assertGreater(st["changes_visible"], 0)
            self.assertEqual(st["present"], self.m.advance(days=100)["present"])
            self.assertEqual(st["bookmark"], self.m.state()["bookmark"])
        finally:
            m2.stop()

    def test_hetut(self):
        m = self.m
        allh = m.hetut()
        self.assertEqual(len(allh), 1500)
        self.assertEqual(m.hetut(limit=10, offset=5), allh[5:15])
        for h in allh:
            self.assertTrue(hetumod.is_test_hetu(h))
        m.advance(days=400)
        for kind in ("turvakielto", "deceased", "abroad", "corrected", "passivated", "changed"):
            got = m.hetut(kind)
            self.assertTrue(got, kind)
            self.assertEqual(m.hetut(kind, limit=1), got[:1])
        truth = lambda h: {g["tietoryhma"]: g for g in m.perustiedot([h])[0]["tietoryhmat"]}
        for h in m.hetut("deceased", limit=5):
            self.assertIs(truth(h)["KUOLINPAIVA"]["kuollut"], True)
        for h in m.hetut("abroad", limit=5):
            t = truth(h)
            self.assertIn("VAKINAINEN_ULKOMAINEN_OSOITE", t)
            self.assertNotIn("VAKINAINEN_KOTIMAINEN_OSOITE", t)
        for h in m.hetut("turvakielto", limit=5):
            self.assertIs(truth(h)["TURVAKIELTO"]["turvakieltoAktiivinen"], True)
        old, new = m.hetut("passivated"), m.hetut("corrected")
        self.assertEqual(len(old), len(new))
        self.assertEqual(m.perustiedot(old), [])
        for o, n in zip(old, new):
            self.assertEqual(truth(n)["HENKILOTUNNUS_KORJAUS"]["edellisetHenkilotunnukset"], [o])
        s, b = m.json("GET", "/_control/hetut?kind=bogus", auth=None)
        self.assertEqual(s, 400)

    def test_truth_not_logged_and_same_as_perustiedot(self):
        m = self.m
        m.advance(days=200)
        h = m.hetut("turvakielto", limit=1)[0]
        m.control("DELETE", "requests")
        for acc in ("mutpT1", "mutpT1x"):
            t = m.control("GET", "truth?hetu=%s&account=%s" % (h, acc))
            self.assertEqual(t["perustiedot"], m.perustiedot([h], acc))
        log = m.requests_log()
        self.assertEqual([e["endpoint"] for e in log], ["perustiedot", "perustiedot"])

    def test_request_log(self):
        m = self.m
        m.control("DELETE", "requests")
        hs = m.hetut(limit=7)
        m.request("GET", "/api/v1/kirjausavain/2026-01-01")
        m.muutokset(1, hs)
        m.request("POST", XROAD + "/api/v1/perustiedot", {"hetulista": hs[:3]})
        m.request("POST", "/api/v1/perustiedot", {"hetulista": hs}, auth="mutpT1x",
                  headers={"Authorization": "Basic eA=="})
        m.request("GET", "/api/v1/nothing")
        log = m.requests_log()
        self.assertEqual([e["endpoint"] for e in log],
                         ["kirjausavain", "muutokset", "perustiedot", "perustiedot", "other"])
        self.assertEqual([e["hetus"] for e in log[:3]], [0, 7, 3])
        self.assertEqual([e["status"] for e in log], [200, 200, 200, 401, 404])
        for e in log:
            for k in ("method", "path", "endpoint", "hetus", "status", "bytes", "duration_ms", "fault"):
                self.assertIn(k, e)
            self.assertIsNone(e["fault"])
            self.assertGreaterEqual(e["duration_ms"], 0)
        self.assertEqual(log[2]["path"], XROAD + "/api/v1/perustiedot")
        self.assertGreater(log[2]["bytes"], 1000)
        m.control("DELETE", "requests")
        self.assertEqual(m.requests_log(), [])

    def test_config(self):
        m = self.m
        self.assertEqual(m.control("POST", "config", {"page_size": 3})["page_size"], 3)
        s, b = m.json("POST", "/_control/config", {"page_size": 0}, auth=None)
        self.assertEqual(s, 400)
        s, b = m.json("GET", "/_control/nothing", auth=None)
        self.assertEqual(s, 404)

    def test_determinism_over_http(self):
        m = self.m
        m2 = Mock(persons=1500, seed=51)
        m3 = Mock(persons=1500, seed=52)
        try:
            hs = m.hetut()
            self.assertEqual(hs, m2.hetut())
            self.assertNotEqual(hs, m3.hetut())
            for x in (m, m2):
                x.advance(days=400)
            a = m.all_changes(0, hs)
            b = m2.all_changes(0, hs)
            self.assertEqual(a, b)
            self.assertEqual(m.perustiedot(hs[:500], "mutpT1x"), m2.perustiedot(hs[:500], "mutpT1x"))
        finally:
            m2.stop()
            m3.stop()


if __name__ == "__main__":
    unittest.main()
