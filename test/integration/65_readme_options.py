#!/usr/bin/env python3
"""README's option tables (README "Options") equal the code's option table (the kOptions[]
table of src/pg/, found wherever it lives): the same options for server, user mapping and
foreign table; each default as the code's; each whole-number option's range written
"(MIN–MAX" as the code's bounds; every value of a choice option named; a superuser-only
option said to be one. And the documentation names nothing outside the repository: README.md,
docs/*.md and test/mock/README.md name no design document that is not in it, and each of
their relative links leads to a file of the repository. Needs no cluster."""
import glob
import os
import re

from readmelib import ROOT, cells, code_spans, split_outside
from taplib import done, eq, ok

CONTEXTS = {"kServer": "Server", "kMapping": "User mapping", "kTable": "Foreign table"}


def split_fields(entry):
    """The fields of a C initializer, commas inside string literals kept."""
    return split_outside(entry, ",", '"')


def code_options():
    """{context: {name: spec}} from the kOptions[] table, and the file it is in."""
    for path in sorted(glob.glob(os.path.join(ROOT, "src", "**", "*.cpp"), recursive=True)):
        text = open(path, encoding="utf-8").read()
        m = re.search(r"kOptions\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
        if not m:
            continue
        body = re.sub(r"//[^\n]*", "", m.group(1))
        opts = {}
        for entry in re.findall(r"\{([^{}]*)\}", body):
            f = split_fields(entry)
            if f[0] == "nullptr":
                continue
            unq = lambda v: None if v == "nullptr" else v.strip('"')
            spec = {"name": unq(f[0]), "context": f[1], "type": f[2].split("::")[-1], "min": int(f[3]), "max": int(f[4]),
                    "choices": unq(f[5]), "default": unq(f[6]), "superuser_only": f[7] == "true", "secret": f[8] == "true"}
            opts.setdefault(spec["context"], {})[spec["name"]] = spec
        return opts, os.path.relpath(path, ROOT)
    return None, None


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


code, where = code_options()
if not ok(code is not None, "the code's option table (kOptions[]) is found under src/"):
    done()
print(f"# the code's option table: {where}, {sum(len(v) for v in code.values())} options", flush=True)
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
        if spec["type"] == "Integer":
            m = re.search(r"\((\d[\d,]*)\s*[–-]\s*(\d[\d,]*)", meaning)
            got = (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))) if m else None
            eq(got, (spec["min"], spec["max"]), f"{title} option {name}: README's range (line {line}) is the code's")
        if spec["type"] == "Choice":
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
