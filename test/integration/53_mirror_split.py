#!/usr/bin/env python3
"""More new members than one statement reads: a change run of a loaded register that finds 50,100
members added since reads them in slices (vtj_internal.max_batch(), 50,000 persons a statement) inside its one
transaction. Every member must be loaded exactly once and equal the truth; the interface must
be asked for each hetu once."""
import json
import os
import tempfile

from mirrorlib import OwnMock, compare, fresh_mirror_db
from taplib import done, eq, ok, sql, value

DB = "vtj_it_mirror_split"
N = 50100
FIRST = 100          # loaded by vtj.lataa_perustiedot first: vtj.paivita refuses a register never loaded
mock = OwnMock(N + FIRST, 53, "--change-rate", 0, timeout=300)
try:
    today = fresh_mirror_db(DB, mock, "s")
    eq(value("SELECT vtj_internal.max_batch()", db=DB), "50000", "one statement reads at most 50,000 persons")
    everyone = mock.hetut(N + FIRST)
    first, hetus = everyone[:FIRST], everyone[FIRST:]
    eq(len(hetus), N, f"the mock lists {N} hetus besides the first {FIRST}")
    sql("SELECT vtj.lisaa_henkilot('s', '{" + ",".join(first) + "}')", db=DB)
    sql("CALL vtj.lataa_perustiedot('s')", db=DB)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:   # too long for a command line
        f.write("\n".join(hetus) + "\n")
    os.chmod(f.name, 0o644)
    sql(f"CREATE TABLE uudet (hetu text); COPY uudet FROM '{f.name}'", db=DB)
    os.unlink(f.name)
    eq(value("SELECT vtj.lisaa_henkilot('s', ARRAY(SELECT hetu FROM uudet))", db=DB), str(N), f"{N} members added")
    mock.clear_requests()
    sql("CALL vtj.paivita('s')", db=DB)   # the run loads the members never loaded
    run = sql("SELECT tila, ladattuja FROM vtj.ajo WHERE rekisteri = 's' AND laji = 'paivita'", db=DB)
    eq(run, [["ok", str(N)]], f"one change run loads all {N} new members (ok, {N} returned)")
    eq(value("SELECT count(*) FROM vtj.jasen WHERE rekisteri = 's' AND (ladattu IS NULL OR puuttuu)", db=DB), "0",
       "… every member is loaded and none is missing")
    eq(value("SELECT count(*) FROM vtj.henkilo WHERE rekisteri = 's'", db=DB), str(N + FIRST),
       "… every member has its typed row (both slices were typed)")
    asked = [h for r in mock.requests("perustiedot") for h in r.get("hetulista", [])]
    if asked:
        eq(sorted(asked), sorted(hetus), "… and the interface was asked for each hetu once")
    else:
        eq(sum(r["hetus"] for r in mock.requests("perustiedot")), N, "… and the interface was asked for N hetus")
    truth = mock.perustiedot(everyone, "mutpT1")
    diffs = compare(DB, "s", "ASREK", truth, today, everyone)
    ok(not diffs, f"the register equals the truth for all {N + FIRST} members",
       "\n".join(json.dumps(d, ensure_ascii=False)[:600] for d in diffs[:6]))
finally:
    mock.stop()
done()
