"""Every fault kind of the control API."""
import json
import socket
import time
import unittest

from tests.mockproc import Mock, basic


class FaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock("--start-days", "200", persons=1500, seed=31)
        cls.hetus = cls.m.hetut()
        cls.base = cls.m.state()["base_bookmark"]

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def tearDown(self):
        self.m.control("DELETE", "fault")

    def arm(self, kind, **kw):
        body = dict(kw, kind=kind)
        return self.m.control("POST", "fault", body)

    def muutokset(self, fresh=True):
        return self.m.request("POST", "/api/v1/muutokset",
                              {"viimeisinKirjausavain": self.base, "hetulista": self.hetus},
                              fresh=fresh)

    def last_log(self):
        return self.m.requests_log()[-1]

    def test_status_faults(self):
        for kind, status in (("http_400", 400), ("http_401", 401), ("http_403", 403),
                             ("http_404", 404), ("http_500", 500), ("http_502", 502),
                             ("http_503", 503), ("http_504", 504)):
            self.arm(kind)
            s, hd, data = self.muutokset()
            self.assertEqual(s, status, kind)
            self.assertEqual(json.loads(data)["status"], status)
            log = self.last_log()
            self.assertEqual((log["status"], log["fault"], log["endpoint"]), (status, kind, "muutokset"))
            s, _, _ = self.muutokset()
            self.assertEqual(s, 200, "fault %s must hit only once" % kind)

    def test_429_retry_after_and_count(self):
        self.arm("http_429", count=2, retry_after=7)
        for _ in range(2):
            s, hd, _ = self.muutokset()
            self.assertEqual(s, 429)
            self.assertEqual(hd["retry-after"], "7")
        s, _, _ = self.muutokset()
        self.assertEqual(s, 200)
        self.arm("http_429")
        s, hd, _ = self.muutokset()
        self.assertEqual(hd["retry-after"], "1")

    def test_endpoint_filter(self):
        self.arm("http_503", endpoint="perustiedot")
        s, _, _ = self.muutokset()
        self.assertEqual(s, 200)
        s, _, _ = self.m.request("GET", "/api/v1/kirjausavain/2026-01-01")
        self.assertEqual(s, 200)
        s, _, _ = self.m.request("POST", "/api/v1/perustiedot", {"hetulista": self.hetus[:3]})
        self.assertEqual(s, 503)
        self.arm("http_500", endpoint="kirjausavain")
        s, _, _ = self.m.request("GET", "/api/v1/kirjausavain/2026-01-01")
        self.assertEqual(s, 500)

    def test_arm_validation_and_disarm(self):
        for bad in ({"kind": "nope"}, {"kind": "http_500", "count": 0},
                    {"kind": "http_500", "endpoint": "x"}, {"kind": "slow", "delay_ms": -1}):
            s, b = self.m.json("POST", "/_control/fault", bad, auth=None)
            self.assertEqual(s, 400, bad)
        self.arm("http_500", count=5)
        self.assertEqual(self.m.control("DELETE", "fault")["disarmed"], 1)
        s, _, _ = self.muutokset()
        self.assertEqual(s, 200)

    def test_xroad_fault(self):
        self.arm("xroad_fault")
        s, hd, data = self.muutokset()
        self.assertEqual(s, 500)
        b = json.loads(data)
        self.assertEqual(b["type"], "Server.ServerProxy.ServiceFailed")
        self.assertEqual(set(b), {"type", "message", "detail"})

    def test_html_error(self):
        self.arm("html_error")
        s, hd, data = self.muutokset()
        self.assertEqual(s, 502)
        self.assertTrue(hd["content-type"].startswith("text/html"))
        self.assertIn(b"<html>", data)

    def test_invalid_json(self):
        self.arm("invalid_json")
        s, hd, data = self.muutokset()
        self.assertEqual(s, 200)
        self.assertTrue(hd["content-type"].startswith("application/json"))
        with self.assertRaises(ValueError):
            json.loads(data)

    def test_truncated_json(self):
        _s, _h, full = self.muutokset()
        self.arm("truncated_json")
        s, hd, data = self.muutokset()
        self.assertEqual(s, 200)
        self.assertEqual(int(hd["content-length"]), len(data))
        self.assertLess(len(data), len(full))
        self.assertTrue(full.startswith(data))
        with self.assertRaises(ValueError):
            json.loads(data)

    def test_nul_escape(self):
        self.arm("nul_escape", endpoint="perustiedot")
        s, hd, data = self.m.request("POST", "/api/v1/perustiedot", {"hetulista": self.hetus[:20]})
        self.assertEqual(s, 200)
        self.assertEqual(int(hd["content-length"]), len(data))
        self.assertIn(b'"sukunimi":"\\u0000', data)
        doc = json.loads(data)  # still valid JSON
        names = [g["sukunimi"] for p in doc["perustiedot"] for g in p["tietoryhmat"] if "sukunimi" in g]
        self.assertTrue(any(n.startswith("\x00") for n in names))

    def test_stuck_bookmark(self):
        self.arm("stuck_bookmark")
        s, hd, data = self.muutokset()
        b = json.loads(data)
        self.assertEqual(b["viimeisinKirjausavain"], self.base)
        self.assertFalse(b["ajanTasalla"])
        # stuck_bookmark never hits another endpoint
        self.arm("stuck_bookmark")
        s, _, _ = self.m.request("POST", "/api/v1/perustiedot", {"hetulista": self.hetus[:2]})
        self.assertEqual(s, 200)
        s, hd, data = self.muutokset()
        self.assertFalse(json.loads(data)["ajanTasalla"])

    def raw(self, body, path="/api/v1/muutokset"):
        s = socket.create_connection((self.m.host, self.m.port), timeout=30)
        payload = json.dumps(body).encode()
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, basic("mutpT1"), len(payload))).encode() + payload)
        return s

    @staticmethod
    def read_head(s):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hd = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        return lines[0], hd, rest

    def test_reset(self):
        self.arm("reset")
        s = self.raw({"viimeisinKirjausavain": self.base, "hetulista": self.hetus})
        status, hd, got = self.read_head(s)
        self.assertIn("200", status)
        length = int(hd["content-length"])
        err = None
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError as e:
            err = e
        s.close()
        self.assertLess(len(got), length)
        self.assertIsNotNone(err, "connection should be reset, not closed cleanly")

    def test_slow(self):
        self.arm("slow", delay_ms=600)
        t = time.time()
        s, _, _ = self.muutokset()
        self.assertEqual(s, 200)
        self.assertGreaterEqual(time.time() - t, 0.55)
        self.assertEqual(self.last_log()["fault"], "slow")

    def test_slow_skip_lets_the_first_requests_pass(self):
        self.arm("slow", count=3, skip=2, delay_ms=600)
        times = []
        for _ in range(3):
            t = time.time()
            s, _, _ = self.muutokset()
            self.assertEqual(s, 200)
            times.append(time.time() - t)
        self.assertLess(max(times[:2]), 0.5, times)
        self.assertGreaterEqual(times[2], 0.55, times)

    def test_slow_body(self):
        self.arm("slow_body", delay_ms=150, chunks=5)
        s = self.raw({"viimeisinKirjausavain": self.base, "hetulista": self.hetus})
        t0 = time.time()
        status, hd, got = self.read_head(s)
        t_head = time.time() - t0
        length = int(hd["content-length"])
        while len(got) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        total = time.time() - t0
        s.close()
        self.assertLess(t_head, 0.5)
        self.assertGreaterEqual(total, 0.7)
        self.assertEqual(len(got), length)
        json.loads(got)

    def test_huge_body_streamed(self):
        self.arm("huge_body", mb=64)
        s = self.raw({"viimeisinKirjausavain": self.base, "hetulista": self.hetus[:1]})
        status, hd, got = self.read_head(s)
        self.assertEqual(int(hd["content-length"]), 64 * 1024 * 1024)
        n = len(got)
        # read only the first few MB, then hang up like a client with a limit
        while n < 4 * 1024 * 1024:
            n += len(s.recv(1 << 20))
        s.close()
        # the default is 300 MB; the mock stays responsive meanwhile
        self.arm("huge_body")
        s = self.raw({"viimeisinKirjausavain": self.base, "hetulista": []})
        status, hd, got = self.read_head(s)
        self.assertEqual(int(hd["content-length"]), 300 * 1024 * 1024)
        s.close()
        st, _, _ = self.muutokset()
        self.assertEqual(st, 200)
        # a full read is valid JSON of exactly that size
        self.arm("huge_body", mb=3)
        st, hd, data = self.muutokset()
        self.assertEqual(len(data), 3 * 1024 * 1024)
        self.assertTrue(json.loads(data)["ajanTasalla"])

    def test_latency(self):
        m = self.m
        m.control("POST", "latency", {"ms": 400})
        try:
            self.assertEqual(m.state()["latency_ms"], 400)
            t = time.time()
            s, _, _ = m.request("GET", "/api/v1/kirjausavain/2026-01-01")
            self.assertGreaterEqual(time.time() - t, 0.38)
            t = time.time()
            m.state()      # control calls are not delayed
            self.assertLess(time.time() - t, 0.3)
            # server time excludes injected sleeps
            self.assertLess(self.last_log()["duration_ms"], 100)
        finally:
            m.control("POST", "latency", {"ms": 0})


if __name__ == "__main__":
    unittest.main()
