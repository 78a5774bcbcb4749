#!/usr/bin/env python3
"""Every SQL block of README.md and docs/*.md runs as written (README "Cookbook: the change
interface as foreign tables"): in document order, each in a psql session of its own, as the
cluster's superuser in a fresh database `kunta`, against a mock of the demo's population
(3000 persons, seed 7: the hetus of the cookbooks are its persons). A block fails the test
when it errors, when a block marked `<!-- readme-test: fails SQLSTATE -->` does not fail with
that SQLSTATE at its last statement, or when the ```text block after it (its promised output)
differs from what psql prints (-At: rows only; for a failing block, the error's lines).
A table marked `<!-- readme-test: columns REL -->` must list REL's columns, in order (and the
types it names). The only changes made to the text are the substitutions below (the README's
security server and credentials for the mock's); each must occur in the README. Every block's
verdict is printed: ok, expected-fail, or skip with its reason."""
import os
import re
import subprocess
import tempfile

from mirrorlib import OwnMock, PASSWORD
from readmelib import ROOT, code_spans, documents, items
from taplib import PSQL, done, eq, ok, sql, value

DB = "kunta"
ROLES = ("vtj_ajo", "kasittelija", "vtj_yoajo")    # the cluster-wide roles the cookbooks create

mock = OwnMock(3000, 7, "--start-days", 30)
SUBSTITUTIONS = [
    # (as README writes it, what the test runs)
    ("'https://ss.kunta.fi/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1'",
     f"'{mock.root}/r1/FI/GOV/0245437-2/VTJmutpa/VTJmutpa/api/v1'"),
    ("kysely_url 'https://ss.kunta.fi/'", f"kysely_url '{mock.root}/vtjkysely'"),
    ("username 'tunnus', password 'salasana'", f"username 'mutpT1x', password '{PASSWORD}'"),
    ("username 'kysely-tunnus', password 'kysely-salasana'", f"username 'mutpT1x', password '{PASSWORD}'"),
]
ERROR_LINE = re.compile(r"^psql:(?P<file>[^:]+):(?P<line>\d+): (?P<rest>(ERROR|FATAL):.*)$")


def cleanup():
    sql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    for r in ROLES:
        sql(f"DROP ROLE IF EXISTS {r}", db="postgres")


def statement_lines(text):
    """1-based line numbers of the lines that end a statement (a ';' outside quotes and
    comments last on the line) or hold a psql meta-command: where psql reports an error."""
    ends = []
    quote = None      # ' or " while inside one
    dollar = None     # the $tag$ while inside a dollar quote
    for n, line in enumerate(text.split("\n"), 1):
        if quote is None and dollar is None and line.strip().startswith("\\"):
            ends.append(n)
            continue
        last = None   # the last significant character outside quotes and comments
        i = 0
        while i < len(line):
            if dollar is not None:
                if line.startswith(dollar, i):
                    i += len(dollar)
                    dollar = None
                    last = "$"
                    continue
                i += 1
                continue
            c = line[i]
            if quote is not None:
                if c == quote:
                    quote = None
                    last = c
                i += 1
                continue
            if line.startswith("--", i):
                break
            m = re.match(r"\$[A-Za-z_]*\$", line[i:])
            if m:
                dollar = m.group(0)
                i += len(dollar)
                continue
            if c in "'\"":
                quote = c
            if not c.isspace():
                last = c
            i += 1
        if last == ";" and quote is None and dollar is None:
            ends.append(n)
    return ends


def run_block(text):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(text + "\n")
        path = f.name
    os.chmod(path, 0o644)
    try:
        p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", "\\set VERBOSITY verbose",
                            "-f", path, "-d", DB], capture_output=True, text=True, timeout=900)
    finally:
        os.unlink(path)
    err = None
    for line in p.stderr.splitlines():
        m = ERROR_LINE.match(line)
        if m:
            rest = m.group("rest")
            state = rest.split(":", 2)[1].strip() if rest.count(":") >= 2 else ""
            err = {"line": int(m.group("line")), "sqlstate": state, "text": rest}
            break
    if p.returncode != 0 and err is None:
        err = {"line": 0, "sqlstate": "", "text": p.stderr.strip()[-2000:] or f"psql exit {p.returncode}"}
    lines = [re.sub(r"^psql:[^:]+:\d+: ", "", x) for x in p.stderr.splitlines()]
    return p.stdout, err, lines


def strip_block(text):
    lines = [x.rstrip() for x in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def has_pg_cron():
    return "pg_cron" in (value("SHOW shared_preload_libraries", db="postgres") or "")


def check_columns(rel_template, header, rows, where):
    """The table's column lists against the relations (names in order; types where written)."""
    if "{table}" in rel_template:
        col = next((k for k, h in enumerate(header) if h.lower() == "columns"), None)
        if not ok(col is not None, f"{where}: the marked table has a 'columns' column", header):
            return
        targets = [(rel_template.replace("{table}", code_spans(r[0])[0] if code_spans(r[0]) else r[0]), [r[col]], line)
                   for line, r in rows]
    else:
        targets = [(rel_template, [r[0] for _, r in rows], rows[0][0] if rows else 0)]
    for rel, cell_list, line in targets:
        written = []
        for cell in cell_list:
            for span in code_spans(cell):
                for part in span.split(","):
                    words = part.strip().split()
                    if words:
                        written.append((words[0], " ".join(words[1:]) or None))
        actual = sql(f"SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                     f"WHERE a.attrelid = '{rel}'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                     db=DB)
        eq([w[0] for w in written], [a[0] for a in actual], f"{where}: README's columns of {rel} (line {line}) are its columns")
        types = {a[0]: a[1] for a in actual}
        bad = []
        for name, typ in written:
            if typ and name in types:
                same = value(f"SELECT '{typ}'::regtype::text = '{types[name]}'", db=DB)
                if same != "t":
                    bad.append(f"{name}: README {typ}, the table {types[name]}")
        eq(bad, [], f"{where}: the types README names for {rel}'s columns are theirs")


cleanup()
sql(f"CREATE DATABASE {DB}", db="postgres")
readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
for written, _ in SUBSTITUTIONS:
    n = readme.count(written)
    ok(n > 0, f"substitution for the mock: {written!r} occurs in README.md ({n} times)")

# Every hetu the documentation writes is a valid one (the README's own example used to be invalid).
hetus = sorted({h for doc in documents() for h in
                re.findall(r"(?<![0-9A-Za-z])[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y](?![0-9A-Za-z])",
                           open(os.path.join(ROOT, doc), encoding="utf-8").read())})
sql("CREATE EXTENSION vtj_fdw", db=DB)   # (dropped again: the README's first block creates it)
invalid = [r[0] for r in sql("SELECT h FROM unnest('{" + ",".join(hetus) + "}'::text[]) h WHERE NOT vtj.hetu_kelpaa(h)", db=DB)]
sql("DROP EXTENSION vtj_fdw", db=DB)
eq(invalid, [], f"every hetu README.md and docs/ write is valid ({len(hetus)} distinct)")

cron = has_pg_cron()
cron_before = value("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'", db="postgres")
counts = {"ok": 0, "expected-fail": 0, "skip": 0, "failed": 0}
try:
    for doc in documents():
        its = items(os.path.join(ROOT, doc))
        blocks = [x for x in its if x[0] == "sql"]
        print(f"# {doc}: {len(blocks)} sql blocks", flush=True)
        if not blocks:
            continue
        for k, (kind, line, info) in enumerate(its):
            if kind == "table" and info["marker"] and info["marker"][0] == "columns":
                check_columns(info["marker"][1], info["header"], info["rows"], f"{doc}:{line}")
                continue
            if kind != "sql":
                continue
            text = info["text"]
            for written, runs in SUBSTITUTIONS:
                text = text.replace(written, runs)
            marker = info["marker"] or (None, None)
            promised = None
            if k + 1 < len(its) and its[k + 1][0] == "output":
                promised = strip_block(its[k + 1][2]["text"])
            first = next((x for x in info["text"].split("\n") if x.strip() and not x.strip().startswith("--")), "")[:70]
            where = f"{doc}:{line} ({first})"
            if marker[0] == "skip":
                counts["skip"] += 1
                print(f"# verdict {where}: skip ({marker[1]})", flush=True)
                ok(bool(marker[1]), f"{where}: a skip gives its reason")
                continue
            if ("pg_cron" in text or "cron." in text) and not cron:
                counts["skip"] += 1
                print(f"# verdict {where}: skip (pg_cron is not in this cluster's shared_preload_libraries)", flush=True)
                continue
            out, err, errlines = run_block(text)
            if marker[0] == "fails":
                want = marker[1].split()[0] if marker[1] else ""
                last = statement_lines(text)[-1] if statement_lines(text) else 0
                good = err is not None and err["sqlstate"] == want and err["line"] == last
                verdict = "expected-fail" if good else "FAILED"
                ok(good, f"{where}: fails with {want} at its last statement (line {last} of the block)",
                   err and f"line {err['line']}: {err['text']}" or "it succeeded")
                if promised is not None and err is not None:
                    missing = [x for x in promised if x.strip() not in [e.strip() for e in errlines]]
                    eq(missing, [], f"{where}: the error as README prints it (every line of it is psql's)")
                    if missing:
                        verdict = "FAILED"
            else:
                good = err is None
                verdict = "ok" if good else "FAILED"
                ok(good, f"{where}: runs without error", err and f"line {err['line']} of the block: {err['text']}")
                if promised is not None:
                    got = strip_block(out)
                    if not eq(got, promised, f"{where}: the output README promises after it"):
                        verdict = "FAILED"
            counts["ok" if verdict == "ok" else "expected-fail" if verdict == "expected-fail" else "failed"] += 1
            print(f"# verdict {where}: {verdict}" + (f" ({marker[1]})" if marker[0] == "fails" else "")
                  + (", output checked" if promised is not None else ""), flush=True)
    print(f"# README blocks: {counts['ok']} ok, {counts['expected-fail']} expected-fail, {counts['skip']} skip, "
          f"{counts['failed']} failed", flush=True)
    ok(counts["ok"] + counts["expected-fail"] > 0, "some README block ran")
    # The cookbooks reached the mock through every endpoint (the substitutions took effect).
    seen = sorted({r.get("endpoint") for r in mock.call("GET", "/_control/requests")} & {"kirjausavain", "muutokset", "perustiedot", "kysely"})
    eq(seen, ["kirjausavain", "kysely", "muutokset", "perustiedot"], "the cookbooks asked the mock through every endpoint")
finally:
    try:
        if cron and cron_before == "0":
            sql("DROP EXTENSION IF EXISTS pg_cron", db="postgres")
        left = value("SELECT count(*) FROM cron.job WHERE jobname = 'vtj-asrek'", db="postgres") if cron and cron_before != "0" else "0"
        eq(left, "0", "no pg_cron job of the README is left")
        sql(f"ALTER DATABASE {DB} RESET ALL", db="postgres")
        cleanup()
    finally:
        mock.stop()
done()
