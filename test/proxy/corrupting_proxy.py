#!/usr/bin/env python3
"""A corrupting HTTP proxy for the fault matrix (test/integration/70_fault_matrix.py).

It sits between vtj_fdw and the mock: every request is forwarded to the upstream (the mock)
unchanged, unless a fault is armed for it, in which case the answer (or the absence of one)
is what the fault says. Python standard library only; binds 127.0.0.1 only.

    corrupting_proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--hold-seconds 60]

The first stdout line is the proxy's port, printed once it accepts connections. A second
listener, the *stall port*, accepts TCP connections and never sends a byte (a TLS server that
never answers the ClientHello, when a server's url is https://127.0.0.1:STALL/…); its port is in
GET /_proxy/state. SIGTERM or SIGINT stops the proxy.

Control API (not forwarded):
    POST   /_proxy/fault  {"kind", "endpoint" ("any"), "count" (1), "skip" (0)}: arms a fault for
                          the next `count` matching requests, of which the first `skip` pass
    DELETE /_proxy/fault  disarms all
    GET    /_proxy/state  {"stall_port", "faults", "requests"}
    GET    /_proxy/log    [{"endpoint", "fault", "status"}] of the requests served;  DELETE clears

`endpoint` is kirjausavain, muutokset, perustiedot, kysely or any. The kinds (FAULTS below):
whole-connection faults answer without asking the upstream; the others take the upstream's real
answer and change it (a non-200 answer passes unchanged, the fault used up all the same).
A stalled answer (silent, slowloris, trickle) is held until the client gives up, at most
--hold-seconds.
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
MIB = 1024 * 1024

# kind -> short description (the README's table and the matrix's names come from these)
FAULTS = {
    # the connection
    "garbage": "random bytes instead of an HTTP answer, then close",
    "banner": "a non-HTTP banner (an SSH greeting), then close",
    "silent": "reads the request, never answers",
    "slowloris": "a status line, then header bytes one at a time, never ending",
    "trickle": "headers at once, then the body a byte every 0.5 s",
    "huge_cl": "200 with Content-Length 3 GiB, body generated until the client goes",
    "huge_nocl": "200 without Content-Length (close-delimited), 3 GiB generated",
    "cut": "the real answer's Content-Length, half the body, then close (a FIN)",
    "empty_200": "200, Content-Length 0",
    "lying_gzip": "the real JSON, labelled Content-Encoding: gzip",
    # the JSON (an extra top-level key "lisatieto" holding the payload, or a changed field)
    "bad_utf8": "invalid UTF-8 (bytes FF FE) in a string",
    "overlong_utf8": "overlong UTF-8 (C0 AF, E0 80 AF) in a string",
    "deep_json": "a value nested 100,000 arrays deep",
    "big_string": "a 20 MB string (an unknown key: harmless)",
    "bookmark_zero": "viimeisinKirjausavain 0",
    "bookmark_over": "viimeisinKirjausavain 2^62 + 1",
    "bookmark_int64max": "viimeisinKirjausavain 9223372036854775807",
    "bookmark_float": "viimeisinKirjausavain with a fraction",
    "bookmark_string": "viimeisinKirjausavain as a string of digits",
    "bookmark_future": "a final viimeisinKirjausavain 10^9 beyond the real one",
    "bookmark_backwards": "viimeisinKirjausavain 1000 below the request's",
    "foreign_hetu": "a record of a valid hetu the request did not name",
    "garbled_hetu": "the first record's hetu with its check character changed",
    "dup_key_bookmark": "viimeisinKirjausavain twice: first 10^9 ahead, then the real one",
    "dup_key_hetu": "a record's henkilotunnus twice: the real one, then another",
    "wrong_type_list": "the list of records (muutokset / perustiedot) as an object",
    "wrong_type_flag": "ajanTasalla as the string \"true\"",
    "wrong_type_hetu": "a record's henkilotunnus as a number",
    "wrong_type_groups": "a record's tietoryhmat as a string",
    # SOAP (VTJkysely)
    "soap_deep": "100,000 nested elements in the SOAP body",
    "soap_bad_utf8": "overlong UTF-8 (C0 AF) in Sukunimi",
    "soap_xxe": "a DOCTYPE with an external entity (http to the stall port), used in Sukunimi",
    "soap_xinclude": "an xi:include of an http URL (the stall port) in the body",
    "soap_wrong_label": "the UTF-8 answer labelled encoding=\"UTF-16\"",
}
CONNECTION_FAULTS = {"garbage", "banner", "silent", "slowloris", "huge_cl", "huge_nocl", "empty_200"}


def hetu_check(body):
    """The check character of a hetu's first 10 characters (ddmmyy, century sign, nnn)."""
    return HETU_CHECK[int(body[:6] + body[7:10]) % 31]


def endpoint_of(path):
    p = path.split("?", 1)[0]
    if "vtjkysely" in p.lower():
        return "kysely"
    if "/kirjausavain/" in p:
        return "kirjausavain"
    if p.endswith("/muutokset"):
        return "muutokset"
    if p.endswith("/perustiedot"):
        return "perustiedot"
    return "other"


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.armed = []        # dicts: kind, endpoint, count, skip
        self.log = []

    def arm(self, spec):
        kind = spec.get("kind")
        if kind not in FAULTS:
            raise ValueError(f"unknown kind {kind!r}")
        f = {"kind": kind, "endpoint": spec.get("endpoint", "any"), "count": int(spec.get("count", 1)),
             "skip": int(spec.get("skip", 0))}
        with self.lock:
            self.armed.append(f)
        return f

    def take(self, endpoint):
        """The fault for a request to `endpoint`, or None; uses up one of its count."""
        with self.lock:
            for f in self.armed:
                if f["count"] > 0 and f["endpoint"] in ("any", endpoint):
                    f["count"] -= 1
                    if f["skip"] > 0:
                        f["skip"] -= 1
                        return None
                    return f["kind"]
            return None

    def clear(self):
        with self.lock:
            self.armed = []


class Proxy:
    def __init__(self, upstream, hold):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.hold = hold
        self.faults = Faults()
        self.stall_port = None

    # ---- reading a request -----------------------------------------------------------------
    @staticmethod
    def read_request(conn, buf):
        """(method, target, headers {lower: value}, raw header list, body, rest) or None at EOF."""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("iso-8859-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        raw, headers = [], {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            raw.append((k.strip(), v.strip()))
            headers[k.strip().lower()] = v.strip()
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return None
                    buf += chunk
                size_line, buf = buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(buf) < size + 2:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return None
                    buf += chunk
                body += buf[:size]
                buf = buf[size + 2:]
                if size == 0:
                    break
        else:
            n = int(headers.get("content-length", "0") or 0)
            while len(buf) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                buf += chunk
            body, buf = buf[:n], buf[n:]
        return method, target, headers, raw, body, buf

    # ---- the upstream ------------------------------------------------------------------------
    def forward(self, method, target, raw, body):
        c = http.client.HTTPConnection(self.up_host, self.up_port, timeout=120)
        try:
            c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in raw:
                if k.lower() in ("connection", "keep-alive", "transfer-encoding", "content-length", "expect",
                                 "accept-encoding"):
                    continue
                c.putheader(k, v)
            c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            headers = [(k, v) for k, v in r.getheaders()
                       if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length")]
            return r.status, r.reason, headers, data
        finally:
            c.close()

    @staticmethod
    def answer(conn, status, reason, headers, body, extra=(), length=None):
        out = [f"HTTP/1.1 {status} {reason}"]
        out += [f"{k}: {v}" for k, v in list(headers) + list(extra)]
        out.append(f"Content-Length: {len(body) if length is None else length}")
        conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("iso-8859-1") + body)

    def hold_open(self, conn, drip=None, interval=0.5):
        """Keeps the connection until the client closes it (or --hold-seconds), sending `drip`
        (one byte at a time) every `interval` seconds if given."""
        deadline = time.monotonic() + self.hold
        conn.settimeout(interval)
        i = 0
        while time.monotonic() < deadline:
            try:
                if drip is not None:
                    conn.sendall(drip[i % len(drip):i % len(drip) + 1])
                    i += 1
                data = conn.recv(65536)
                if not data:
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    @staticmethod
    def stream_huge(conn, prefix, total):
        """Sends `prefix` and then filler up to `total` bytes, until the client goes away."""
        block = (b" " * (MIB - 1)) + b"\n"
        try:
            conn.sendall(prefix)
            sent = len(prefix)
            while sent < total:
                n = min(len(block), total - sent)
                conn.sendall(block[:n])
                sent += n
        except OSError:
            pass

    # ---- mutations of a real answer -----------------------------------------------------------
    @staticmethod
    def with_extra(body, payload):
        """The JSON object `body` with "lisatieto": payload (raw bytes) as its first key."""
        i = body.index(b"{")
        return body[:i + 1] + b'"lisatieto":' + payload + (b"," if body[i + 1:].strip()[:1] != b"}" else b"") + body[i + 1:]

    @staticmethod
    def other_hetu(asked):
        """A valid test hetu that is not in `asked`."""
        for n in range(999, 899, -1):
            base = f"010170-{n:03d}"
            h = base + hetu_check(base)
            if h not in asked:
                return h
        raise RuntimeError("no free hetu")

    def mutate_json(self, kind, endpoint, req_body, data):
        doc = json.loads(data)
        try:
            req = json.loads(req_body) if req_body else {}
        except ValueError:
            req = {}
        asked = set(req.get("hetulista") or [])
        rec_key = "muutokset" if endpoint == "muutokset" else "perustiedot"
        recs = doc.get(rec_key) if isinstance(doc, dict) else None
        bm = doc.get("viimeisinKirjausavain") if isinstance(doc, dict) else None
        raw = None  # a replacement body (bytes) for kinds json.dumps cannot write
        if kind == "bookmark_zero":
            doc["viimeisinKirjausavain"] = 0
        elif kind == "bookmark_over":
            doc["viimeisinKirjausavain"] = 2 ** 62 + 1
        elif kind == "bookmark_int64max":
            doc["viimeisinKirjausavain"] = 9223372036854775807
        elif kind == "bookmark_float":
            doc["viimeisinKirjausavain"] = float(bm) + 0.5
        elif kind == "bookmark_string":
            doc["viimeisinKirjausavain"] = str(bm)
        elif kind == "bookmark_future":
            doc["viimeisinKirjausavain"] = bm + 10 ** 9
        elif kind == "bookmark_backwards":
            start = req.get("viimeisinKirjausavain", bm) if endpoint == "muutokset" else bm
            doc["viimeisinKirjausavain"] = int(start) - 1000
        elif kind in ("foreign_hetu", "garbled_hetu", "dup_key_hetu", "wrong_type_hetu", "wrong_type_groups"):
            if not recs:
                # make a record for the purpose: of a hetu asked (or any) and nothing else
                # (a foreign hetu's record stands alone: no made-up change of a person asked)
                h0 = sorted(asked)[0] if asked and kind != "foreign_hetu" else self.other_hetu(asked)
                rec = {"henkilotunnus": h0, "tietoryhmat": [
                    {"tietoryhma": "HENKILON_NIMI", "muutosattribuutti": "LISATTY", "etunimet": "Testi", "sukunimi": "Vieras"}]}
                if endpoint == "muutokset":
                    rec["muutospv"] = "2026-01-01T10:00:00.000Z"
                else:
                    rec["tietoryhmat"][0].pop("muutosattribuutti")
                recs = [rec]
                doc[rec_key] = recs
            first = recs[0]
            if kind == "foreign_hetu" and first["henkilotunnus"] not in asked:
                pass
            elif kind == "foreign_hetu":
                extra = json.loads(json.dumps(first))
                extra["henkilotunnus"] = self.other_hetu(asked | {first.get("henkilotunnus")})
                recs.append(extra)
            elif kind == "garbled_hetu":
                h = first["henkilotunnus"]
                good = hetu_check(h)
                first["henkilotunnus"] = h[:10] + next(c for c in "XY0" if c != good)
            elif kind == "wrong_type_hetu":
                first["henkilotunnus"] = int("".join(ch for ch in first["henkilotunnus"][:6]))
            elif kind == "wrong_type_groups":
                first["tietoryhmat"] = "HENKILON_NIMI"
            else:  # dup_key_hetu: the real hetu, then another one, as the same key
                other = self.other_hetu(asked | {first["henkilotunnus"]})
                marker = "__vtj_proxy_dup__"
                first[marker] = other
                raw = json.dumps(doc, ensure_ascii=False).replace(f'"{marker}"', '"henkilotunnus"').encode()
        elif kind == "dup_key_bookmark":
            marker = "__vtj_proxy_dup__"
            rest = {k: v for k, v in doc.items()}
            doc = {marker: bm + 10 ** 9}
            doc.update(rest)
            raw = json.dumps(doc, ensure_ascii=False).replace(f'"{marker}"', '"viimeisinKirjausavain"').encode()
        elif kind == "wrong_type_list":
            if endpoint == "kirjausavain":
                doc["viimeisinKirjausavain"] = {"arvo": bm}
            else:
                doc[rec_key] = {str(i): r for i, r in enumerate(recs or [])} or {"0": {}}
        elif kind == "wrong_type_flag":
            if endpoint == "kirjausavain":
                doc["viimeisinKirjausavain"] = [bm]
            else:
                doc["ajanTasalla"] = "true"
        if raw is None:
            raw = json.dumps(doc, ensure_ascii=False).encode()
        return raw

    def mutate(self, kind, endpoint, req_body, data):
        """The changed body (bytes) of a real 200 answer."""
        if kind == "bad_utf8":
            return self.with_extra(data, b'"Virtanen \xff\xfe"')
        if kind == "overlong_utf8":
            return self.with_extra(data, b'"Virtanen \xc0\xaf \xe0\x80\xaf"')
        if kind == "deep_json":
            return self.with_extra(data, b"[" * 100000 + b"]" * 100000)
        if kind == "big_string":
            return self.with_extra(data, b'"' + b"a" * (20 * 1000 * 1000) + b'"')
        if kind.startswith("soap_"):
            return self.mutate_soap(kind, data)
        return self.mutate_json(kind, endpoint, req_body, data)

    def mutate_soap(self, kind, data):
        stall = f"http://127.0.0.1:{self.stall_port}/x".encode()
        body_open = data.find(b"Body>")
        if kind == "soap_deep":
            i = body_open + len(b"Body>")
            return data[:i] + b"<x>" * 100000 + b"</x>" * 100000 + data[i:]
        if kind == "soap_bad_utf8":
            i = data.find(b"<Sukunimi>")
            i = i + len(b"<Sukunimi>") if i >= 0 else body_open + len(b"Body>")
            return data[:i] + b"\xc0\xaf" + data[i:]
        if kind == "soap_xinclude":
            i = body_open + len(b"Body>")
            return data[:i] + b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="' + stall + b'"/>' + data[i:]
        decl_end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
        rest = data[decl_end:]
        if kind == "soap_xxe":
            i = rest.find(b"<Sukunimi>")
            if i >= 0:
                i += len(b"<Sukunimi>")
                rest = rest[:i] + b"&xxe;" + rest[i:]
            return data[:decl_end] + b'<!DOCTYPE e [<!ENTITY xxe SYSTEM "' + stall + b'">]>' + rest
        if kind == "soap_wrong_label":
            return b'<?xml version="1.0" encoding="UTF-16"?>' + rest
        raise ValueError(kind)

    # ---- one connection ----------------------------------------------------------------------
    def control(self, conn, method, target, body):
        path = target.split("?", 1)[0]
        status, out = 200, None
        try:
            if path == "/_proxy/fault" and method == "POST":
                out = self.faults.arm(json.loads(body or b"{}"))
            elif path == "/_proxy/fault" and method == "DELETE":
                self.faults.clear()
                out = {"cleared": True}
            elif path == "/_proxy/state":
                with self.faults.lock:
                    out = {"stall_port": self.stall_port, "faults": list(self.faults.armed),
                           "requests": len(self.faults.log)}
            elif path == "/_proxy/log" and method == "GET":
                with self.faults.lock:
                    out = list(self.faults.log)
            elif path == "/_proxy/log" and method == "DELETE":
                with self.faults.lock:
                    self.faults.log = []
                out = {"cleared": True}
            else:
                status, out = 404, {"error": "unknown control call"}
        except (ValueError, KeyError) as e:
            status, out = 400, {"error": str(e)}
        self.answer(conn, status, "OK" if status == 200 else "Error", [("Content-Type", "application/json")],
                    json.dumps(out).encode())

    def handle(self, conn):
        buf = b""
        conn.settimeout(self.hold)
        try:
            while True:
                req = self.read_request(conn, buf)
                if req is None:
                    return
                method, target, headers, raw, body, buf = req
                if target.startswith("/_proxy/"):
                    self.control(conn, method, target, body)
                    continue
                endpoint = endpoint_of(target)
                kind = self.faults.take(endpoint)
                entry = {"endpoint": endpoint, "fault": kind, "status": None}
                with self.faults.lock:
                    self.faults.log.append(entry)
                if not self.serve(conn, kind, endpoint, method, target, raw, body, entry):
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def serve(self, conn, kind, endpoint, method, target, raw, body, entry):
        """Answers one request; False when the connection is to be closed."""
        if kind == "garbage":
            rnd = random.Random(len(body))
            conn.sendall(bytes(rnd.randrange(256) for _ in range(4096)))
            return False
        if kind == "banner":
            conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            time.sleep(0.2)
            return False
        if kind == "silent":
            self.hold_open(conn)
            return False
        if kind == "slowloris":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            self.hold_open(conn, drip=b"X-Slow-Header-" + b"a" * 64)
            return False
        if kind == "empty_200":
            self.answer(conn, 200, "OK", [("Content-Type", "application/json")], b"")
            entry["status"] = 200
            return True
        if kind in ("huge_cl", "huge_nocl"):
            total = 3 * 1024 * MIB
            prefix = b'{"lisatieto": "' if endpoint != "kysely" else b'<?xml version="1.0"?><e>'
            head = "HTTP/1.1 200 OK\r\nContent-Type: " + ("text/xml" if endpoint == "kysely" else "application/json")
            head += f"\r\nContent-Length: {total}\r\n\r\n" if kind == "huge_cl" else "\r\nConnection: close\r\n\r\n"
            entry["status"] = 200
            self.stream_huge(conn, head.encode() + prefix, total + len(head))
            return False
        status, reason, headers, data = self.forward(method, target, raw, body)
        entry["status"] = status
        if kind is None or status != 200:
            self.answer(conn, status, reason, headers, data)
            return True
        if kind == "cut":
            self.answer(conn, status, reason, headers, data[:len(data) // 2], length=len(data))
            return False
        if kind == "trickle":
            out = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers] + [f"Content-Length: {len(data)}"]
            conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("iso-8859-1"))
            self.hold_open(conn, drip=data)
            return False
        if kind == "lying_gzip":
            self.answer(conn, status, reason, [h for h in headers if h[0].lower() != "content-encoding"], data,
                        extra=[("Content-Encoding", "gzip")])
            return True
        self.answer(conn, status, reason, headers, self.mutate(kind, endpoint, body, data))
        return True


def serve_forever(sock, handler):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="http://host:port of the mock")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--hold-seconds", type=float, default=60.0, help="longest a stalled answer is held")
    args = ap.parse_args()
    proxy = Proxy(args.upstream, args.hold_seconds)

    stall = socket.socket()
    stall.bind(("127.0.0.1", 0))
    stall.listen(64)
    proxy.stall_port = stall.getsockname()[1]
    stalled = []

    def stall_handler(conn):
        stalled.append(conn)          # keep it open: never read, never write
        time.sleep(args.hold_seconds)
        conn.close()

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    threading.Thread(target=serve_forever, args=(stall, stall_handler), daemon=True).start()
    threading.Thread(target=serve_forever, args=(sock, proxy.handle), daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(sock.getsockname()[1], flush=True)
    while not stop.wait(0.5):
        pass
    sock.close()
    stall.close()
    os._exit(0)


if __name__ == "__main__":
    main()
