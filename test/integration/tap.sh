# TAP-style helpers for integration scripts (sourced). test/run counts "ok " / "not ok " lines.
# The environment comes from test/run: PGHOST, PGPORT, PGUSER, VTJ_MOCK_URL, VTJ_MOCK_ROOT.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

TAP_N=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
not_ok() { TAP_N=$((TAP_N + 1)); echo "not ok $TAP_N - $1"; [ -n "${2:-}" ] && echo "#   $2" | head -c 4000; echo; }

# is "description" actual expected
is() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got [$2], expected [$3]"; fi
}
# like "description" actual regex
like() {
  if grep -qE -- "$3" <<<"$2"; then ok "$1"; else not_ok "$1" "got [$2], expected to match [$3]"; fi
}
unlike() {
  if grep -qE -- "$3" <<<"$2"; then not_ok "$1" "got [$2], expected not to match [$3]"; else ok "$1"; fi
}

# One value from SQL (errors go to stderr).
sql() { vtj_psql -At -c "$1" "${@:2}"; }
# Runs SQL expecting an error; prints "SQLSTATE: message" of the error (VERBOSITY verbose).
sql_error() {
  "$VTJ_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "\\set VERBOSITY verbose" -c "$1" "${@:2}" 2>&1 >/dev/null |
    grep -E '^(ERROR|HINT|DETAIL)' | head -n 3 | tr '\n' ' '
}
# A fresh database for one script: fresh_db name
fresh_db() {
  vtj_psql -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  export PGDATABASE=$1
}
mock_get() { curl -s --max-time 30 "$VTJ_MOCK_ROOT$1"; }
mock_post() { curl -s --max-time 30 -X POST -H 'Content-Type: application/json' -d "$2" "$VTJ_MOCK_ROOT$1"; }
mock_delete() { curl -s --max-time 30 -X DELETE "$VTJ_MOCK_ROOT$1"; }
