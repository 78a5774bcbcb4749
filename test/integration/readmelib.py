"""Reading the Markdown of README.md and docs/*.md for the README tests: fenced blocks with
their markers, and the tables (README "Cookbook: the change interface as foreign tables").

Markers are HTML comments on the line(s) just before a block or table (blank lines between are
allowed):
  <!-- readme-test: fails SQLSTATE -->   the next ```sql block must fail with that SQLSTATE
  <!-- readme-test: skip REASON -->      the next ```sql block is not run (REASON is printed)
  <!-- readme-test: columns REL -->      the next table lists the columns of relation REL (in
                                         its first cell, or in the `columns` cell with
                                         REL naming {table}, the first cell's name)
A ```text block right after a ```sql block is that block's promised output."""
import os
import re

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(\w+)\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)\s*$")


def items(path):
    """[(kind, line, info)] in document order: ("sql", line, {"text", "marker"}), ("output",
    line, {"text"}) after an sql block, ("table", line, {"marker", "header", "rows"})."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    marker = None
    last_kind = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            marker = (m.group(1), m.group(2))
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            fence, lang = f.group(2), f.group(3)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                j += 1
            text = "\n".join(lines[i + 1:j])
            if lang == "sql":
                out.append(("sql", i + 1, {"text": text, "marker": marker}))
                last_kind = "sql"
            elif lang == "text" and last_kind == "sql":
                out.append(("output", i + 1, {"text": text}))
                last_kind = "output"
            else:
                last_kind = "other"
            marker = None
            i = j + 1
            continue
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|\s*$", lines[i + 1]):
            header = cells(line)
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append((j + 1, cells(lines[j])))
                j += 1
            out.append(("table", i + 1, {"marker": marker, "header": header, "rows": rows}))
            marker = None
            last_kind = "table"
            i = j
            continue
        if line.strip():
            if last_kind == "sql":
                last_kind = "prose"
            marker = None if not line.strip().startswith("<!--") else marker
        i += 1
    return out


def split_outside(text, sep, quote):
    """text split at each sep that is not between two quote characters, the parts stripped."""
    out, cur, inside = [], [], False
    for ch in text:
        if ch == quote:
            inside = not inside
        if ch == sep and not inside:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def cells(line):
    """The cells of a Markdown table row (| a | b `x|y` | …): pipes inside backticks stay."""
    return split_outside(line.strip().strip("|"), "|", "`")


def code_spans(cell):
    return re.findall(r"`([^`]*)`", cell)


def section_tables(path, heading):
    """The tables under a heading (up to the next heading of the same or a higher level)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    level = len(heading) - len(heading.lstrip("#"))
    try:
        start = lines.index(heading)
    except ValueError:
        return None
    end = len(lines)
    for k in range(start + 1, len(lines)):
        m = re.match(r"^(#+) ", lines[k])
        if m and len(m.group(1)) <= level:
            end = k
            break
    tables = []
    k = start + 1
    while k < end:
        if lines[k].startswith("|") and k + 1 < end and re.match(r"^\|[\s:|-]+\|\s*$", lines[k + 1]):
            header = cells(lines[k])
            rows = []
            j = k + 2
            while j < end and lines[j].startswith("|"):
                rows.append((j + 1, cells(lines[j])))
                j += 1
            tables.append({"line": k + 1, "header": header, "rows": rows})
            k = j
        else:
            k += 1
    return tables


def documents():
    """README.md, then docs/*.md in name order (paths relative to the repository)."""
    docs = sorted(f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")) if os.path.isdir(
        os.path.join(ROOT, "docs")) else []
    return ["README.md"] + [os.path.join("docs", f) for f in docs]
