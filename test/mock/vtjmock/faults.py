"""Fault injection: faults armed through the control API hit the next n
matching requests.

Timing of a fault within request handling:
  pre   - answered instead of the request (status codes, X-Road fault,
          HTML page, invalid JSON, huge body); no auth needed
  delay - `slow`: sleep, then answer normally (takes `skip` as the shape kinds do: the
          first n matching requests pass without the sleep)
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


# ---- answers that do not fit the request (phase "shape") -------------------------------------
# The normal 200 answer is computed, then reshaped the way a garbled or foreign answer would look
# to a client: a change of a person not asked for, a person twice, a bookmark the interface
# cannot have issued, a key twice inside a group, a change without a time.  Every shape kind
# takes `skip` (n): the first n matching requests pass unchanged (their count is used up too, so
# arm count = skip + the number to reshape).  Self-contained: it only adds to the tables above.

SHAPE_KINDS = ("foreign_hetu", "garbled_hetu", "duplicate_person", "bookmark", "duplicate_key",
               "bad_muutospv", "future_kirjausavain_404")
KIND_PHASE.update({k: "shape" for k in SHAPE_KINDS})
ONLY.update({"duplicate_person": "perustiedot", "bad_muutospv": "muutokset",
             "future_kirjausavain_404": "kirjausavain"})
# kinds that make sense on some endpoints only
SHAPE_ENDPOINTS = {"foreign_hetu": ("muutokset", "perustiedot"), "garbled_hetu": ("muutokset", "perustiedot"),
                   "bookmark": ("muutokset", "kirjausavain"), "duplicate_key": ("muutokset", "perustiedot")}
_shape_lock = threading.Lock()
_DUPLICATE = "\u0000duplicate-key\u0000"  # placeholder replaced in the encoded text


def _shape_matches(self, endpoint, _plain=Fault.matches):
    allowed = SHAPE_ENDPOINTS.get(self.kind)
    if allowed is not None and endpoint not in allowed:
        return False
    return _plain(self, endpoint)


Fault.matches = _shape_matches


def passes_by(fault):
    """True while the fault's `skip` has not been used up (shared by the copies take() hands out)."""
    skip = fault.params.get("skip", 0)
    if not isinstance(skip, int) or skip <= 0:
        return False
    with _shape_lock:
        seen = fault.params.get("_skipped", 0)
        if seen < skip:
            fault.params["_skipped"] = seen + 1
            return True
    return False


def _stranger(asked):
    """A valid test hetu that is not among `asked`."""
    from . import hetu as H
    taken = set(asked)
    for day in range(1, 29):
        for nnn in range(900, 1000):
            ddmmyy = "%02d0185" % day
            h = "%s-%03d%s" % (ddmmyy, nnn, H.check_char(ddmmyy, nnn))
            if h not in taken:
                return h
    raise AssertionError("no stranger")


def _garbled(h):
    """The same hetu with its check character changed (so no longer valid, nor asked)."""
    last = "X" if h[-1:] != "X" else "Y"
    return h[:-1] + last


def _encode(doc):
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    # a key twice: the placeholder member becomes the duplicate of the member before it
    return text.replace(',"%s":null' % _DUPLICATE.replace("\u0000", "\\u0000"),
                        ',"turvakieltoAktiivinen":false').encode("utf-8")


def _request(req):
    try:
        body = json.loads(req.body or b"{}")
        return body if isinstance(body, dict) else {}
    except ValueError:
        return {}


def _records(doc, endpoint, asked, world):
    """The answer's records; one is made (for the first hetu asked) when there is none."""
    key = "muutokset" if endpoint == "muutokset" else "perustiedot"
    recs = doc.setdefault(key, [])
    if not recs and asked:
        rec = {"henkilotunnus": asked[0],
               "tietoryhmat": [{"tietoryhma": "KOTIKUNTA", "kuntakoodi": "091"}]}
        if endpoint == "muutokset":
            from .timeutil import iso_ms
            rec["muutospv"] = iso_ms(world.present()[0])
            rec["tietoryhmat"][0]["muutosattribuutti"] = "LISATIETO"
        recs.append(rec)
    return recs


def shape_response(fault, resp, req, endpoint, world, path=""):
    """Reshapes a normal answer (phase "shape").  Non-200 answers pass unchanged."""
    k = fault.kind
    p = fault.params
    if k == "future_kirjausavain_404":
        status = future_kirjausavain_status(world, path, p.get("status", 404))
        if status and not passes_by(fault):
            return Response(status, error_json(status, "no bookmark for a day after the present (mock)", req.path))
        return resp
    if resp.status != 200 or passes_by(fault):
        return resp
    doc = json.loads(resp.body)
    asked = [h for h in _request(req).get("hetulista", []) if isinstance(h, str)]
    if k == "bookmark":
        if "value" in p:
            doc["viimeisinKirjausavain"] = p["value"]
        else:
            base = _request(req).get("viimeisinKirjausavain", doc.get("viimeisinKirjausavain", 0))
            doc["viimeisinKirjausavain"] = int(base) + int(p.get("offset", -1))
        if p.get("empty") and "muutokset" in doc:
            doc["muutokset"] = []
        if "ajanTasalla" in p and "muutokset" in doc:
            doc["ajanTasalla"] = bool(p["ajanTasalla"])
        return Response(200, _encode(doc), headers=resp.headers)
    recs = _records(doc, endpoint, asked, world)
    if k == "foreign_hetu":
        stranger = p.get("hetu") or _stranger(asked)
        rec = json.loads(json.dumps(recs[0])) if recs else {"tietoryhmat": []}
        rec["henkilotunnus"] = stranger
        recs.append(rec)
    elif k == "garbled_hetu" and recs:
        recs[0]["henkilotunnus"] = _garbled(recs[0]["henkilotunnus"])
    elif k == "duplicate_person" and recs:
        recs.append(json.loads(json.dumps(recs[0])))
    elif k == "duplicate_key" and recs:
        group = {"tietoryhma": "TURVAKIELTO", "turvakieltoAktiivinen": True, _DUPLICATE: None}
        if endpoint == "muutokset":
            group = {"tietoryhma": "TURVAKIELTO", "muutosattribuutti": "LISATTY",
                     "turvakieltoAktiivinen": True, _DUPLICATE: None}
        recs[0].setdefault("tietoryhmat", []).append(group)
    elif k == "bad_muutospv" and recs:
        if p.get("missing"):
            recs[0].pop("muutospv", None)
        else:
            recs[0]["muutospv"] = p.get("value", "ei aikaa")
    return Response(200, _encode(doc), headers=resp.headers)


def future_kirjausavain_status(world, path, status):
    """The status to answer GET /kirjausavain/{date} with when that date is after the present's
    (Helsinki) date, else None.  `status` falsy: never."""
    import datetime
    import re
    from .timeutil import helsinki_date
    if not status:
        return None
    m = re.search(r"/kirjausavain/(\d{4}-\d{2}-\d{2})$", path or "")
    if not m:
        return None
    try:
        d = datetime.date.fromisoformat(m.group(1))
    except ValueError:
        return None
    return int(status) if d > helsinki_date(world.present()[0]) else None
