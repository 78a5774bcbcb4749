"""The world the server answers from: population + history + the present.

Change records are serialised once at start-up (both accounts' views) so a
/muutokset page is a join of ready bytes.  A person's /perustiedot record is
built on demand from its timeline and kept in an LRU cache keyed by
(person, number of its changes visible, censored or not); the cache has a
byte budget so memory stays bounded at a million persons.
"""
import bisect
import datetime
import gc
import os
import struct
import tempfile
import threading
import time
from collections import OrderedDict

from . import censor
from . import events
from . import render
from .history import History
from .population import Population, F_DEAD, F_ABROAD, F_PROT, G_CONTACT, G_EDUNV
from .timeutil import (DAY_MS, helsinki_midnight_ms, helsinki_date, helsinki_offset_ms,
                       iso_ms, local_to_utc_ms)

ACCOUNTS = ("mutpT1", "mutpT1x")
CENSORING = {"mutpT1": False, "mutpT1x": True}


class Config:
    def __init__(self, **kw):
        self.persons = 2000
        self.seed = 1
        self.days = 400
        self.history_end = datetime.date(2026, 11, 1)
        self.change_rate = 0.035
        self.turvakielto_share = 0.01
        self.start_days = 0.0
        self.page_size = 500
        self.latency_ms = 0
        self.cache_mb = 1536
        self.workers = 0          # 0 = auto
        self.parallel_min = 20000  # persons with changes before forking pays off
        self.__dict__.update(kw)


class World:
    def __init__(self, cfg, log=None):
        self.cfg = cfg
        self.log = log or (lambda *a: None)
        t0 = time.time()
        # millions of long-lived objects are built below: collecting them
        # cyclically meanwhile only costs time (re-enabled, frozen, at the end)
        gc_was_enabled = gc.isenabled()
        gc.disable()
        start = cfg.history_end - datetime.timedelta(days=cfg.days)
        self.pop = Population(cfg.persons, cfg.seed, start, cfg.turvakielto_share)
        self.log("population: %d persons in %.1fs" % (cfg.persons, time.time() - t0))
        self.hist = History(self.pop, cfg.days, cfg.change_rate, log=self.log)
        self.start_ms = helsinki_midnight_ms(start)
        self.end_ms = helsinki_midnight_ms(cfg.history_end)
        self.page_size = cfg.page_size
        self.latency_ms = cfg.latency_ms
        self._lock = threading.Lock()
        self._present = (self.start_ms, 0)
        self.advance(0, days=cfg.start_days)
        t1 = time.time()
        self._precompute_changes()
        self._index_hetu_events()
        self.log("change records serialised in %.1fs" % (time.time() - t1))
        self._cache = OrderedDict()
        self._cens_cache = {}
        self._cache_bytes = 0
        self._cache_budget = int(cfg.cache_mb * 1024 * 1024)
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0
        # Everything built so far lives until exit: keep the cyclic GC from
        # traversing the big containers (a full pass took ~45 ms at 1M).
        gc.collect()
        gc.freeze()
        if gc_was_enabled:
            gc.enable()

    # ------------------------------------------------------------- present
    def set_present(self, ms):
        ms = max(self.start_ms, min(int(ms), self.end_ms))
        pe = bisect.bisect_right(self.hist.ev_ms, ms)
        with self._lock:
            if ms >= self._present[0]:
                self._present = (ms, pe)
        return self._present

    def advance(self, ms_delta, days=0):
        """Move forward by whole calendar days (same Helsinki wall-clock
        time, so a day is 23 or 25 hours across DST) plus ms_delta."""
        ms = self._present[0]
        if days:
            whole = int(days)
            local = ms + helsinki_offset_ms(ms)
            d = helsinki_date(ms) + datetime.timedelta(days=whole)
            ms = local_to_utc_ms(d, local % DAY_MS)
            ms_delta += (days - whole) * DAY_MS
        return self.set_present(ms + max(0, int(ms_delta)))

    def present(self):
        """(present ms, number of visible events, bookmark at present)."""
        ms, pe = self._present
        return ms, pe, self.key_before(pe)

    def key_before(self, pe):
        return self.hist.ev_key[pe - 1] if pe > 0 else History.BASE_KEY

    def bookmark_for_date(self, d):
        """Bookmark after which changes of day d (Helsinki) begin."""
        ms, pe, key = self.present()
        midnight = helsinki_midnight_ms(d)
        if midnight > ms:
            return key
        return self.key_before(bisect.bisect_left(self.hist.ev_ms, midnight))

    # ------------------------------------------------------------ changes
    def _precompute_changes(self):
        h = self.hist
        n_ev = len(h.ev_ms)
        self.chg_plain = [None] * n_ev
        self.chg_cens = {}
        persons = [i for i in range(self.pop.size) if h.p_off[i + 1] > h.p_off[i]]
        self.persons_with_changes = len(persons)
        workers = self.cfg.workers or min(2, os.cpu_count() or 1)
        if workers > 1 and len(persons) > self.cfg.parallel_min and hasattr(os, "fork"):
            self._precompute_parallel(persons, workers)
        else:
            for i in persons:
                for e, plain, cens in self._person_change_bytes(i):
                    self.chg_plain[e] = plain
                    if cens is not None:
                        self.chg_cens[e] = cens

    def _person_change_bytes(self, i):
        h = self.hist
        _init, steps = events.timeline(self.pop, h, i)
        for s in steps:
            stamp = iso_ms(h.ev_ms[s.e])
            plain = render.change_bytes(s.hetu, stamp, s.groups)
            cens = None
            day = helsinki_date(h.ev_ms[s.e]).toordinal()
            if censor.is_protected(s.state, day):
                c = render.change_bytes(s.hetu, stamp, censor.censor_change_groups(s.groups))
                if c != plain:
                    cens = c
            yield s.e, plain, cens

    def _precompute_parallel(self, persons, workers):
        """Fork workers-1 children that serialise their share into temporary
        files while this process does its own share; then read the files."""
        tmpdir = "/dev/shm" if os.path.isdir("/dev/shm") else None
        children = []
        for w in range(1, workers):
            fd, path = tempfile.mkstemp(prefix="vtjmock-", dir=tmpdir)
            pid = os.fork()
            if pid == 0:
                try:
                    with os.fdopen(fd, "wb", buffering=1 << 20) as f:
                        pack = struct.Struct("<iii").pack
                        for i in persons[w::workers]:
                            for e, plain, cens in self._person_change_bytes(i):
                                c = cens or b""
                                f.write(pack(e, len(plain), len(c)))
                                f.write(plain)
                                f.write(c)
                    os._exit(0)
                except BaseException:
                    import traceback
                    traceback.print_exc()
                    os._exit(1)
            os.close(fd)
            children.append((pid, path))
        for i in persons[0::workers]:
            for e, plain, cens in self._person_change_bytes(i):
                self.chg_plain[e] = plain
                if cens is not None:
                    self.chg_cens[e] = cens
        unpack = struct.Struct("<iii").unpack_from
        for pid, path in children:
            _pid, status = os.waitpid(pid, 0)
            try:
                if status != 0:
                    raise RuntimeError("change serialiser worker failed")
                with open(path, "rb") as f:
                    data = f.read()
            finally:
                os.unlink(path)
            pos = 0
            end = len(data)
            while pos < end:
                e, lp, lc = unpack(data, pos)
                pos += 12
                self.chg_plain[e] = data[pos:pos + lp]
                pos += lp
                if lc:
                    self.chg_cens[e] = data[pos:pos + lc]
                    pos += lc
            del data

    def lookup(self, hetu):
        """-> (person, issued_new) or None.  issued_new: the hetu is the
        corrected (new) hetu of a person."""
        i = self.pop.index.get(hetu)
        if i is not None:
            return i, False
        i = self.hist.new_hetu_index.get(hetu)
        if i is not None:
            return i, True
        return None

    def _index_hetu_events(self):
        """hetu -> event indices filed under that hetu (kirjausavain order).
        A hetu correction is filed under the old hetu; later changes under
        the new one only.  Only hetus with changes are in the dict, so the
        common case (no changes) is one failed lookup."""
        h = self.hist
        idx = {}
        hetus = self.pop.hetus
        p_off, p_ev = h.p_off, h.p_ev
        for i in range(self.pop.size):
            lo, hi = p_off[i], p_off[i + 1]
            if lo == hi:
                continue
            evs = tuple(p_ev[lo:hi])
            corr = h.corrections.get(i)
            if corr is None:
                idx[hetus[i]] = evs
            else:
                ce, new = corr
                idx[hetus[i]] = tuple(e for e in evs if e <= ce)
                after = tuple(e for e in evs if e > ce)
                if after:
                    idx[new] = after
        self.hetu_events = idx

    def muutokset(self, after, hetus, account, page_size=None):
        """(body bytes, number of records, ajanTasalla)."""
        h = self.hist
        ms, pe, pkey = self.present()
        page_size = page_size or self.page_size
        cands = []
        if after < pkey:
            # keys grow with the event index: "key > after" is "e >= first"
            first = bisect.bisect_right(h.ev_key, after)
            get = self.hetu_events.get
            append = cands.append
            for hetu in dict.fromkeys(hetus):
                evs = get(hetu)
                if evs is None:
                    continue
                for e in evs:
                    if e >= pe:
                        break
                    if e >= first:
                        append(e)
        cands.sort()
        more = len(cands) > page_size
        page = cands[:page_size]
        plain = self.chg_plain
        if account == "mutpT1x":
            cens = self.chg_cens
            parts = [cens.get(e) or plain[e] for e in page]
        else:
            parts = [plain[e] for e in page]
        if more:
            m = h.ev_key[page[-1]]
        else:
            m = max(after, pkey)
        body = b"".join((b'{"viimeisinKirjausavain":', str(m).encode(), b',"muutokset":[',
                         b",".join(parts), b'],"ajanTasalla":',
                         b"false}" if more else b"true}"))
        return body, len(page), not more

    # ---------------------------------------------------------- basic data
    def version_of(self, i, pe):
        """Number of person i's events visible when pe events are."""
        h = self.hist
        lo, hi = h.p_off[i], h.p_off[i + 1]
        k = 0
        for j in range(lo, hi):
            if h.p_ev[j] >= pe:
                break
            k += 1
        return k

    def current_hetu(self, i, pe):
        corr = self.hist.corrections.get(i)
        if corr is not None and corr[0] < pe:
            return corr[1]
        return self.pop.hetus[i]

    def resolve(self, hetu, pe):
        """Person whose *active* hetu at the present is `hetu`, or None."""
        r = self.lookup(hetu)
        if r is None:
            return None
        i, new = r
        corr = self.hist.corrections.get(i)
        visible = corr is not None and corr[0] < pe
        if new != visible:
            return None
        return i

    def state_at(self, i, k):
        init, steps = events.timeline(self.pop, self.hist, i, k)
        return steps[-1].state if steps else init

    def _entry(self, i, k):
        key = (i << 12) | k
        with self._cache_lock:
            ent = self._cache.get(key)
            if ent is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return key, ent
        self.cache_misses += 1
        st = self.state_at(i, k)
        hetu = st["HENKILOTUNNUS_KORJAUS"][0]["aktiivinenHenkilotunnus"]
        plain = render.person_bytes(hetu, render.state_records(st))
        ent = (plain, censor.protection_until(st))
        self._cache_put(key, ent, len(plain))
        return key, ent

    def _cache_put(self, key, ent, size):
        with self._cache_lock:
            if key not in self._cache:
                self._cache[key] = ent
                self._cache_bytes += size + 120
            while self._cache_bytes > self._cache_budget and self._cache:
                k, old = self._cache.popitem(last=False)
                self._cache_bytes -= len(old[0]) + 120
                c = self._cens_cache.pop(k, None)
                if c is not None:
                    self._cache_bytes -= len(c)

    def person_bytes(self, i, pe, censoring, day_ordinal, only=None):
        k = self.version_of(i, pe)
        if only is not None:
            st = self.state_at(i, k)
            recs = render.state_records(st, only)
            if censoring and censor.is_protected(st, day_ordinal):
                recs = [r for r in render.state_records(censor_state_dict(st), only)]
            hetu = st["HENKILOTUNNUS_KORJAUS"][0]["aktiivinenHenkilotunnus"]
            return render.person_bytes(hetu, recs)
        key, ent = self._entry(i, k)
        until = ent[1]
        if not censoring or until is None or day_ordinal > until:
            return ent[0]
        c = self._cens_cache.get(key)
        if c is None:
            st = self.state_at(i, k)
            hetu = st["HENKILOTUNNUS_KORJAUS"][0]["aktiivinenHenkilotunnus"]
            c = render.person_bytes(hetu, render.state_records(censor_state_dict(st)))
            with self._cache_lock:
                if key in self._cache and key not in self._cens_cache:
                    self._cens_cache[key] = c
                    self._cache_bytes += len(c)
        return c

    def perustiedot(self, hetus, account, only=None):
        """(body bytes, number of persons)."""
        ms, pe, _key = self.present()
        day = helsinki_date(ms).toordinal()
        censoring = CENSORING.get(account, True)
        parts = []
        seen = set()
        for hetu in hetus:
            if hetu in seen:
                continue
            seen.add(hetu)
            i = self.resolve(hetu, pe)
            if i is None:
                continue
            parts.append(self.person_bytes(i, pe, censoring, day, only))
        body = b"".join((b'{"perustiedot":[', b",".join(parts), b'],"ajanTasalla":true}'))
        return body, len(parts)

    def person_view(self, i, pe=None):
        """Current state dict (uncensored) and censoring facts, for SOAP."""
        if pe is None:
            pe = self.present()[1]
        st = self.state_at(i, self.version_of(i, pe))
        return st

    # -------------------------------------------------------------- queries
    def kind_hetus(self, kind, limit=None, offset=0):
        """Hetus (active at the present) of persons with a property."""
        ms, pe, _key = self.present()
        today = helsinki_date(ms).toordinal()
        h = self.hist
        out = []
        skip = offset
        corrections = h.corrections

        def emit(x):
            nonlocal skip
            if skip > 0:
                skip -= 1
                return True
            out.append(x)
            return limit is None or len(out) < limit

        if kind in ("corrected", "passivated"):
            for i, (e, new) in sorted(corrections.items(), key=lambda kv: kv[1][0]):
                if e < pe and not emit(new if kind == "corrected" else self.pop.hetus[i]):
                    break
            return out
        for i in range(self.pop.size):
            if kind == "all":
                ok = True
            elif kind == "changed":
                ok = h.p_off[i + 1] > h.p_off[i]
            else:
                f1, f2, pend = h.flags_at(i, pe)
                if kind == "turvakielto":
                    ok = bool(f1 & F_PROT) and (not pend or today <= pend)
                elif kind == "turvakielto_expired":
                    ok = bool(f1 & F_PROT) and bool(pend) and today > pend
                elif kind == "deceased":
                    ok = bool(f1 & F_DEAD)
                elif kind == "abroad":
                    ok = bool(f1 & F_ABROAD) and not (f1 & F_DEAD)
                elif kind == "contact":
                    ok = bool(f2 & G_CONTACT)
                elif kind == "edunvalvonta":
                    ok = bool(f2 & G_EDUNV)
                else:
                    raise KeyError(kind)
            if ok and not emit(self.current_hetu(i, pe)):
                break
        return out

    def state_json(self):
        ms, pe, key = self.present()
        return {"present": iso_ms(ms), "bookmark": key, "persons": self.pop.size,
                "seed": self.cfg.seed, "history_start": self.pop.start.isoformat(),
                "history_end": self.cfg.history_end.isoformat(),
                "page_size": self.page_size, "latency_ms": self.latency_ms,
                "base_bookmark": History.BASE_KEY,
                "changes_total": len(self.hist.ev_ms), "changes_visible": pe,
                "final_bookmark": self.hist.final_key if self.hist.ev_ms else History.BASE_KEY,
                "present_date": helsinki_date(ms).isoformat(),
                "days": self.cfg.days, "change_rate": self.cfg.change_rate,
                "turvakielto_share": self.cfg.turvakielto_share,
                "persons_with_changes": self.persons_with_changes,
                "tls_dir": getattr(self, "tls_dir", None),
                "cache": {"entries": len(self._cache), "bytes": self._cache_bytes,
                          "hits": self.cache_hits, "misses": self.cache_misses}}


def censor_state_dict(st):
    """State with location groups replaced by censoring markers."""
    recs = censor.censor_records(render.state_records(st))
    out = {}
    for r in recs:
        out.setdefault(r["tietoryhma"], []).append(r)
    return out
