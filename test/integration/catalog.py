"""The extension's objects as the catalog describes them, for comparing two databases: an updated
database with a fresh install (test/upgrade/run), a restored database with the original
(6x_backup_restore.py).

snapshot(db) returns {object: {property: value}} for every member of vtj_fdw (pg_depend deptype
'e'), named by pg_describe_object, with what defines it: a function's pg_get_functiondef, an
aggregate's parts, a table's columns (type, NOT NULL, default, identity, collation, comment,
privileges) in order, its constraints, indexes and triggers, a view's definition, a sequence's
parameters, a type's attributes, the wrapper's functions; and for each its owner, privileges
(normalized: NULL is the default), initial privileges (pg_init_privs) and comment. Two more
entries: the extension itself (version, schema, the configuration tables with their conditions
by name) and the rows the extension ships in its tables (those a configuration condition leaves
out of a dump, e.g. vtj.tuote's products WHERE vakio).

diff(a, b) lists the differences by object, in words, with a unified diff for long texts.
"""
import difflib
import json

from taplib import sql

EXT = "vtj_fdw"

_MEMBERS = f"""
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
     WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e' AND e.extname = '{EXT}'"""


def _acl(expr, kind, owner, ignore):
    """Privileges as sorted text, NULL (the default) written out; grants to `ignore` left out.
    kind: acldefault's object type, an SQL expression."""
    cond = "".join(f" AND x.grantee <> '{r}'::pg_catalog.regrole" for r in ignore)
    return (f"(SELECT pg_catalog.string_agg(z.e, ' ' ORDER BY z.e) FROM (SELECT pg_catalog.format('%s:%s:%s%s', "
            f"CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::pg_catalog.regrole::text END, "
            f"x.privilege_type, x.grantor::pg_catalog.regrole::text, CASE WHEN x.is_grantable THEN '*' ELSE '' END) AS e "
            f"FROM pg_catalog.aclexplode(coalesce({expr}, pg_catalog.acldefault(({kind})::\"char\", {owner}))) x "
            f"WHERE true{cond}) z)")


def _init_privs(classid, objid, subid="0"):
    return (f"(SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM pg_catalog.pg_init_privs i, "
            f"pg_catalog.unnest(i.initprivs) x WHERE i.classoid = {classid} AND i.objoid = {objid} AND i.objsubid = {subid})")


def _one(query, db):
    v = sql(query, db=db)
    return json.loads(v[0][0]) if v and v[0][0] is not None else {}


def _without_database(v, name):
    """The database's own name in a value (a role per database, vtj_kyselyloki_lukija_<db>) as
    <database>, so that two databases compare."""
    if isinstance(v, str):
        return v.replace(name, "<database>")
    if isinstance(v, list):
        return [_without_database(x, name) for x in v]
    if isinstance(v, dict):
        return {_without_database(k, name): _without_database(x, name) for k, x in v.items()}
    return v


def snapshot(db, ignore_roles=()):
    name = sql("SELECT current_database()", db=db)[0][0]
    return _without_database(_snapshot(db, ignore_roles), name)


def _snapshot(db, ignore_roles):
    out = {}
    # functions, procedures, aggregates
    out.update(_one(f"""
        SELECT pg_catalog.jsonb_object_agg(pg_catalog.pg_describe_object('pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 0),
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'definition', CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END,
                 'aggregate', (SELECT pg_catalog.jsonb_build_object('kind', a.aggkind, 'transfn', a.aggtransfn::pg_catalog.regprocedure::text,
                                 'finalfn', nullif(a.aggfinalfn, 0)::pg_catalog.regprocedure::text,
                                 'combinefn', nullif(a.aggcombinefn, 0)::pg_catalog.regprocedure::text,
                                 'stype', pg_catalog.format_type(a.aggtranstype, NULL), 'initval', a.agginitval,
                                 'arguments', pg_catalog.pg_get_function_arguments(p.oid),
                                 'result', pg_catalog.pg_get_function_result(p.oid),
                                 'volatility', p.provolatile, 'parallel', p.proparallel)
                                 FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid),
                 'owner', p.proowner::pg_catalog.regrole::text,
                 'privileges', {_acl('p.proacl', "'f'", 'p.proowner', ignore_roles)},
                 'initial privileges', {_init_privs('p.tableoid', 'p.oid')},
                 'comment', pg_catalog.obj_description(p.oid, 'pg_proc'))))::text
          FROM pg_catalog.pg_proc p WHERE (p.tableoid, p.oid) IN ({_MEMBERS})""", db))
    # tables, views, sequences (and any other relation)
    out.update(_one(f"""
        SELECT pg_catalog.jsonb_object_agg(pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, c.oid, 0),
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'kind', c.relkind, 'persistence', c.relpersistence, 'options', c.reloptions::text,
                 'row security', CASE WHEN c.relrowsecurity THEN 'enabled' END,
                 'owner', c.relowner::pg_catalog.regrole::text,
                 'privileges', {_acl('c.relacl', "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END", 'c.relowner', ignore_roles)},
                 'initial privileges', {_init_privs('c.tableoid', 'c.oid')},
                 'comment', pg_catalog.obj_description(c.oid, 'pg_class'),
                 'columns', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                                 'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                                 'not null', a.attnotnull,
                                 'default', pg_catalog.pg_get_expr(ad.adbin, ad.adrelid),
                                 'identity', nullif(a.attidentity, ''), 'generated', nullif(a.attgenerated, ''),
                                 'collation', CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::pg_catalog.regcollation::text END,
                                 'comment', pg_catalog.col_description(c.oid, a.attnum),
                                 'privileges', (SELECT pg_catalog.string_agg(x::text, ' ' ORDER BY x::text) FROM pg_catalog.unnest(a.attacl) x),
                                 'initial privileges', {_init_privs('c.tableoid', 'c.oid', 'a.attnum')}))
                                 ORDER BY a.attnum)
                              FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                              LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                 'constraints', (SELECT pg_catalog.jsonb_object_agg(k.conname, pg_catalog.pg_get_constraintdef(k.oid))
                                   FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid),
                 'indexes', (SELECT pg_catalog.jsonb_object_agg(i.relname, pg_catalog.pg_get_indexdef(i.oid)
                                     || coalesce(' -- ' || pg_catalog.obj_description(i.oid, 'pg_class'), ''))
                               FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid),
                 'triggers', (SELECT pg_catalog.jsonb_object_agg(g.tgname, pg_catalog.pg_get_triggerdef(g.oid)
                                      || CASE g.tgenabled WHEN 'O' THEN '' ELSE ' -- enabled: ' || g.tgenabled::text END)
                                FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal),
                 'rules', (SELECT pg_catalog.jsonb_object_agg(r.rulename, pg_catalog.pg_get_ruledef(r.oid))
                             FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN'),
                 'policies', (SELECT pg_catalog.jsonb_object_agg(o.polname, pg_catalog.pg_get_expr(o.polqual, o.polrelid))
                                FROM pg_catalog.pg_policy o WHERE o.polrelid = c.oid),
                 'view', CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
                 'sequence', (SELECT pg_catalog.jsonb_build_object('type', s.seqtypid::pg_catalog.regtype::text, 'start', s.seqstart,
                                     'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache,
                                     'cycle', s.seqcycle,
                                     'owned by', (SELECT pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
                                                    FROM pg_catalog.pg_depend d
                                                   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                                                     AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0))
                                FROM pg_catalog.pg_sequence s WHERE s.seqrelid = c.oid))))::text
          FROM pg_catalog.pg_class c WHERE (c.tableoid, c.oid) IN ({_MEMBERS})""", db))
    # types (composite: attributes; enum: labels; domain: base type and checks)
    out.update(_one(f"""
        SELECT pg_catalog.jsonb_object_agg(pg_catalog.pg_describe_object('pg_catalog.pg_type'::pg_catalog.regclass, t.oid, 0),
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'kind', t.typtype, 'owner', t.typowner::pg_catalog.regrole::text,
                 'privileges', {_acl('t.typacl', "'T'", 't.typowner', ignore_roles)},
                 'comment', pg_catalog.obj_description(t.oid, 'pg_type'),
                 'attributes', (SELECT pg_catalog.jsonb_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod))
                                         ORDER BY a.attnum)
                                  FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
                 'labels', (SELECT pg_catalog.jsonb_agg(l.enumlabel ORDER BY l.enumsortorder) FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid),
                 'base type', CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END,
                 'checks', (SELECT pg_catalog.jsonb_object_agg(k.conname, pg_catalog.pg_get_constraintdef(k.oid))
                              FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid))))::text
          FROM pg_catalog.pg_type t WHERE (t.tableoid, t.oid) IN ({_MEMBERS})""", db))
    # schemas, the wrapper
    out.update(_one(f"""
        SELECT pg_catalog.jsonb_object_agg(pg_catalog.pg_describe_object('pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 0),
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'owner', n.nspowner::pg_catalog.regrole::text,
                 'privileges', {_acl('n.nspacl', "'n'", 'n.nspowner', ignore_roles)},
                 'initial privileges', {_init_privs('n.tableoid', 'n.oid')},
                 'comment', pg_catalog.obj_description(n.oid, 'pg_namespace'))))::text
          FROM pg_catalog.pg_namespace n WHERE (n.tableoid, n.oid) IN ({_MEMBERS})""", db))
    out.update(_one(f"""
        SELECT pg_catalog.jsonb_object_agg(pg_catalog.pg_describe_object('pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass, w.oid, 0),
               pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                 'handler', nullif(w.fdwhandler, 0)::pg_catalog.regprocedure::text,
                 'validator', nullif(w.fdwvalidator, 0)::pg_catalog.regprocedure::text,
                 'options', w.fdwoptions::text, 'owner', w.fdwowner::pg_catalog.regrole::text,
                 'privileges', {_acl('w.fdwacl', "'F'", 'w.fdwowner', ignore_roles)},
                 'comment', pg_catalog.obj_description(w.oid, 'pg_foreign_data_wrapper'))))::text
          FROM pg_catalog.pg_foreign_data_wrapper w WHERE (w.tableoid, w.oid) IN ({_MEMBERS})""", db))
    # any other kind of member: its name (and comment)
    for (name,) in sql(f"""
        SELECT pg_catalog.pg_describe_object(m.classid, m.objid, 0) FROM ({_MEMBERS}) m
         WHERE m.classid NOT IN ('pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_class'::pg_catalog.regclass,
                                 'pg_catalog.pg_type'::pg_catalog.regclass, 'pg_catalog.pg_namespace'::pg_catalog.regclass,
                                 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass)""", db=db):
        out.setdefault(name, {"kind": "other"})
    # the extension: version, schema, configuration tables by name with their conditions
    ext = _one(f"""
        SELECT pg_catalog.jsonb_build_object('version', e.extversion, 'schema', e.extnamespace::pg_catalog.regnamespace::text,
                 'relocatable', e.extrelocatable, 'owner', e.extowner::pg_catalog.regrole::text,
                 'schema privileges', (SELECT {_acl('n.nspacl', "'n'", 'n.nspowner', ignore_roles)}
                                         FROM pg_catalog.pg_namespace n WHERE n.oid = e.extnamespace),
                 'schema comment', pg_catalog.obj_description(e.extnamespace, 'pg_namespace'),
                 'configuration (pg_extension_config_dump)',
                 (SELECT pg_catalog.jsonb_object_agg(pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, x.t, 0), x.c)
                    FROM ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) x(t, c)))::text
          FROM pg_catalog.pg_extension e WHERE e.extname = '{EXT}'""", db)
    out[f"extension {EXT}"] = ext
    # the rows the extension ships: what a configuration condition keeps out of a dump
    for tab, cond in sql(f"""
        SELECT x.t::pg_catalog.regclass::text, x.c FROM pg_catalog.pg_extension e, ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) x(t, c)
         JOIN pg_catalog.pg_class k ON k.oid = x.t
         WHERE e.extname = '{EXT}' AND k.relkind IN ('r', 'p') AND x.c <> '' ORDER BY 1""", db=db):
        rows = _one(f"""SELECT coalesce(pg_catalog.jsonb_agg(s.x ORDER BY s.x::text), '[]')::text
                          FROM (SELECT pg_catalog.to_jsonb(t) AS x FROM {tab} t
                                EXCEPT SELECT pg_catalog.to_jsonb(t) FROM {tab} t {cond}) s""", db)
        out[f"rows shipped in table {tab} (not {cond})"] = {"rows": [json.dumps(r, sort_keys=True) for r in rows]}
    return out


def _text_diff(a, b, la, lb, limit=40):
    d = list(difflib.unified_diff(str(a).splitlines(), str(b).splitlines(), la, lb, lineterm="", n=1))
    if len(d) > limit:
        d = d[:limit] + [f"… {len(d) - limit} more lines"]
    return d


def _columns_diff(a, b, la, lb):
    out = []
    ca = {c["name"]: c for c in a or []}
    cb = {c["name"]: c for c in b or []}
    for n in ca:
        if n not in cb:
            out.append(f"column {n}: only in {la} ({_col(ca[n])})")
    for n in cb:
        if n not in ca:
            out.append(f"column {n}: only in {lb} ({_col(cb[n])})")
    for n in ca:
        if n in cb and ca[n] != cb[n]:
            for k in sorted(set(ca[n]) | set(cb[n])):
                if ca[n].get(k) != cb[n].get(k):
                    out.append(f"column {n}: {k}: {la}: {ca[n].get(k)!r}; {lb}: {cb[n].get(k)!r}")
    common_a = [n for n in ca if n in cb]
    common_b = [n for n in cb if n in ca]
    if common_a != common_b:
        out.append(f"column order: {la}: {', '.join(common_a)}; {lb}: {', '.join(common_b)}")
    return out


def _col(c):
    return " ".join(str(x) for x in [c.get("type"), "NOT NULL" if c.get("not null") else None,
                                     ("DEFAULT " + c["default"]) if c.get("default") else None] if x)


def diff(a, b, la="a fresh install", lb="the updated database"):
    """Differences of two snapshots, one line (or block) per difference, by object."""
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in b:
            out.append(f"{name}: only in {la}")
            continue
        if name not in a:
            out.append(f"{name}: only in {lb}")
            continue
        pa, pb = a[name], b[name]
        for prop in sorted(set(pa) | set(pb)):
            va, vb = pa.get(prop), pb.get(prop)
            if va == vb:
                continue
            if prop == "columns":
                out += [f"{name}: {x}" for x in _columns_diff(va, vb, la, lb)]
            elif isinstance(va, dict) or isinstance(vb, dict):
                va, vb = va or {}, vb or {}
                for k in sorted(set(va) | set(vb)):
                    if va.get(k) != vb.get(k):
                        if k not in vb:
                            out.append(f"{name}: {prop} {k}: only in {la}: {va[k]}")
                        elif k not in va:
                            out.append(f"{name}: {prop} {k}: only in {lb}: {vb[k]}")
                        else:
                            out.append(f"{name}: {prop} {k}: {la}: {va[k]}; {lb}: {vb[k]}")
            elif isinstance(va, list) or isinstance(vb, list):
                sa, sb = set(va or []), set(vb or [])
                for x in sorted(sa - sb):
                    out.append(f"{name}: {prop}: only in {la}: {x}")
                for x in sorted(sb - sa):
                    out.append(f"{name}: {prop}: only in {lb}: {x}")
                if sa == sb:
                    out.append(f"{name}: {prop}: in another order")
            elif isinstance(va, str) and isinstance(vb, str) and ("\n" in va or "\n" in vb):
                out.append("\n".join([f"{name}: {prop} differs:"] + ["    " + x for x in _text_diff(va, vb, la, lb)]))
            else:
                out.append(f"{name}: {prop}: {la}: {va!r}; {lb}: {vb!r}")
    return out


def table_rows(db, tables=None):
    """{table: sorted list of rows as JSON text} of every table of the extension (or those named)."""
    if tables is None:
        tables = [r[0] for r in sql(f"""
            SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c WHERE (c.tableoid, c.oid) IN ({_MEMBERS})
               AND c.relkind IN ('r', 'p') ORDER BY 1""", db=db)]
    out = {}
    for t in tables:
        rows = sql(f"SELECT pg_catalog.to_jsonb(x)::text FROM {t} x", db=db)
        out[t] = sorted(r[0] for r in rows)
    return out


def sequences(db):
    """{the identity column a sequence serves ("table.column"), or the sequence:
    (last_value, is_called)} of the extension's sequences."""
    out = {}
    for seq, owner in sql(f"""
        SELECT c.oid::pg_catalog.regclass::text,
               (SELECT d.refobjid::pg_catalog.regclass::text || '.' || a.attname FROM pg_catalog.pg_depend d
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
                   AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0)
          FROM pg_catalog.pg_class c WHERE (c.tableoid, c.oid) IN ({_MEMBERS}) AND c.relkind = 'S' ORDER BY 1""", db=db):
        out[owner or seq] = tuple(sql(f"SELECT last_value, is_called FROM {seq}", db=db)[0])
    return out
