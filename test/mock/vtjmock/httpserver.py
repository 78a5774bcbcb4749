"""A small threaded HTTP/1.1 server on plain sockets.

Written instead of http.server because the benchmarks need keep-alive with
Content-Length at hundreds of MB/s, and because fault injection needs
control over the wire: trickled bodies, connection resets mid-body, honest
Content-Length on a cut JSON, huge streamed bodies.

One thread per connection (clients use a handful of parallel keep-alive
connections).  Handles Expect: 100-continue (libcurl sends it for larger POST
bodies) and chunked request bodies.
"""
import socket
import ssl
import struct
import threading
import time

REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
    413: "Payload Too Large", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}
MAX_LINE = 65536
MAX_HEADERS = 200
MAX_BODY = 256 * 1024 * 1024
IDLE_TIMEOUT = 300


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers",
                 "body", "t_parsed", "peer", "client_cert")

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)


class Response:
    """status/headers/body, or `stream(send)` that writes the body itself
    (Content-Length must then be given in headers).  `reset_after` makes the
    server close the connection with a TCP RST after the stream/body."""

    def __init__(self, status=200, body=b"", content_type="application/json",
                 headers=None, stream=None, close=False, reset_after=False):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []
        self.stream = stream
        self.close = close
        self.reset_after = reset_after


class BadRequest(Exception):
    pass


def _read_line(rfile):
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadRequest("line too long")
    return line


class HTTPServer:
    def __init__(self, host, port, handler, ssl_context=None, log=None):
        self.handler = handler
        self.ssl_context = ssl_context
        self.log = log or (lambda *a: None)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self._stopping = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, name="accept", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                if self._stopping:
                    return
                time.sleep(0.01)
                continue
            t = threading.Thread(target=self._serve_conn, args=(conn, addr), daemon=True)
            t.start()

    # ------------------------------------------------------------ connection
    def _serve_conn(self, conn, addr):
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(IDLE_TIMEOUT)
            client_cert = None
            if self.ssl_context is not None:
                conn.settimeout(15)
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    self.log("tls handshake failed from %s: %s" % (addr[0], e))
                    conn.close()
                    return
                conn.settimeout(IDLE_TIMEOUT)
                client_cert = conn.getpeercert()
            rfile = conn.makefile("rb", buffering=65536)
            while True:
                try:
                    req = self._read_request(conn, rfile)
                except BadRequest as e:
                    self._send_simple(conn, 400, str(e))
                    break
                if req is None:
                    break
                req.peer = addr
                req.client_cert = client_cert
                try:
                    resp = self.handler(req)
                except Exception as e:   # never kill the connection thread silently
                    import traceback
                    traceback.print_exc()
                    resp = Response(500, ('{"status":500,"error":"Internal Server Error",'
                                          '"message":"mock error: %s"}' % type(e).__name__).encode())
                keep = self._keep_alive(req) and not resp.close and not resp.reset_after
                if not self._write(conn, req, resp, keep):
                    break
                if not keep:
                    break
        except (OSError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _keep_alive(req):
        c = (req.headers.get("connection") or "").lower()
        if req.version == "HTTP/1.0":
            return "keep-alive" in c
        return "close" not in c

    def _read_request(self, conn, rfile):
        line = _read_line(rfile)
        while line in (b"\r\n", b"\n"):       # tolerate stray CRLF between requests
            line = _read_line(rfile)
        if not line:
            return None
        try:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
        except ValueError:
            raise BadRequest("malformed request line")
        if not version.startswith("HTTP/1."):
            raise BadRequest("unsupported HTTP version")
        headers = {}
        for _ in range(MAX_HEADERS + 1):
            h = _read_line(rfile)
            if h in (b"\r\n", b"\n", b""):
                break
            name, sep, value = h.decode("latin-1").partition(":")
            if not sep:
                raise BadRequest("malformed header")
            key = name.strip().lower()
            value = value.strip()
            if key in headers:
                headers[key] = headers[key] + ", " + value
            else:
                headers[key] = value
        else:
            raise BadRequest("too many headers")
        req = Request()
        req.method = method
        req.target = target
        req.version = version
        req.headers = headers
        path, _, qs = target.partition("?")
        req.path = path
        req.query = {}
        if qs:
            from urllib.parse import parse_qsl
            req.query = dict(parse_qsl(qs, keep_blank_values=True))
        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            if headers.get("expect", "").lower() == "100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.body = self._read_chunked(rfile)
        else:
            cl = headers.get("content-length")
            n = 0
            if cl is not None:
                try:
                    n = int(cl)
                except ValueError:
                    raise BadRequest("bad Content-Length")
                if n < 0 or n > MAX_BODY:
                    raise BadRequest("bad Content-Length")
            if n and headers.get("expect", "").lower() == "100-continue":
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            req.body = rfile.read(n) if n else b""
            if len(req.body) != n:
                return None
        req.t_parsed = time.perf_counter()
        return req

    @staticmethod
    def _read_chunked(rfile):
        parts = []
        total = 0
        while True:
            line = _read_line(rfile)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size")
            if size == 0:
                while _read_line(rfile) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise BadRequest("body too large")
            parts.append(rfile.read(size))
            rfile.readline()

    @staticmethod
    def _head(status, content_type, length, extra, keep):
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
        lines.append("Content-Type: %s" % content_type)
        lines.append("Content-Length: %d" % length)
        for k, v in extra:
            lines.append("%s: %s" % (k, v))
        lines.append("Connection: %s" % ("keep-alive" if keep else "close"))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, conn, req, resp, keep):
        try:
            if resp.stream is not None:
                length = None
                extra = []
                for k, v in resp.headers:
                    if k.lower() == "content-length":
                        length = int(v)
                    else:
                        extra.append((k, v))
                conn.sendall(self._head(resp.status, resp.content_type, length, extra, keep))
                resp.stream(conn.sendall)
            else:
                body = resp.body
                head = self._head(resp.status, resp.content_type, len(body), resp.headers, keep)
                if req.method == "HEAD":
                    conn.sendall(head)
                elif len(body) < 65536:
                    conn.sendall(head + body)
                else:
                    conn.sendall(head)
                    conn.sendall(body)
        except (OSError, ValueError):
            return False
        if resp.reset_after:
            self._reset(conn)
            return False
        return True

    @staticmethod
    def _reset(conn):
        """Close with RST (SO_LINGER 0) so the client sees a reset, not EOF."""
        try:
            raw = conn
            if isinstance(conn, ssl.SSLSocket):
                raw = socket.socket(fileno=conn.detach())
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass

    def _send_simple(self, conn, status, message):
        body = ('{"status":%d,"error":"%s","message":"%s"}' % (
            status, REASONS.get(status, ""), message.replace('"', "'"))).encode()
        try:
            conn.sendall(self._head(status, "application/json", len(body), [], False) + body)
        except OSError:
            pass
