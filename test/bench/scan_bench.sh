#!/usr/bin/env bash
# Scan benchmark of the foreign tables (issue 4's acceptance figure; test/bench/run will
# include it): perustiedot for N persons from the mock, rows/s and MB/s of JSON consumed,
# beside the mock's own serving rate to a plain HTTP client measured in the same run, and the
# backend's RSS before and after (flat memory however many persons).
#
#   bash test/bench/scan_bench.sh [--persons 100000] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib.sh

PERSONS=100000
JSON_OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --persons) PERSONS=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done

vtj_install_deps
make -s -j2 >/dev/null && make -s install >/dev/null
WORK=$(mktemp -d /tmp/vtj_bench.XXXXXX)
chmod 755 "$WORK"
cleanup() { vtj_stop_mock; vtj_stop_cluster; rm -rf "$WORK"; }
trap cleanup EXIT
vtj_start_cluster "work_mem = 64MB"
vtj_start_mock --persons "$PERSONS" --seed 1 --password "$VTJ_MOCK_PASSWORD"
curl -s "$VTJ_MOCK_ROOT/_control/hetut?limit=$PERSONS" | "$VTJ_PYTHON" -c 'import json,sys; print("\n".join(json.load(sys.stdin)))' >"$WORK/hetut.txt"
chmod 644 "$WORK/hetut.txt"

vtj_log "plain HTTP client (also warms the mock's cache)"
"$VTJ_PYTHON" test/bench/plain_client.py "$WORK/hetut.txt" mutpT1 "$VTJ_MOCK_PASSWORD" 2 >"$WORK/warm.json"
"$VTJ_PYTHON" test/bench/plain_client.py "$WORK/hetut.txt" mutpT1 "$VTJ_MOCK_PASSWORD" 2 >"$WORK/plain.json"

vtj_psql -c "CREATE EXTENSION vtj_fdw" \
  -c "CREATE SERVER mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '$VTJ_MOCK_URL')" \
  -c "CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (username 'mutpT1', password '$VTJ_MOCK_PASSWORD')" \
  -c "CREATE SCHEMA v" -c "IMPORT FOREIGN SCHEMA muutosrajapinta FROM SERVER mock INTO v" \
  -c "CREATE TABLE h (hetu text)" -c "\\copy h FROM '$WORK/hetut.txt'"

vtj_log "foreign-table scans in one session"
# One session: the backend reads its own /proc/self/status (RSS) before and after each scan.
"$VTJ_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 >"$WORK/scan.txt" <<SQL
\o $WORK/rss0.txt
SELECT pg_read_file('/proc/self/status');
\o
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset c_
SELECT count(*) AS n FROM v.perustiedot WHERE hetu = ANY(ARRAY(SELECT hetu FROM h)) \gset count_
SELECT extract(epoch FROM clock_timestamp()) - :c_t0 AS s \gset count_
\o $WORK/rss1.txt
SELECT pg_read_file('/proc/self/status');
\o
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset f_
SELECT count(*) AS n, sum(length(hetu) + length(tietoryhma) + coalesce(pg_column_size(tiedot), 0) + coalesce(pg_column_size(turvakiellon_alaiset_kentat), 0) + (alkupv IS NULL)::int) AS bytes
FROM v.perustiedot WHERE hetu = ANY(ARRAY(SELECT hetu FROM h)) \gset full_
SELECT extract(epoch FROM clock_timestamp()) - :f_t0 AS s \gset full_
\o $WORK/rss2.txt
SELECT pg_read_file('/proc/self/status');
\o
SELECT :count_n, :count_s, :full_n, :full_s;
SQL
"$VTJ_PYTHON" - "$WORK" "$PERSONS" "$JSON_OUT" <<'PY'
import json, re, sys
work, persons, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
plain = json.load(open(f"{work}/plain.json"))
def kb(path, key):
    m = re.search(key + r":\s+(\d+) kB", open(path).read())
    return int(m.group(1)) / 1024 if m else float("nan")
n_count, s_count, n_full, s_full = open(f"{work}/scan.txt").read().strip().split("|")
n_count, s_count, n_full, s_full = int(n_count), float(s_count), int(n_full), float(s_full)
mb = plain["bytes"] / 1e6
fig = {
    "persons": persons,
    "rows": n_full,
    "scan_count_rows_per_s": n_count / s_count, "scan_count_s": s_count,
    "scan_full_rows_per_s": n_full / s_full, "scan_full_s": s_full,
    "scan_full_json_mb_per_s": mb / s_full,
    "plain_client_mb_per_s": plain["mb_per_s"], "plain_client_persons_per_s": plain["persons_per_s"],
    "rss_before_mb": kb(f"{work}/rss0.txt", "VmRSS"), "rss_after_count_mb": kb(f"{work}/rss1.txt", "VmRSS"),
    "rss_after_full_mb": kb(f"{work}/rss2.txt", "VmRSS"), "rss_peak_mb": kb(f"{work}/rss2.txt", "VmHWM"),
}
print(f"perustiedot scan, {persons} persons, {n_full} rows, {mb:.1f} MB of JSON")
print(f"  count(*) (decode, no conversion)   {fig['scan_count_rows_per_s']:>12,.0f} rows/s  {s_count:6.2f} s")
print(f"  all columns (jsonb, text[], dates) {fig['scan_full_rows_per_s']:>12,.0f} rows/s  {s_full:6.2f} s  "
      f"{fig['scan_full_json_mb_per_s']:.1f} MB/s of JSON   floor 300,000 rows/s: "
      f"{'PASS' if fig['scan_full_rows_per_s'] >= 300000 else 'FAIL'}")
print(f"  the mock to a plain client          {plain['persons_per_s']:>12,.0f} persons/s {plain['mb_per_s']:.1f} MB/s "
      f"(ratio scan/plain {mb / s_full / plain['mb_per_s']:.2f})")
print(f"  backend RSS MB: before {fig['rss_before_mb']:.0f}, after count {fig['rss_after_count_mb']:.0f}, "
      f"after full {fig['rss_after_full_mb']:.0f}, peak {fig['rss_peak_mb']:.0f}   floor 256 MB: "
      f"{'PASS' if fig['rss_peak_mb'] <= 256 else 'FAIL'}")
if out:
    json.dump(fig, open(out, "w"), indent=1)
PY
