#!/usr/bin/env bash
# Mirror benchmark (issue 5's acceptance figures): a register of N members (default 100,000) of
# a mock of its own; the initial load (vtj.lataa_perustiedot) in persons/s, and a change run
# (vtj.paivita) over one day of changes in seconds, each beside its floor (≥ 3,000 persons/s,
# < 30 s). The figures come from vtj.ajo (the runs' own start and end).
#
#   bash test/bench/mirror_bench.sh [--persons 100000] [--product ASREK] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib.sh

PERSONS=100000
PRODUCT=ASREK
JSON_OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --persons) PERSONS=$2; shift 2 ;;
    --product) PRODUCT=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done

vtj_install_deps
if [ -z "${VTJ_BENCH_NO_INSTALL:-}" ]; then
  make -s -j2 >/dev/null && make -s install >/dev/null
fi
WORK=$(mktemp -d /tmp/vtj_bench.XXXXXX)
chmod 755 "$WORK"
cleanup() { vtj_stop_mock; vtj_stop_cluster; rm -rf "$WORK"; }
trap cleanup EXIT
vtj_start_cluster
# The present starts 30 days into the mock's history, so the day after it has a normal day's changes.
vtj_start_mock --persons "$PERSONS" --seed 42 --password "$VTJ_MOCK_PASSWORD" --start-days 30
curl -s "$VTJ_MOCK_ROOT/_control/hetut?limit=$PERSONS" | "$VTJ_PYTHON" -c 'import json,sys; print("\n".join(json.load(sys.stdin)))' >"$WORK/hetut.txt"
chmod 644 "$WORK/hetut.txt"
present() { curl -s "$VTJ_MOCK_ROOT/_control/state" | "$VTJ_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["present_date"])'; }

vtj_psql -c "CREATE EXTENSION vtj_fdw" \
  -c "CREATE SERVER mock FOREIGN DATA WRAPPER vtj_fdw OPTIONS (url '$VTJ_MOCK_URL')" \
  -c "CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (username 'mutpT1', password '$VTJ_MOCK_PASSWORD')" \
  -c "SELECT vtj.luo_rekisteri('bench', 'mock', '$PRODUCT')" \
  -c "CREATE TEMP TABLE h (hetu text)" -c "\\copy h FROM '$WORK/hetut.txt'" \
  -c "SELECT vtj.lisaa_henkilot('bench', ARRAY(SELECT hetu FROM h))" >/dev/null
# turvaLoppuPv is compared with the mock's simulated present, not the wall clock
vtj_psql -c "ALTER DATABASE postgres SET vtj_testi.tanaan = '$(present)'"

vtj_log "initial load of $PERSONS members"
vtj_psql -c "CALL vtj.lataa_perustiedot('bench')"
vtj_log "one day of changes"
curl -s -X POST "$VTJ_MOCK_ROOT/_control/advance" -d '{"days": 1}' >/dev/null
vtj_psql -c "ALTER DATABASE postgres SET vtj_testi.tanaan = '$(present)'"
vtj_psql -c "CALL vtj.paivita('bench')"

vtj_psql -At -F '|' -c "SELECT laji, tila, extract(epoch FROM loppu - alku), coalesce(henkiloita, 0), coalesce(muutoksia, 0), coalesce(ladattuja, 0), coalesce(pyyntoja, 0) FROM vtj.ajo ORDER BY ajo" >"$WORK/ajo.txt"
vtj_psql -At -c "SELECT count(*) FROM vtj.tieto" >"$WORK/rows.txt"
"$VTJ_PYTHON" - "$WORK" "$PERSONS" "$PRODUCT" "$JSON_OUT" <<'PY'
import json, sys
work, persons, product, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = [l.split("|") for l in open(f"{work}/ajo.txt").read().split("\n") if l]
load = next(r for r in runs if r[0] == "lataa_perustiedot")
run = next(r for r in runs if r[0] == "paivita")
assert load[1] == "ok" and run[1] == "ok", runs
load_s, run_s = float(load[2]), float(run[2])
fig = {"persons": persons, "product": product, "load_s": round(load_s, 2),
       "load_persons_per_s": round(int(load[3]) / load_s), "load_requests": int(load[6]),
       "stored_group_rows": int(open(f"{work}/rows.txt").read()),
       "run_s": round(run_s, 2), "run_changes": int(run[4]), "run_persons": int(run[3]),
       "run_requests": int(run[6])}
print(f"initial load : {persons} members in {load_s:.1f} s = {fig['load_persons_per_s']} persons/s"
      f"   (floor ≥ 3000/s: {'PASS' if fig['load_persons_per_s'] >= 3000 else 'FAIL'})")
print(f"change run   : one day, {fig['run_changes']} changes of {fig['run_persons']} persons, "
      f"{fig['run_requests']} requests, in {run_s:.2f} s   (floor < 30 s: {'PASS' if run_s < 30 else 'FAIL'})")
if out:
    json.dump(fig, open(out, "w"), indent=1)
sys.exit(0 if fig["load_persons_per_s"] >= 3000 and run_s < 30 else 1)
PY
