"""Routing and the REST endpoints of VTJ-muutosrajapinta.

Paths are served under the plain base /api/v1/... and under the X-Road REST
form /r1/{instance}/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1/...; VTJkysely
SOAP at POST /vtjkysely (and any path mentioning VTJkysely); the control API
at /_control/ (no auth, not logged).

Order of checks for a service request: injected latency, an armed fault,
X-Road-Client (when required), credentials, the request body, the answer.
duration_ms in the request log is server time from the parsed request to the
ready response, without injected sleeps.
"""
import datetime
import json
import re
import time
import uuid

from . import faults as F
from .httpserver import Response
from .soap import CONTENT_TYPE as SOAP_CT, Kysely, SoapError, parse_request, fault_xml, entity_attack_xml, hostile_answer

XROAD_RE = re.compile(r"^/r1/[^/]+/GOV/0245437-2/VTJmutpa/VTJmutpa(/api/v1/.*)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
XROAD_CLIENT_RE = re.compile(r"^[^/\s]+/[^/\s]+/[^/\s]+/[^/\s]+$")
MAX_PERUSTIEDOT = 1000


def json_response(status, obj, headers=None):
    return Response(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers=headers)


class RestError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


def _sleep_ms(ms):
    if ms and ms > 0:
        time.sleep(ms / 1000.0)


class App:
    def __init__(self, world, auth, faultboard, reqlog, control=None, require_xroad_client=False,
                 log=None):
        self.world = world
        self.auth = auth
        self.faults = faultboard
        self.reqlog = reqlog
        self.control = control
        self.require_xroad_client = require_xroad_client
        self.kysely = Kysely(world, auth)
        self.log = log or (lambda *a: None)

    # -------------------------------------------------------------- dispatch
    def __call__(self, req):
        path = req.path
        if path == "/_control" or path.startswith("/_control/"):
            return self.control.handle(req)
        if "vtjkysely" in path.lower():
            return self.soap(req)
        m = XROAD_RE.match(path)
        inner = m.group(1) if m else path
        if inner.startswith("/api/v1/kirjausavain/") or inner == "/api/v1/kirjausavain":
            endpoint = "kirjausavain"
        elif inner == "/api/v1/muutokset":
            endpoint = "muutokset"
        elif inner == "/api/v1/perustiedot":
            endpoint = "perustiedot"
        else:
            endpoint = "other"
        return self.rest(req, inner, endpoint)

    def _log(self, req, endpoint, hetus, resp, t0, fault, account=None):
        self.reqlog.add(method=req.method, path=req.path, endpoint=endpoint, hetus=hetus,
                        status=resp.status, bytes=self._size(resp),
                        duration_ms=round((time.perf_counter() - t0) * 1000.0, 3),
                        fault=fault.kind if fault else None, account=account)

    @staticmethod
    def _size(resp):
        if resp.stream is not None:
            for k, v in resp.headers:
                if k.lower() == "content-length":
                    return int(v)
        return len(resp.body)

    # ------------------------------------------------------------------ REST
    def rest(self, req, path, endpoint):
        _sleep_ms(self.world.latency_ms)
        fault = self.faults.take(endpoint) if endpoint != "other" else None
        if fault is not None and fault.phase == "delay" and not F.passes_by(fault):
            _sleep_ms(float(fault.params.get("delay_ms", 2000)))
        t0 = time.perf_counter()
        if fault is not None and fault.phase == "pre":
            resp = F.pre_response(fault, req.path)
            self._log(req, endpoint, 0, resp, t0, fault)
            return resp
        account = None
        hetus = 0
        bookmark = None
        try:
            if self.require_xroad_client:
                xc = req.header("x-road-client")
                if not xc or not XROAD_CLIENT_RE.match(xc):
                    body = json.dumps({"type": "Client.InvalidClientIdentifier",
                                       "message": "Missing or malformed X-Road-Client header "
                                                  "(expected INSTANCE/CLASS/MEMBER/SUBSYSTEM)",
                                       "detail": str(uuid.uuid4())}).encode()
                    raise _Done(Response(400, body))
            account, reason = self.auth.from_headers(req.headers)
            if account is None:
                raise RestError(401, reason, [("WWW-Authenticate", 'Basic realm="VTJ-muutosrajapinta"')])
            if endpoint == "kirjausavain":
                resp = self.ep_kirjausavain(req, path)
            elif endpoint == "muutokset":
                resp, hetus, bookmark = self.ep_muutokset(req, account)
            elif endpoint == "perustiedot":
                resp, hetus = self.ep_perustiedot(req, account)
            else:
                raise RestError(404, "no such endpoint: %s %s" % (req.method, req.path))
        except RestError as e:
            resp = Response(e.status, F.error_json(e.status, e.message, req.path), headers=e.headers)
        except _Done as d:
            resp = d.resp
        if fault is not None and fault.phase == "shape":
            resp = F.shape_response(fault, resp, req, endpoint, self.world, path)
        if fault is not None and fault.phase == "post":
            if fault.kind != "stuck_bookmark":
                resp = F.post_response(fault, resp)
            elif resp.status == 200 and bookmark is not None:
                resp = F.post_response(fault, resp, request_bookmark=bookmark)
        self._log(req, endpoint, hetus, resp, t0, fault, account)
        return resp

    @staticmethod
    def _json_body(req):
        if not req.body:
            raise RestError(400, "request body required (JSON object)")
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise RestError(400, "request body is not valid JSON: %s" % e)
        if not isinstance(body, dict):
            raise RestError(400, "request body must be a JSON object")
        return body

    @staticmethod
    def _hetulista(body):
        hl = body.get("hetulista")
        if hl is None:
            raise RestError(400, "hetulista is required")
        if not isinstance(hl, list) or not all(isinstance(h, str) for h in hl):
            raise RestError(400, "hetulista must be an array of strings")
        return hl

    def ep_kirjausavain(self, req, path):
        if req.method != "GET":
            raise RestError(405, "use GET")
        date_s = path[len("/api/v1/kirjausavain/"):] if path.startswith("/api/v1/kirjausavain/") else ""
        if not DATE_RE.match(date_s):
            raise RestError(400, "date must be YYYY-MM-DD: %r" % date_s)
        try:
            d = datetime.date.fromisoformat(date_s)
        except ValueError:
            raise RestError(400, "not a calendar date: %s" % date_s)
        refused = F.future_kirjausavain_status(self.world, path, getattr(self.world, "future_kirjausavain", None))
        if refused:  # /_control/config {"future_kirjausavain": 404}: an interface that has no future days
            raise RestError(refused, "no bookmark for a day after the present: %s" % date_s)
        return Response(200, b'{"viimeisinKirjausavain":%d}' % self.world.bookmark_for_date(d))

    def ep_muutokset(self, req, account):
        if req.method != "POST":
            raise RestError(405, "use POST")
        body = self._json_body(req)
        n = body.get("viimeisinKirjausavain")
        if n is None:
            raise RestError(400, "viimeisinKirjausavain is required")
        if not isinstance(n, int) or isinstance(n, bool):
            raise RestError(400, "viimeisinKirjausavain must be an integer")
        hl = self._hetulista(body)
        data, _count, _done = self.world.muutokset(n, hl, account)
        return Response(200, data), len(hl), n

    def ep_perustiedot(self, req, account):
        if req.method != "POST":
            raise RestError(405, "use POST")
        body = self._json_body(req)
        hl = self._hetulista(body)
        if len(hl) > MAX_PERUSTIEDOT:
            raise RestError(400, "at most %d hetus per request (got %d)" % (MAX_PERUSTIEDOT, len(hl)))
        only = body.get("tietoryhmat")
        if only is not None:
            if not isinstance(only, list) or not all(isinstance(t, str) for t in only):
                raise RestError(400, "tietoryhmat must be an array of strings")
            only = frozenset(only)
        data, _count = self.world.perustiedot(hl, account, only)
        return Response(200, data), len(hl)

    # ------------------------------------------------------------------ SOAP
    def soap(self, req):
        _sleep_ms(self.world.latency_ms)
        fault = self.faults.take("kysely")
        if fault is not None and fault.phase == "delay":
            _sleep_ms(float(fault.params.get("delay_ms", 2000)))
        t0 = time.perf_counter()
        if fault is not None and fault.phase == "pre":
            resp = F.pre_response(fault, req.path)
            self._log(req, "kysely", 1, resp, t0, fault)
            return resp
        account = None
        if req.method != "POST":
            resp = Response(405, fault_xml("SOAP-ENV:Client", "use POST").encode(), content_type=SOAP_CT)
            self._log(req, "kysely", 0, resp, t0, fault)
            return resp
        try:
            kreq = parse_request(req.body)
            account = self.auth.check(kreq.fields.get("Kayttajatunnus", ""), kreq.fields.get("Salasana", ""))
            if fault is not None and fault.kind == "soap_fault":
                raise SoapError("SOAP-ENV:Server", "VTJ service temporarily unavailable (mock fault)")
            override = None
            if fault is not None and fault.kind == "soap_paluukoodi":
                override = str(fault.params.get("koodi", "0009"))
            status, text = self.kysely.answer(kreq, override)
            data = text.encode("utf-8")
            if fault is not None and fault.kind == "malformed_xml":
                data = data[: int(len(data) * 0.6)] + b"<Henkilo><Sukunimi>Virtanen</Henk"
            elif fault is not None and fault.kind == "xml_entity_attack":
                data = entity_attack_xml().encode("utf-8")
            elif fault is not None and fault.kind in F.HOSTILE:
                data = hostile_answer(fault.kind, fault.params, data)
            resp = Response(status, data, content_type=SOAP_CT)
        except SoapError as e:
            resp = Response(500, fault_xml(e.faultcode, e.faultstring).encode("utf-8"),
                            content_type=SOAP_CT)
        if fault is not None and fault.phase == "post" and fault.kind != "stuck_bookmark":
            resp = F.post_response(fault, resp)
        self._log(req, "kysely", 1, resp, t0, fault, account)
        return resp


class _Done(Exception):
    def __init__(self, resp):
        super().__init__("done")
        self.resp = resp
