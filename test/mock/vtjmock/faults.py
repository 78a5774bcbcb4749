"""Fault injection: faults armed through the control API hit the next n
matching requests.

Timing of a fault within request handling:
  pre   - answered instead of the request (status codes, X-Road fault,
          HTML page, invalid JSON, huge body); no auth needed
  delay - `slow`: sleep, then answer normally
  post  - the normal answer is computed, then delivered wrongly (trickled,
          reset mid-body, truncated) or replaced (stuck bookmark)
  soap  - VTJkysely-only answers (SOAP fault, broken XML, entity attack,
          a chosen Paluukoodi)
"""
import json
import threading
import time
import uuid

from .httpserver import Response

HTTP_STATUS = {"http_400": 400, "http_401": 401, "http_403": 403, "http_404": 404,
               "http_429": 429, "http_500": 500, "http_502": 502, "http_503": 503,
               "http_504": 504}
KIND_PHASE = dict({k: "pre" for k in HTTP_STATUS}, **{
    "xroad_fault": "pre", "html_error": "pre", "invalid_json": "pre", "huge_body": "pre",
    "slow": "delay",
    "slow_body": "post", "reset": "post", "truncated_json": "post", "stuck_bookmark": "post",
    "nul_escape": "post",
    "soap_fault": "soap", "malformed_xml": "soap", "xml_entity_attack": "soap",
    "soap_paluukoodi": "soap",
}, **{k: "soap" for k in (
    "soap_turvakielto", "soap_comment", "soap_unknown_element", "soap_attribute", "xml_quoting_error",
    "xml_deep_nesting", "xml_invalid_utf8", "xml_external_entity", "xml_xinclude", "xml_wrong_encoding",
    "xml_huge_attribute")})
# soap kinds that rewrite the real answer (soap.hostile_answer)
HOSTILE = frozenset(k for k, phase in KIND_PHASE.items()
                    if phase == "soap" and k not in ("soap_fault", "malformed_xml", "xml_entity_attack",
                                                     "soap_paluukoodi"))
ENDPOINTS = ("muutokset", "perustiedot", "kirjausavain", "kysely", "any")
# kinds that only make sense on one endpoint
ONLY = dict({"stuck_bookmark": "muutokset", "soap_fault": "kysely", "malformed_xml": "kysely",
             "xml_entity_attack": "kysely", "soap_paluukoodi": "kysely"}, **{k: "kysely" for k in HOSTILE})


class Fault:
    def __init__(self, kind, count, endpoint, params):
        self.kind = kind
        self.count = count
        self.endpoint = endpoint
        self.params = params
        self.phase = KIND_PHASE[kind]

    def matches(self, endpoint):
        only = ONLY.get(self.kind)
        if only is not None and only != endpoint:
            return False
        return self.endpoint == "any" or self.endpoint == endpoint

    def as_json(self):
        return dict({"kind": self.kind, "count": self.count, "endpoint": self.endpoint},
                    **self.params)


class FaultBoard:
    def __init__(self):
        self._lock = threading.Lock()
        self._armed = []

    def arm(self, spec):
        """spec: the control request body.  Raises ValueError when invalid."""
        if not isinstance(spec, dict):
            raise ValueError("body must be a JSON object")
        kind = spec.get("kind")
        if kind not in KIND_PHASE:
            raise ValueError("unknown fault kind %r; known: %s" % (kind, ", ".join(sorted(KIND_PHASE))))
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError("count must be a positive integer")
        endpoint = spec.get("endpoint", "any")
        if endpoint not in ENDPOINTS:
            raise ValueError("endpoint must be one of %s" % ", ".join(ENDPOINTS))
        params = {k: v for k, v in spec.items() if k not in ("kind", "count", "endpoint")}
        for k, v in params.items():
            if k in ("retry_after", "delay_ms", "mb", "chunks", "chunk_bytes", "keep_bytes",
                     "after_bytes", "depth", "kb") and (not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0):
                raise ValueError("%s must be a non-negative number" % k)
        f = Fault(kind, count, endpoint, params)
        with self._lock:
            self._armed.append(f)
        return f

    def disarm(self):
        with self._lock:
            n = len(self._armed)
            self._armed.clear()
        return n

    def armed(self):
        with self._lock:
            return [f.as_json() for f in self._armed]

    def take(self, endpoint):
        with self._lock:
            for n, f in enumerate(self._armed):
                if f.matches(endpoint):
                    f.count -= 1
                    if f.count <= 0:
                        del self._armed[n]
                    return Fault(f.kind, 1, f.endpoint, f.params)
        return None


def error_json(status, message, path=""):
    from .httpserver import REASONS
    return json.dumps({"status": status, "error": REASONS.get(status, "Error"),
                       "message": message, "path": path,
                       "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                      ensure_ascii=False).encode()


HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n")
INVALID_JSON = (b'{"viimeisinKirjausavain": 5446600123 "muutokset": [{"henkilotunnus": '
                b"'010101-900R', muutospv: 2026-01-01T00:00:00.000Z,], \"ajanTasalla\": tru}")


def pre_response(fault, path):
    k = fault.kind
    p = fault.params
    if k in HTTP_STATUS:
        status = HTTP_STATUS[k]
        headers = []
        if status == 429:
            headers.append(("Retry-After", str(int(p.get("retry_after", 1)))))
        if status == 401:
            headers.append(("WWW-Authenticate", 'Basic realm="VTJ-muutosrajapinta"'))
        return Response(status, error_json(status, "mock fault %s" % k, path), headers=headers)
    if k == "xroad_fault":
        body = json.dumps({"type": "Server.ServerProxy.ServiceFailed",
                           "message": "Service failed: connection to the service provider timed out",
                           "detail": str(uuid.uuid4())}).encode()
        return Response(500, body)
    if k == "html_error":
        return Response(502, HTML_502, content_type="text/html")
    if k == "invalid_json":
        return Response(200, INVALID_JSON)
    if k == "huge_body":
        return huge_body(int(p.get("mb", 300)))
    raise AssertionError(k)


def huge_body(mb):
    """A valid JSON document of exactly mb MiB, streamed from one reused
    1 MiB buffer (never built in memory)."""
    total = int(mb) * 1024 * 1024
    head = b'{"viimeisinKirjausavain":0,"muutokset":[],"ajanTasalla":true,"taytetta":"'
    tail = b'"}'
    fill = total - len(head) - len(tail)
    if fill < 0:
        head, tail, fill = b'""', b"", 0
        total = 2
    chunk = memoryview(b"x" * (1024 * 1024))

    def stream(send):
        send(head)
        left = fill
        while left > 0:
            n = min(left, len(chunk))
            send(chunk[:n])
            left -= n
        send(tail)

    return Response(200, headers=[("Content-Length", str(total))], stream=stream)


def post_response(fault, resp, request_bookmark=None):
    k = fault.kind
    p = fault.params
    body = resp.body
    if k == "stuck_bookmark":
        body = ('{"viimeisinKirjausavain":%d,"muutokset":[],"ajanTasalla":false}'
                % request_bookmark).encode()
        return Response(200, body)
    if k == "nul_escape":
        # Valid JSON that PostgreSQL's jsonb refuses: a \u0000 escape in a surname.
        body = body.replace(b'"sukunimi":"', b'"sukunimi":"\\u0000', 1)
        return Response(resp.status, body, content_type=resp.content_type, headers=resp.headers)
    if k == "truncated_json":
        keep = int(p.get("keep_bytes", max(1, len(body) // 2)))
        return Response(resp.status, body[:min(keep, max(0, len(body) - 1))],
                        content_type=resp.content_type, headers=resp.headers)
    if k == "reset":
        cut = int(p.get("after_bytes", max(1, len(body) // 2)))
        cut = min(cut, max(0, len(body) - 1))
        headers = list(resp.headers) + [("Content-Length", str(len(body)))]

        def stream(send):
            send(body[:cut])

        return Response(resp.status, headers=headers, stream=stream,
                        content_type=resp.content_type, reset_after=True)
    if k == "slow_body":
        delay = float(p.get("delay_ms", 200)) / 1000.0
        if "chunk_bytes" in p:
            size = max(1, int(p["chunk_bytes"]))
        else:
            size = max(1, -(-len(body) // int(p.get("chunks", 10) or 1)))
        headers = list(resp.headers) + [("Content-Length", str(len(body)))]

        def stream(send):
            for off in range(0, len(body), size):
                time.sleep(delay)
                send(body[off:off + size])

        return Response(resp.status, headers=headers, stream=stream,
                        content_type=resp.content_type)
    raise AssertionError(k)
