"""The rules of the parts in extension/ (README, "Releasing"), checked statement by statement.

extension/data/*.sql, the data definitions, run once (CREATE EXTENSION) and change only through
a migration: schemas, tables, indexes, sequences, the shipped rows, their comments,
pg_extension_config_dump. extension/*.sql, the code, end every install and upgrade script, so
each of their statements must replace what is there: CREATE OR REPLACE, a DROP … IF EXISTS
before a CREATE of what has no OR REPLACE, COMMENT, GRANT/REVOKE, DO blocks. Every object they
name is schema-qualified (no script trusts search_path).

lint(root) returns a list of problems, each naming the file, the line and the statement.
"""
import glob
import os
import re


def statements(text):
    """[(line, statement)] of an SQL file: split on semicolons outside comments, quotes,
    dollar quotes and BEGIN ATOMIC … END bodies (as psql splits them). Comments are removed."""
    out = []
    cur = []
    line = 1
    start = None
    i = 0
    n = len(text)
    depth = 0          # BEGIN ATOMIC / CASE … END nesting inside a statement
    atomic = False
    word_re = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
            continue
        if start is None and not c.isspace():
            start = line
        if c in ("'", '"'):
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            line += text.count("\n", i, j)
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
        if m and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
            tag = m.group(0)
            j = text.find(tag, i + len(tag))
            j = n if j < 0 else j + len(tag)
            line += text.count("\n", i, j)
            cur.append(text[i:j])
            i = j
            continue
        m = word_re.match(text, i)
        if m and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_$")):
            w = m.group(0).upper()
            if w == "ATOMIC" and "".join(cur).rstrip().upper().endswith("BEGIN"):
                atomic = True
                depth += 1
            elif atomic and w == "CASE":
                depth += 1
            elif atomic and w == "END":
                depth -= 1
            cur.append(m.group(0))
            i = m.end()
            continue
        if c == ";" and depth <= 0:
            stmt = "".join(cur).strip()
            if stmt:
                out.append((start, stmt))
            cur, start, depth, atomic = [], None, 0, False
            i += 1
            continue
        cur.append(c)
        i += 1
    stmt = "".join(cur).strip()
    if stmt:
        out.append((start, stmt))
    return out


QUALIFIED = r'(?:"?[a-z_][a-z_0-9]*"?\.)'
NAME = r'("?[A-Za-z_][A-Za-z_0-9]*"?(?:\."?[A-Za-z_][A-Za-z_0-9]*"?)?)'

CODE_RULES = [
    (r"CREATE OR REPLACE (FUNCTION|PROCEDURE|AGGREGATE|VIEW) " + NAME, 2),
    (r"CREATE OR REPLACE TRIGGER \S+ .*? ON " + NAME, 1),
    (r"DROP (TYPE|FUNCTION|PROCEDURE|AGGREGATE|VIEW|CAST|OPERATOR) IF EXISTS " + NAME, 2),
    (r"DROP TRIGGER IF EXISTS \S+ ON " + NAME, 1),
    (r"CREATE TYPE " + NAME, 1),
    (r"COMMENT ON ", None),
    (r"(GRANT|REVOKE) ", None),
    (r"DO ", None),
]
DATA_RULES = [
    (r"CREATE SCHEMA ", None),
    (r"CREATE TABLE " + NAME, 1),
    (r"CREATE (UNIQUE )?INDEX \S+ ON " + NAME, 2),
    (r"CREATE SEQUENCE " + NAME, 1),
    (r"INSERT INTO " + NAME, 1),
    (r"COMMENT ON (TABLE|COLUMN|INDEX|SEQUENCE|SCHEMA) ", None),
    (r"SELECT pg_catalog\.pg_extension_config_dump\(", None),
]


def check(rel, text, kind):
    """Problems of one part: rel its name, kind "code" or "data"."""
    rules, what, hint = KINDS[kind]
    problems = []
    dropped_types = set()
    for line, stmt in statements(text):
        flat = " ".join(stmt.split())
        if flat.startswith("\\"):
            problems.append(f"{rel}:{line}: a psql command ({flat[:40]}): make writes the scripts' \\echo line")
            continue
        for pattern, group in rules:
            m = re.match(pattern, flat, re.IGNORECASE | re.DOTALL)
            if m:
                if group is not None:
                    name = m.group(group)
                    if not re.match(QUALIFIED, name.lower()):
                        problems.append(f"{rel}:{line}: {name} is not schema-qualified: {flat[:80]}")
                    if kind == "code" and flat.upper().startswith("DROP TYPE"):
                        dropped_types.add(name.lower())
                    if kind == "code" and flat.upper().startswith("CREATE TYPE") and name.lower() not in dropped_types:
                        problems.append(f"{rel}:{line}: CREATE TYPE {name} without a DROP TYPE IF EXISTS {name} CASCADE "
                                        f"before it: the code must run again on an upgrade")
                break
        else:
            problems.append(f"{rel}:{line}: not a statement of the {what} ({hint}): {flat[:100]}")
    return problems


KINDS = {
    "data": (DATA_RULES, "data definitions",
             "tables, indexes, sequences, shipped rows, their comments, pg_extension_config_dump; code goes to "
             "extension/*.sql"),
    "code": (CODE_RULES, "code",
             "each statement must replace what is there: CREATE OR REPLACE, DROP … IF EXISTS, COMMENT, GRANT/REVOKE, "
             "DO; tables and the like go to extension/data/ and, for databases that have the extension, to a "
             "migration in extension/upgrade/"),
}


def lint(root):
    problems = []
    for kind, pattern in (("data", os.path.join(root, "extension", "data", "*.sql")),
                          ("code", os.path.join(root, "extension", "*.sql"))):
        for f in sorted(glob.glob(pattern)):
            rel = os.path.relpath(f, root)
            problems += check(rel, open(f, encoding="utf-8").read(), kind)
    return problems
