"""The world the server answers from: population + history + the present.

Everything the REST interface serves is serialised once at start-up, by
forked workers, into byte arenas (anonymous memory files mapped here): every
change record in both accounts' views, and every person's /perustiedot
record at every version (initial state and after each of its changes, plus
the censored view while the person is protected).  A /muutokset page or a
/perustiedot answer is then a join of slices of ready bytes, as fast for
the first request of a person as for the next.  The per-tietoryhma filter
and VTJkysely build the state on demand.
"""
import bisect
import datetime
import gc
import mmap
import os
import tempfile
import threading
import time
import zlib
from array import array

from . import censor
from . import events
from . import fastinit
from . import render
from .history import History
from .population import Population, F_DEAD, F_ABROAD, F_PROT, G_CONTACT, G_EDUNV
from .timeutil import (DAY_MS, helsinki_midnight_ms, helsinki_date, helsinki_offset_ms,
                       iso_ms, local_to_utc_ms)

ACCOUNTS = ("mutpT1", "mutpT1x")
BLOCK = 256            # persons per block of the start-up workers' shares
SEG_SHIFT = 40         # record position = worker segment << 40 | offset
SEG_MASK = (1 << SEG_SHIFT) - 1
CENSORING = {"mutpT1": False, "mutpT1x": True}
# From this size on ("auto") every record is kept deflated in the arena (with a dictionary of
# sample records, about 7x smaller) and inflated when served (~3 us a record): at 5,600,000
# persons the plain arena would be ~16 GB of the machine's 24 GB.
COMPRESS_AUTO_PERSONS = 2000000
ZDICT_BYTES = 32768


class Config:
    def __init__(self, **kw):
        self.persons = 2000
        self.seed = 1
        self.days = 400
        self.history_end = datetime.date(2026, 11, 1)
        self.change_rate = 0.035
        self.order = "mixed"      # records inside a change: history.ORDERS
        self.turvakielto_share = 0.01
        # days the censoring account keeps withholding a person's basic data after turvaLoppuPv
        # has passed (DVV may keep withholding until the order is ended by a change); 0: reveals
        # the day after, as the history's invariant assumes
        self.withhold_days = 0
        self.start_days = 0.0
        self.page_size = 500
        self.latency_ms = 0
        self.cache_mb = 1536      # accepted for compatibility; records are pre-rendered
        self.workers = 0          # 0 = auto
        self.compress = "auto"    # records deflated in the arena: "on", "off", "auto" (by size)
        self.parallel_min = 20000  # persons before forking pays off
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
        self.hist = History(self.pop, cfg.days, cfg.change_rate, log=self.log, order=cfg.order)
        self.start_ms = helsinki_midnight_ms(start)
        self.end_ms = helsinki_midnight_ms(cfg.history_end)
        self.page_size = cfg.page_size
        self.latency_ms = cfg.latency_ms
        self._lock = threading.Lock()
        self._present = (self.start_ms, 0)
        self.advance(0, days=cfg.start_days)
        t1 = time.time()
        self._build_records()
        self.log("change records and %d person records serialised in %.1fs (%.0f MB%s)" % (
            len(self.rec_len), time.time() - t1, self.arena_bytes / 1e6,
            ", deflated" if self.zdict is not None else ""))
        t1 = time.time()
        self._index_hetu_events()
        # Everything built so far lives until exit: keep the cyclic GC from
        # traversing the big containers (a full pass took ~45 ms at 1M).
        gc.collect()
        gc.freeze()
        self.log("indexed in %.1fs" % (time.time() - t1))
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

    # ------------------------------------------------------------ records
    def _build_records(self):
        """Serialise every change record (both accounts' views) and every
        person's /perustiedot record at every version (k = 0 .. number of
        its changes; plus the censored view where the person is protected)
        into one byte arena per worker process.

        Slots: person i at version k is slot i + p_off[i] + k.  Per slot
        (and per event for change records) position, length and censored
        length live in arrays; the bytes of a censored view directly follow
        the plain ones.  Workers are forked; each writes its share (blocks of
        persons) to an anonymous memory file which this process maps."""
        h = self.hist
        n = self.pop.size
        n_ev = len(h.ev_ms)
        n_slots = n + n_ev
        workers = self.cfg.workers or min(2, os.cpu_count() or 1)
        if not hasattr(os, "fork") or n < self.cfg.parallel_min:
            workers = 1
        self.persons_with_changes = sum(1 for i in range(n) if h.p_off[i + 1] > h.p_off[i])
        compress = self.cfg.compress
        if compress == "auto":
            compress = "on" if n >= COMPRESS_AUTO_PERSONS else "off"
        if compress not in ("on", "off"):
            raise ValueError("compress must be on, off or auto")
        self.zdict = self._sample_dictionary() if compress == "on" else None
        # shared (fork-inherited) metadata, filled in by the workers
        meta = {}
        for name, code, count in (("rec_pos", "q", n_slots), ("rec_len", "I", n_slots),
                                  ("rec_clen", "I", n_slots), ("rec_until", "i", n_slots),
                                  ("chg_pos", "q", n_ev), ("chg_len", "I", n_ev),
                                  ("chg_clen", "I", n_ev)):
            size = max(8, count * array(code).itemsize)
            mm = mmap.mmap(-1, size)
            meta[name] = (mm, code, count)
        fds = [_anon_file("vtjmock-records-%d" % w) for w in range(workers)]
        children = []
        for w in range(1, workers):
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    self._render_share(w, workers, fds[w], meta)
                    status = 0
                except BaseException:
                    import traceback
                    traceback.print_exc()
                finally:
                    os._exit(status)
            children.append(pid)
        failed = False
        try:
            self._render_share(0, workers, fds[0], meta)
        finally:
            for pid in children:
                _pid, status = os.waitpid(pid, 0)
                failed = failed or status != 0
        if failed:
            raise RuntimeError("record serialiser worker failed")
        self._segs = []
        self.arena_bytes = 0
        for fd in fds:
            size = os.fstat(fd).st_size
            self.arena_bytes += size
            self._segs.append(mmap.mmap(fd, max(size, 1), prot=mmap.PROT_READ) if size else b"")
            os.close(fd)
        for name, (mm, code, count) in meta.items():
            a = array(code)
            a.frombytes(mm[:count * a.itemsize])
            mm.close()
            setattr(self, name, a)

    def _render_share(self, w, workers, fd, meta):
        """Worker w's share: blocks b of BLOCK persons with b % workers == w."""
        pop, h = self.pop, self.hist
        views = {name: memoryview(mm).cast(code) for name, (mm, code, _c) in meta.items()}
        rec_pos, rec_len, rec_clen, rec_until = (views["rec_pos"], views["rec_len"],
                                                 views["rec_clen"], views["rec_until"])
        chg_pos, chg_len, chg_clen = views["chg_pos"], views["chg_len"], views["chg_clen"]
        p_off = h.p_off
        ev_ms = h.ev_ms
        f1s, f2s, pe0 = h.init_f1, h.init_f2, h.prot_end0
        fast = fastinit.initial_bytes
        out = os.fdopen(fd, "wb", buffering=1 << 22, closefd=False)
        tag = w << SEG_SHIFT
        pos = 0
        if self.zdict is None:
            write = out.write
        else:
            # a primed compressor copied per record: priming with the dictionary costs more
            # than the record
            primed = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, self.zdict)
            raw_write = out.write

            def write(data):
                c = primed.copy()
                return raw_write(c.compress(data) + c.flush())
        t_start = time.time()

        orders = {}     # group names of a state -> serving order (render.state_records)

        def put_state(slot, st, memo):
            nonlocal pos
            hetu = st["HENKILOTUNNUS_KORJAUS"][0]["aktiivinenHenkilotunnus"]
            parts = []
            keys = tuple(st)
            order = orders.get(keys)
            if order is None:
                order = orders[keys] = sorted(keys, key=render.group_sort_key)
            for t in order:
                for r in st[t]:
                    m = memo.get(id(r))
                    if m is None:
                        m = memo[id(r)] = (r, render.dumps(r))
                    parts.append(m[1])
            plain = b"".join((b'{"henkilotunnus":', render.dumps(hetu), b',"tietoryhmat":[',
                              b",".join(parts), b"]}"))
            until = censor.protection_until(st)
            rec_pos[slot] = tag | pos
            size = write(plain)
            rec_len[slot] = size
            pos += size
            if until is not None:
                cens = render.person_bytes(hetu, render.state_records(censor_state_dict(st)))
                rec_until[slot] = until
                size = write(cens)
                rec_clen[slot] = size
                pos += size

        n = pop.size
        for b in range(w * BLOCK, n, workers * BLOCK):
            for i in range(b, min(n, b + BLOCK)):
                lo, hi = p_off[i], p_off[i + 1]
                s0 = i + lo
                if lo == hi:
                    plain = fast(pop, h, i)
                    if plain is None:
                        put_state(s0, pop.initial_state(i, (f1s[i], f2s[i], pe0.get(i, 0))), {})
                    else:
                        rec_pos[s0] = tag | pos
                        n_ = write(plain)
                        rec_len[s0] = n_
                        pos += n_
                    continue
                init, steps = events.timeline(pop, h, i)
                memo = {}
                put_state(s0, init, memo)
                k = s0
                for s in steps:
                    k += 1
                    put_state(k, s.state, memo)
                    e = s.e
                    stamp = iso_ms(ev_ms[e])
                    plain = render.change_bytes(s.hetu, stamp, s.groups)
                    chg_pos[e] = tag | pos
                    n_ = write(plain)
                    chg_len[e] = n_
                    pos += n_
                    day = helsinki_date(ev_ms[e]).toordinal()
                    if censor.is_protected(s.state, day):
                        c = render.change_bytes(s.hetu, stamp, censor.censor_change_groups(s.groups))
                        if c != plain:
                            n_ = write(c)
                            chg_clen[e] = n_
                            pos += n_
        out.flush()
        out.close()
        for v in views.values():
            v.release()
        self.log("records: worker %d done after %.1fs" % (w, time.time() - t_start))

    def _sample_dictionary(self):
        """The deflate dictionary: records rendered by the same code as the arena's (change
        records of the first persons with changes, then initial person records; the last bytes
        weigh most), the same in every worker because it is made before they fork."""
        pop, h = self.pop, self.hist
        changes, persons = [], []
        size_c = size_p = 0
        half = ZDICT_BYTES // 2
        for i in range(pop.size):
            if size_c >= half and size_p >= half:
                break
            if h.p_off[i + 1] > h.p_off[i]:
                if size_c < half:
                    _init, steps = events.timeline(pop, h, i)
                    for st in steps:
                        b = render.change_bytes(st.hetu, iso_ms(h.ev_ms[st.e]), st.groups)
                        changes.append(b)
                        size_c += len(b)
            elif size_p < half:
                b = fastinit.initial_bytes(pop, h, i)
                if b is not None:
                    persons.append(b)
                    size_p += len(b)
        return (b"".join(changes)[-half:] + b"".join(persons)[-half:])[-ZDICT_BYTES:]

    def _inflate(self, data):
        return zlib.decompressobj(-15, self.zdict).decompress(data)

    def change_record(self, e, censored=False):
        """Bytes of change record e (the mutpT1x view when censored)."""
        p = self.chg_pos[e]
        off = p & SEG_MASK
        n = self.chg_len[e]
        if censored:
            c = self.chg_clen[e]
            if c:
                off += n
                n = c
        data = self._segs[p >> SEG_SHIFT][off:off + n]
        return data if self.zdict is None else self._inflate(data)

    def record(self, slot, censored=False):
        """Bytes of /perustiedot record slot (censored view if it has one)."""
        p = self.rec_pos[slot]
        off = p & SEG_MASK
        n = self.rec_len[slot]
        if censored and self.rec_clen[slot]:
            off += n
            n = self.rec_clen[slot]
        data = self._segs[p >> SEG_SHIFT][off:off + n]
        return data if self.zdict is None else self._inflate(data)

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
        rec = self.change_record
        censored = account == "mutpT1x"
        parts = [rec(e, censored) for e in page]
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

    def person_bytes(self, i, pe, censoring, day_ordinal, only=None):
        k = self.version_of(i, pe)
        if only is not None:
            st = self.state_at(i, k)
            recs = render.state_records(st, only)
            if censoring and censor.is_protected(st, day_ordinal - self.cfg.withhold_days):
                recs = [r for r in render.state_records(censor_state_dict(st), only)]
            hetu = st["HENKILOTUNNUS_KORJAUS"][0]["aktiivinenHenkilotunnus"]
            return render.person_bytes(hetu, recs)
        slot = i + self.hist.p_off[i] + k
        return self.record(slot, censoring and day_ordinal <= self.rec_until[slot] + self.cfg.withhold_days)

    def perustiedot(self, hetus, account, only=None):
        """(body bytes, number of persons)."""
        ms, pe, _key = self.present()
        day = helsinki_date(ms).toordinal()
        censoring = CENSORING.get(account, True)
        parts = []
        append = parts.append
        if only is not None:
            for hetu in dict.fromkeys(hetus):
                i = self.resolve(hetu, pe)
                if i is not None:
                    append(self.person_bytes(i, pe, censoring, day, only))
        else:
            # the common case inlined (resolve, version_of, record): a
            # 1000-hetu request is ~1000 slices of the arena and one join
            index_get = self.pop.index.get
            new_get = self.hist.new_hetu_index.get
            corrections = self.hist.corrections
            p_off, p_ev = self.hist.p_off, self.hist.p_ev
            rec_pos, rec_len, rec_clen, rec_until = (self.rec_pos, self.rec_len,
                                                     self.rec_clen, self.rec_until)
            segs = self._segs
            withhold = self.cfg.withhold_days
            zdict = self.zdict
            inflater = zlib.decompressobj
            for hetu in dict.fromkeys(hetus):
                i = index_get(hetu)
                if i is not None:
                    if corrections and i in corrections and corrections[i][0] < pe:
                        continue        # passivated hetu
                else:
                    i = new_get(hetu)
                    if i is None or corrections[i][0] >= pe:
                        continue        # unknown, or its correction not yet visible
                slot = i + p_off[i]
                lo, hi = p_off[i], p_off[i + 1]
                while lo < hi and p_ev[lo] < pe:
                    lo += 1
                    slot += 1
                p = rec_pos[slot]
                off = p & SEG_MASK
                n = rec_len[slot]
                if censoring and day <= rec_until[slot] + withhold:
                    off += n
                    n = rec_clen[slot]
                if zdict is None:
                    append(segs[p >> SEG_SHIFT][off:off + n])
                else:
                    append(inflater(-15, zdict).decompress(segs[p >> SEG_SHIFT][off:off + n]))
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
                "order": self.cfg.order, "withhold_days": self.cfg.withhold_days,
                "turvakielto_share": self.cfg.turvakielto_share,
                "persons_with_changes": self.persons_with_changes,
                "tls_dir": getattr(self, "tls_dir", None),
                "records": {"slots": len(self.rec_len), "bytes": self.arena_bytes,
                            "segments": len(self._segs), "compressed": self.zdict is not None}}


def censor_state_dict(st):
    """State with location groups replaced by censoring markers."""
    recs = censor.censor_records(render.state_records(st))
    out = {}
    for r in recs:
        out.setdefault(r["tietoryhma"], []).append(r)
    return out


def _anon_file(name):
    """File descriptor of an anonymous in-memory file (memfd on Linux; an
    unlinked temporary file elsewhere)."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create(name, 0)
        except OSError:
            pass
    fd, path = tempfile.mkstemp(prefix=name + "-")
    os.unlink(path)
    return fd
