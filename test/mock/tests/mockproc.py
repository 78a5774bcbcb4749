"""A mock instance on a free port (started by vtjmock.launch) and talking to it (tests' helper)."""
import base64
import http.client
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK_DIR = os.path.dirname(HERE)
sys.path.insert(0, MOCK_DIR)
from vtjmock.launch import VTJ_MOCK, MockProcess  # noqa: E402,F401  (VTJ_MOCK: for test_server)

PASSWORD = "salainen"
XROAD = "/r1/FI-TEST/GOV/0245437-2/VTJmutpa/VTJmutpa"


def basic(user, pw=PASSWORD):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


class Mock(MockProcess):
    def __init__(self, *args, persons=2000, seed=11, password=PASSWORD, timeout=90):
        self._conn = None   # before the start: a mock that fails to start is stopped
        super().__init__("--persons", persons, "--seed", seed, "--password", password, "--quiet", *args,
                         timeout=timeout)
        self.host = "127.0.0.1"

    # ---------------------------------------------------------------- http
    def conn(self, fresh=False):
        if fresh or self._conn is None:
            if self._conn is not None:
                self._conn.close()
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self._conn

    def request(self, method, path, body=None, headers=None, auth="mutpT1", fresh=False):
        """-> (status, headers dict (lower-case names), body bytes)."""
        h = {"Accept": "application/json"}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        if auth:
            h["Authorization"] = basic(auth)
        h.update(headers or {})
        for attempt in (0, 1):
            c = self.conn(fresh or attempt == 1)
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                hd = {k.lower(): v for k, v in r.getheaders()}
                if hd.get("connection", "").lower() == "close":
                    self._conn.close()
                    self._conn = None
                return r.status, hd, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None, **kw):
        status, hd, data = self.request(method, path, body, **kw)
        return status, json.loads(data) if data else None

    def control(self, method, path, body=None):
        status, data = self.json(method, "/_control/" + path, body, auth=None)
        if status != 200:
            raise AssertionError("control %s %s -> %d %r" % (method, path, status, data))
        return data

    def state(self):
        return self.control("GET", "state")

    def advance(self, **kw):
        return self.control("POST", "advance", kw)

    def hetut(self, kind="all", limit=None, offset=0):
        q = "hetut?kind=%s&offset=%d" % (kind, offset)
        if limit is not None:
            q += "&limit=%d" % limit
        return self.control("GET", q)

    def muutokset(self, after, hetus, account="mutpT1", path="/api/v1/muutokset"):
        return self.json("POST", path, {"viimeisinKirjausavain": after, "hetulista": hetus},
                         auth=account)

    def all_changes(self, after, hetus, account="mutpT1"):
        """Follow the pages; -> (changes, final bookmark, pages)."""
        out, pages = [], 0
        while True:
            st, body = self.muutokset(after, hetus, account)
            assert st == 200, body
            pages += 1
            out.extend(body["muutokset"])
            after = body["viimeisinKirjausavain"]
            if body["ajanTasalla"]:
                return out, after, pages
            assert pages < 100000

    def perustiedot(self, hetus, account="mutpT1", tietoryhmat=None):
        out = []
        for k in range(0, len(hetus), 1000):
            body = {"hetulista": hetus[k:k + 1000]}
            if tietoryhmat is not None:
                body["tietoryhmat"] = tietoryhmat
            st, b = self.json("POST", "/api/v1/perustiedot", body, auth=account)
            assert st == 200, b
            out.extend(b["perustiedot"])
        return out

    def requests_log(self):
        return self.control("GET", "requests")

    def stop(self):
        """SIGTERM; -> exit code (None if it had to be killed)."""
        if self._conn is not None:
            self._conn.close()
        return super().stop()
