#!/usr/bin/env python3
"""README's option tables (README "Options") equal the code's option table, as the installed
extension lists it (vtj_internal.options(), made from the table of src/pg/options.cpp, defaults
shown from the settings structs' initialisers): the same options for server, user mapping and
foreign table; each default as the code's; each whole-number option's range written
"(MIN–MAX" as the code's bounds; every value of a choice option named; a superuser-only
option said to be one. And the documentation names nothing outside the repository: README.md,
docs/*.md and test/mock/README.md name no design document that is not in it, and each of
their relative links leads to a file of the repository."""
import glob
import os
import re

from readmelib import ROOT, cells, code_spans
from taplib import done, eq, fresh_db, ok, sql

# vtj_internal.options()'s kohde: README's section title
CONTEXTS = {"server": "Server", "user mapping": "User mapping", "foreign table": "Foreign table"}
DB = "vtj_it_readme_options"


def code_options():
    """{kohde: {name: spec}} from vtj_internal.options() of a fresh install."""
    fresh_db(DB)
    sql("CREATE EXTENSION vtj_fdw", db=DB)
    rows = sql("SELECT nimi, kohde, tyyppi, pienin, suurin, oletus, array_to_string(vaihtoehdot, ','), vain_superuser "
               "FROM vtj_internal.options()", db=DB)
    sql(f"DROP DATABASE {DB}", db="postgres")
    opts = {}
    for name, context, type_, lo, hi, default, choices, superuser_only in rows:
        spec = {"name": name, "context": context, "type": type_, "min": None if lo is None else int(lo),
                "max": None if hi is None else int(hi), "choices": choices, "default": default,
                "superuser_only": superuser_only == "t"}
        opts.setdefault(context, {})[name] = spec
    return opts


def readme_options():
    """{section title: {name: (default cell or None, meaning cell, line)}} of README "## Options"."""
    lines = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read().split("\n")
    start = lines.index("## Options")
    out, section = {}, None
    k = start + 1
    while k < len(lines) and not lines[k].startswith("## "):
        line = lines[k]
        if line.startswith("### "):
            section = next((t for t in CONTEXTS.values() if line[4:].startswith(t)), line[4:])
        elif line.startswith("|") and k + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|\s*$", lines[k + 1]):
            header = [h.lower() for h in cells(line)]
            k += 2
            while k < len(lines) and lines[k].startswith("|"):
                row = cells(lines[k])
                d = row[header.index("default")] if "default" in header else None
                meaning = row[header.index("meaning")] if "meaning" in header else row[-1]
                for name in code_spans(row[0]):
                    out.setdefault(section, {})[name] = (d, meaning, k + 1)
                k += 1
            continue
        k += 1
    return out


code = code_options()
n = sum(len(v) for v in code.values())
if not ok(n > 0 and set(code) <= set(CONTEXTS), f"vtj_internal.options() lists the code's options ({n}) of {sorted(code)}"):
    done()
doc = readme_options()
for ctx, title in CONTEXTS.items():
    c = code.get(ctx, {})
    d = doc.get(title, {})
    eq(sorted(d), sorted(c), f"README's {title} options are the code's ({len(c)})")
    for name, spec in c.items():
        if name not in d:
            continue
        default_cell, meaning, line = d[name]
        if default_cell is not None:
            spans = code_spans(default_cell)
            # "none", or "—" with a remark, is no default
            written = None if re.match(r"^(none|—)", default_cell.strip()) else (spans[0] if spans else default_cell)
            eq(written, spec["default"], f"{title} option {name}: README's default (line {line}) is the code's")
        elif spec["default"] is not None:
            ok(f"`{spec['default']}`" in meaning, f"{title} option {name}: README names its default {spec['default']!r} (line {line})")
        if spec["type"] == "integer":
            m = re.search(r"\((\d[\d,]*)\s*[–-]\s*(\d[\d,]*)", meaning)
            got = (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))) if m else None
            eq(got, (spec["min"], spec["max"]), f"{title} option {name}: README's range (line {line}) is the code's")
        if spec["type"] == "choice":
            named = set(code_spans(meaning)) | set(code_spans(default_cell or ""))
            missing = [v for v in spec["choices"].split(",") if v not in named]
            eq(missing, [], f"{title} option {name}: README names every value the code accepts ({spec['choices']})")
        if spec["superuser_only"]:
            ok("superuser" in meaning, f"{title} option {name}: README says only a superuser may set it (line {line})")

# ---- nothing outside the repository ----------------------------------------------------------
docs = ["README.md", "test/mock/README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
outside = re.compile(r"vtj-api\.md|product\.md|fdw-craft\.md|/work/")
for rel in docs:
    text = open(os.path.join(ROOT, rel), encoding="utf-8").read()
    hits = [f"line {n}: {m.group(0)}" for n, line in enumerate(text.split("\n"), 1) for m in outside.finditer(line)]
    eq(hits, [], f"{rel} names no document outside the repository")
    broken = []
    for n, line in enumerate(text.split("\n"), 1):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"^(https?:|mailto:|#)", target):
                continue
            path = os.path.normpath(os.path.join(ROOT, os.path.dirname(rel), target.split("#")[0]))
            if not os.path.exists(path):
                broken.append(f"line {n}: {target}")
    eq(broken, [], f"{rel}: every relative link leads to a file of the repository")
done()
