#!/usr/bin/env python3
"""The extension installs, loads, reports its versions and can be dropped and re-created."""
import json
import os
import re

from taplib import SqlError, done, eq, fresh_db, ok, sql, sql_error, value

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def answer(query):
    """value(query), or the SqlError: a failing statement fails its check, not the script."""
    try:
        return value(query)
    except SqlError as e:
        return e


def ok_runs(desc, *queries):
    """ok when the statements succeed, one after another."""
    try:
        for q in queries:
            sql(q)
        ok(True, desc)
    except SqlError as e:
        ok(False, desc, e.text)


def like(got, pattern, desc):
    ok(isinstance(got, str) and re.search(pattern, got, re.M) is not None, desc,
       f"got [{got}], expected to match [{pattern}]")


fresh_db("vtj_it_install")

ok_runs("CREATE EXTENSION vtj_fdw", "CREATE EXTENSION vtj_fdw")
eq(answer("SELECT count(*) FROM pg_namespace WHERE nspname = 'vtj'"), "1", "schema vtj exists")
eq(answer("SELECT fdwhandler::regproc::text || ' ' || fdwvalidator::regproc::text FROM pg_foreign_data_wrapper "
          "WHERE fdwname = 'vtj_fdw'"), "vtj.vtj_fdw_handler vtj.vtj_fdw_validator", "wrapper has handler and validator")
like(answer("SELECT vtj.versio()"),
     r"^vtj_fdw [0-9]+\.[0-9]+\.[0-9]+, PostgreSQL 15\.[0-9]+.*libcurl [0-9.]+ \(OpenSSL/[0-9.]+\), "
     r"libxml2 [0-9]+\.[0-9]+\.[0-9]+$",
     "versio names vtj_fdw, PostgreSQL, libcurl with TLS, libxml2")
with open(os.path.join(ROOT, "META.json")) as f:
    meta_version = json.load(f)["version"]
eq(answer("SELECT extversion FROM pg_extension WHERE extname = 'vtj_fdw'"), meta_version,
   "extension version equals META.json")
eq(answer("SELECT extrelocatable FROM pg_extension WHERE extname = 'vtj_fdw'"), "f", "not relocatable")
ok_runs("drop and re-create", "DROP EXTENSION vtj_fdw", "CREATE EXTENSION vtj_fdw")
eq(answer("SELECT vtj.hetu_kelpaa('131052-308T')"), "t", "hetu_kelpaa works after re-create")
e = sql_error("SELECT vtj.versio() IS NOT NULL; SET vtj.no_such_setting = 1")
like(e.text if e else None, "invalid configuration parameter name", "the vtj. GUC prefix is reserved")
sql("DROP DATABASE vtj_it_install", db="postgres")
done()
