"""Control API for tests and benchmarks (/_control/..., no auth, not logged):
the present, the population, the truth, the request log, faults, latency."""
import json

from .httpserver import Response
from .timeutil import HOUR_MS, parse_iso_ms

HETU_KINDS = ("all", "turvakielto", "turvakielto_expired", "deceased", "abroad",
              "corrected", "passivated", "changed", "contact", "edunvalvonta")


def _json(status, obj):
    return Response(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def _err(status, message):
    return _json(status, {"status": status, "message": message})


class Control:
    def __init__(self, world, faultboard, reqlog):
        self.world = world
        self.faults = faultboard
        self.reqlog = reqlog

    def _body(self, req):
        if not req.body:
            return {}
        try:
            b = json.loads(req.body)
        except ValueError:
            raise ValueError("body is not JSON")
        if not isinstance(b, dict):
            raise ValueError("body must be a JSON object")
        return b

    def handle(self, req):
        try:
            return self._handle(req)
        except ValueError as e:
            return _err(400, str(e))

    def _handle(self, req):
        w = self.world
        route = (req.method, req.path.rstrip("/"))
        if route == ("GET", "/_control/state"):
            return _json(200, w.state_json())
        if route == ("POST", "/_control/advance"):
            b = self._body(req)
            if "to" in b:
                w.set_present(parse_iso_ms(str(b["to"])))
            elif b.get("to_end"):
                w.set_present(w.end_ms)
            else:
                delta = 0.0
                for k, unit in (("days", 0), ("hours", HOUR_MS), ("minutes", 60000),
                                ("seconds", 1000)):
                    v = b.get(k, 0)
                    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                        raise ValueError("%s must be a non-negative number" % k)
                    delta += v * unit
                w.advance(delta, days=b.get("days", 0))
            return _json(200, w.state_json())
        if route == ("GET", "/_control/hetut"):
            q = req.query
            kind = q.get("kind", "all")
            if kind not in HETU_KINDS:
                raise ValueError("kind must be one of %s" % ", ".join(HETU_KINDS))
            try:
                limit = int(q["limit"]) if q.get("limit") else None
                offset = int(q.get("offset") or 0)
            except ValueError:
                raise ValueError("limit/offset must be integers")
            if kind == "all":
                ms, pe, _k = w.present()
                n = w.pop.size
                stop = n if limit is None else min(n, offset + limit)
                out = [w.current_hetu(i, pe) for i in range(max(0, offset), stop)]
            else:
                out = w.kind_hetus(kind, limit, offset)
            return _json(200, out)
        if route == ("GET", "/_control/truth"):
            hetu = req.query.get("hetu", "")
            account = req.query.get("account", "mutpT1")
            if account not in ("mutpT1", "mutpT1x"):
                raise ValueError("account must be mutpT1 or mutpT1x")
            body, _n = w.perustiedot([hetu], account)
            return Response(200, body)
        if route == ("GET", "/_control/requests"):
            return _json(200, self.reqlog.entries())
        if route == ("DELETE", "/_control/requests"):
            self.reqlog.clear()
            return _json(200, {"cleared": True})
        if route == ("POST", "/_control/fault"):
            f = self.faults.arm(self._body(req))
            return _json(200, {"armed": f.as_json(), "all": self.faults.armed()})
        if route == ("GET", "/_control/fault"):
            return _json(200, self.faults.armed())
        if route == ("DELETE", "/_control/fault"):
            return _json(200, {"disarmed": self.faults.disarm()})
        if route == ("POST", "/_control/latency"):
            b = self._body(req)
            ms = b.get("ms")
            if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms < 0:
                raise ValueError("ms must be a non-negative number")
            w.latency_ms = ms
            return _json(200, w.state_json())
        if route == ("POST", "/_control/config"):
            b = self._body(req)
            if "page_size" in b:
                ps = b["page_size"]
                if not isinstance(ps, int) or isinstance(ps, bool) or ps < 1:
                    raise ValueError("page_size must be a positive integer")
                w.page_size = ps
            if "latency_ms" in b:
                ms = b["latency_ms"]
                if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms < 0:
                    raise ValueError("latency_ms must be a non-negative number")
                w.latency_ms = ms
            if "future_kirjausavain" in b:
                st = b["future_kirjausavain"]
                if st not in (None, 0, 400, 404, 422) or isinstance(st, bool):
                    raise ValueError("future_kirjausavain must be 400, 404, 422, or null (off)")
                w.future_kirjausavain = st or None
            return _json(200, dict(w.state_json(), future_kirjausavain=getattr(w, "future_kirjausavain", None)))
        return _err(404, "no such control endpoint: %s %s" % (req.method, req.path))
