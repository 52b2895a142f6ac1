#!/usr/bin/env bash
# Flakiness check: the unit suite N times with both cores saturated, then the integration suite twice in a
# row against one local stack, with no reruns. A test that fails in any run is named in `flaky=`.
#
#   scripts/stress_tests.sh                     # 5 loaded unit runs + 2 integration runs
#   scripts/stress_tests.sh --unit-runs 10 --integration-runs 0
#   scripts/stress_tests.sh --load-integration  # keep the CPU burner on during the integration runs too
#
# The CPU burner is `stress-ng --cpu NPROC` when installed (Debian: apt-get install stress-ng), else one
# Python busy loop per core; it is started and stopped here (also on Ctrl-C). Each run writes JUnit XML
# under output/stress/; the last line is `runs=.. failures=.. flaky=NAME,...` (failures = failed test
# executions over all runs; flaky = every test that failed at least once, with its failure count).
set -uo pipefail
cd "$(dirname "$0")/.."

UNIT_RUNS=5
INTEGRATION_RUNS=2
LOAD_INTEGRATION=0
while [ $# -gt 0 ]; do
    case "$1" in
        --unit-runs) UNIT_RUNS="$2"; shift 2 ;;
        --integration-runs) INTEGRATION_RUNS="$2"; shift 2 ;;
        --load-integration) LOAD_INTEGRATION=1; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "stress_tests: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$UNIT_RUNS$INTEGRATION_RUNS" in *[!0-9]*) echo "stress_tests: run counts must be integers" >&2; exit 2 ;; esac

PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || { echo "stress_tests: $PY missing: run 'make venv' first" >&2; exit 2; }
export ALPR_SHARED_DIR="${ALPR_SHARED_DIR:-$(cd .. && pwd)/shared}"
export ALPR_MODEL_DIR="${ALPR_MODEL_DIR:-$ALPR_SHARED_DIR/models}"
OUT=output/stress
rm -rf "$OUT" && mkdir -p "$OUT"
CORES=$(nproc)
burner_pids=()

start_burner() {
    if command -v stress-ng >/dev/null 2>&1; then
        stress-ng --cpu "$CORES" --quiet & burner_pids+=($!)
        echo "stress_tests: CPU burner: stress-ng --cpu $CORES (pid ${burner_pids[*]})"
    else
        for _ in $(seq "$CORES"); do
            "$PY" -c "while True: pass" & burner_pids+=($!)
        done
        echo "stress_tests: CPU burner: $CORES Python busy loops (pids ${burner_pids[*]})"
    fi
}

stop_burner() {
    [ ${#burner_pids[@]} -eq 0 ] && return 0
    kill "${burner_pids[@]}" 2>/dev/null
    wait "${burner_pids[@]}" 2>/dev/null
    burner_pids=()
}
trap stop_burner EXIT
trap 'stop_burner; exit 130' INT TERM

run_suite() {  # NAME PYTEST-ARGS...: one run, JUnit XML in $OUT/NAME.xml, status line with its time
    local name="$1" started rc
    shift
    started=$(date +%s)
    "$PY" -m pytest -q -p no:cacheprovider -p no:rerunfailures --junitxml="$OUT/$name.xml" "$@" \
        > "$OUT/$name.log" 2>&1
    rc=$?
    echo "stress_tests: $name exit=$rc in $(( $(date +%s) - started ))s: $(tail -1 "$OUT/$name.log")"
}

start_burner
for i in $(seq "$UNIT_RUNS"); do
    run_suite "unit-$i" tests/unit
done
[ "$LOAD_INTEGRATION" = 1 ] || stop_burner

if [ "$INTEGRATION_RUNS" -gt 0 ]; then
    scripts/stack up && "$PY" scripts/create_topics.py && "$PY" scripts/register_schemas.py \
        || { echo "stress_tests: the local stack did not come up" >&2; exit 1; }
    for i in $(seq "$INTEGRATION_RUNS"); do
        run_suite "integration-$i" tests/integration -m "not gpu"
    done
fi
stop_burner

"$PY" - "$OUT" <<'PY'
"""Sum the JUnit reports: failed or errored test cases per name, and runs without any report."""
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

out = Path(sys.argv[1])
logs = sorted(out.glob("*.log"))
failed: Counter[str] = Counter()
broken = []
for log in logs:
    xml = log.with_suffix(".xml")
    if not xml.is_file():  # pytest died before writing its report (a crash or a collection error)
        broken.append(log.stem)
        continue
    for case in ET.parse(xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            cls, name = case.get("classname") or "", case.get("name") or "?"
            failed[f"{cls}::{name}" if cls else name] += 1
for name in broken:
    failed[f"{name}:no-report"] += 1
for name, count in failed.most_common():
    print(f"stress_tests: failed {count}x {name}")
flaky = ",".join(f"{name}({count})" for name, count in failed.most_common())
print(f"runs={len(logs)} failures={sum(failed.values())} flaky={flaky}")
sys.exit(1 if failed else 0)
PY
