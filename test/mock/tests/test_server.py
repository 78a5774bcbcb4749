"""HTTP/1.1 behaviour, concurrency, shutdown and TLS."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from tests.mockproc import Mock, VTJ_MOCK, basic


def raw_exchange(port, data, read_until=None, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    buf = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        if read_until and read_until(buf):
            break
    s.close()
    return buf


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Mock(persons=1000, seed=61)
        cls.hetus = cls.m.hetut()

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()

    def test_keep_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.m.port, timeout=10)
        for n in range(20):
            c.request("POST", "/api/v1/perustiedot", body=json.dumps({"hetulista": self.hetus[n:n + 5]}),
                      headers={"Authorization": basic("mutpT1"), "Content-Type": "application/json"})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Connection"), "keep-alive")
            self.assertEqual(int(r.getheader("Content-Length")), len(r.read()))
        c.close()

    def test_expect_continue_and_chunked(self):
        body = json.dumps({"hetulista": self.hetus[:50]}).encode()
        head = ("POST /api/v1/perustiedot HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                % (basic("mutpT1"), len(body))).encode()
        s = socket.create_connection(("127.0.0.1", self.m.port), timeout=10)
        s.sendall(head)
        interim = s.recv(100)
        self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"))
        s.sendall(body)
        got = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        while b"\r\n\r\n" not in got:
            got += s.recv(65536)
        self.assertTrue(got.startswith(b"HTTP/1.1 200 OK"))
        s.close()
        # chunked request body
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100])
                          for i in range(0, len(body), 100)) + b"0\r\n\r\n"
        req = ("POST /api/v1/perustiedot HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % basic("mutpT1")).encode() + chunks
        resp = raw_exchange(self.m.port, req)
        self.assertTrue(resp.startswith(b"HTTP/1.1 200 OK"))
        self.assertEqual(len(json.loads(resp.split(b"\r\n\r\n", 1)[1])["perustiedot"]), 50)

    def test_http10_and_bad_request(self):
        resp = raw_exchange(self.m.port, b"GET /_control/state HTTP/1.0\r\n\r\n")
        self.assertIn(b"Connection: close", resp)
        self.assertIn(b'"persons"', resp)
        resp = raw_exchange(self.m.port, b"garbage\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 400"))

    def test_concurrent_clients(self):
        errors = []

        def worker(k):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.m.port, timeout=30)
                for n in range(15):
                    hs = self.hetus[(k * 100 + n * 7) % 900:][:100]
                    c.request("POST", "/api/v1/perustiedot", body=json.dumps({"hetulista": hs}),
                              headers={"Authorization": basic("mutpT1x")})
                    r = c.getresponse()
                    b = json.loads(r.read())
                    if r.status != 200 or [p["henkilotunnus"] for p in b["perustiedot"]] != hs:
                        errors.append((k, n, r.status))
                c.close()
            except Exception as e:   # collected and asserted below
                errors.append(repr(e))
        ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


class LifecycleTest(unittest.TestCase):
    def test_sigterm_and_sigint_exit_zero(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            m = Mock(persons=200, seed=62)
            self.assertEqual(m.request("GET", "/_control/state", auth=None)[0], 200)
            m.proc.send_signal(sig)
            self.assertEqual(m.proc.wait(20), 0)
            m.stop()

    def test_port_line_first_and_only_when_ready(self):
        p = subprocess.Popen(["/usr/bin/python3", VTJ_MOCK, "--port", "0", "--persons", "500"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            line = p.stdout.readline()
            self.assertRegex(line.decode(), r"^\d+\n$")
            c = http.client.HTTPConnection("127.0.0.1", int(line), timeout=5)
            c.request("GET", "/_control/state")
            self.assertEqual(c.getresponse().status, 200)
        finally:
            p.terminate()
            p.wait(20)
            p.stdout.close()

    def test_fixed_port_in_use(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run(["/usr/bin/python3", VTJ_MOCK, "--port", str(port), "--persons", "100"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        s.close()
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")

    def test_unknown_order_refused(self):
        r = subprocess.run(["/usr/bin/python3", VTJ_MOCK, "--order", "random", "--persons", "100"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"--order", r.stderr)


class TlsTest(unittest.TestCase):
    def test_tls_and_client_cert(self):
        d = tempfile.mkdtemp(prefix="vtjmock-test-tls-")
        m = Mock("--tls", "--tls-dir", d, "--require-client-cert", persons=200, seed=63)
        try:
            for f in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key"):
                self.assertTrue(os.path.exists(os.path.join(d, f)), f)
            ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
            ctx.load_cert_chain(os.path.join(d, "client.pem"), os.path.join(d, "client.key"))
            c = http.client.HTTPSConnection("localhost", m.port, context=ctx, timeout=10)
            c.request("GET", "/api/v1/kirjausavain/2026-01-01", headers={"Authorization": basic("mutpT1")})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertIn("viimeisinKirjausavain", json.loads(r.read()))
            c.close()
            # without a client certificate the handshake fails
            ctx2 = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
            with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError,
                                    http.client.RemoteDisconnected)):
                c2 = http.client.HTTPSConnection("127.0.0.1", m.port, context=ctx2, timeout=10)
                c2.request("GET", "/_control/state")
                c2.getresponse().read()
            # reset fault over TLS still answers the next request
            m2 = Mock("--tls", "--tls-dir", d, persons=200, seed=63)
            try:
                ctx3 = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
                c3 = http.client.HTTPSConnection("127.0.0.1", m2.port, context=ctx3, timeout=10)
                c3.request("GET", "/_control/state")
                self.assertEqual(c3.getresponse().status, 200)
                c3.close()
            finally:
                m2.stop()
        finally:
            m.stop()

    def test_tls_without_openssl(self):
        r = subprocess.run(["/usr/bin/python3", VTJ_MOCK, "--tls", "--persons", "50"],
                           env={"PATH": "/nonexistent"}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"openssl", r.stderr)
        self.assertEqual(r.stdout, b"")


if __name__ == "__main__":
    unittest.main()
