#!/usr/bin/env bash
# The extension installs, loads, reports its versions and can be dropped and re-created.
source "$(dirname "$0")/tap.sh"
fresh_db vtj_it_install

sql "CREATE EXTENSION vtj_fdw" && ok "CREATE EXTENSION vtj_fdw" || not_ok "CREATE EXTENSION vtj_fdw"
is "schema vtj exists" "$(sql "SELECT count(*) FROM pg_namespace WHERE nspname = 'vtj'")" 1
is "wrapper has handler and validator" \
  "$(sql "SELECT fdwhandler::regproc::text || ' ' || fdwvalidator::regproc::text FROM pg_foreign_data_wrapper WHERE fdwname = 'vtj_fdw'")" \
  "vtj.vtj_fdw_handler vtj.vtj_fdw_validator"
v=$(sql "SELECT vtj.versio()")
like "versio names vtj_fdw, PostgreSQL, libcurl with TLS, libxml2" "$v" '^vtj_fdw [0-9]+\.[0-9]+\.[0-9]+, PostgreSQL 15\.[0-9]+.*libcurl [0-9.]+ \(OpenSSL/[0-9.]+\), libxml2 [0-9]+\.[0-9]+\.[0-9]+$'
is "extension version equals META.json" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'vtj_fdw'")" \
  "$(grep -m1 '"version"' "$VTJ_ROOT/META.json" | sed -E 's/.*"version": *"([^"]+)".*/\1/')"
is "not relocatable" "$(sql "SELECT extrelocatable FROM pg_extension WHERE extname = 'vtj_fdw'")" f
sql "DROP EXTENSION vtj_fdw" && sql "CREATE EXTENSION vtj_fdw" && ok "drop and re-create" || not_ok "drop and re-create"
is "hetu_kelpaa works after re-create" "$(sql "SELECT vtj.hetu_kelpaa('131052-308T')")" t
e=$(sql_error "SELECT vtj.versio() IS NOT NULL; SET vtj.no_such_setting = 1")
like "the vtj. GUC prefix is reserved" "$e" 'invalid configuration parameter name'
vtj_psql -d postgres -c "DROP DATABASE vtj_it_install" >/dev/null
