#!/usr/bin/env bash
# All six benchmarks one after another against the local stack (`make bench`); ends with each one's last line.
#
#   bash scripts/run_benchmarks.sh [NAME...]     # default: delivery consumers api alerts video accuracy
#
# Brings the stack up (scripts/stack up, topics, schemas) like `make test`, runs each benchmark with its
# output shown and kept in $BENCH_LOG_DIR/NAME.log, and prints at the end one line per benchmark:
# `NAME: <its last line>` (or `NAME: FAILED (exit N), see LOG`). Exit status: 1 when any failed.
#
# Environment: ALPR_MODEL_DIR (models: video, accuracy), ALPR_SHARED_DIR (sample data: data/video/
# parkpow_cars.mp4, data/plates-dev/{us,br}), BENCH_LOG_DIR (default output/bench), PYTHON (default
# .venv/bin/python), BENCH_LOCK (default /tmp/alpr-bench.lock: each benchmark and the stack start hold it,
# so benchmarks of several checkouts on one machine never overlap; empty: no lock), BENCH_SKIP_STACK=1 (the
# stack is already up with its topics and schemas: skip that step).
set -uo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SHARED=${ALPR_SHARED_DIR:-../shared}
LOG_DIR=${BENCH_LOG_DIR:-output/bench}
LOCK=${BENCH_LOCK-/tmp/alpr-bench.lock}
VIDEO="$SHARED/data/video/parkpow_cars.mp4"
PHOTOS=("$SHARED/data/plates-dev/us" "$SHARED/data/plates-dev/br")
ALL=(delivery consumers api alerts video accuracy)
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=("${ALL[@]}")

say() { printf '[%s] bench: %s\n' "$(date +%H:%M:%S)" "$*"; }
locked() { if [ -n "$LOCK" ] && command -v flock >/dev/null 2>&1; then flock "$LOCK" "$@"; else "$@"; fi; }

command_of() {  # the benchmark's argv, one word per line
    case "$1" in
        delivery)  printf '%s\n' "$PYTHON" scripts/benchmark_delivery.py ;;
        consumers) printf '%s\n' "$PYTHON" scripts/benchmark_consumers.py ;;
        api)       printf '%s\n' "$PYTHON" scripts/benchmark_api.py ;;
        alerts)    printf '%s\n' "$PYTHON" scripts/benchmark_alerts.py ;;
        video)     printf '%s\n' "$PYTHON" scripts/benchmark_video.py "$VIDEO" ;;
        accuracy)  printf '%s\n' "$PYTHON" scripts/benchmark_accuracy.py "${PHOTOS[@]}" ;;
        *) return 1 ;;
    esac
}

for name in "${NAMES[@]}"; do
    command_of "$name" >/dev/null || { echo "bench: unknown benchmark '$name' (known: ${ALL[*]})" >&2; exit 2; }
done
[ -x "$PYTHON" ] || { echo "bench: $PYTHON not found; run 'make venv' first" >&2; exit 2; }
case " ${NAMES[*]} " in
    *" video "*|*" accuracy "*)
        [ -n "${ALPR_MODEL_DIR:-}" ] || { echo "bench: set ALPR_MODEL_DIR (the model files) for video and accuracy" >&2; exit 2; }
        [ -f "$VIDEO" ] || { echo "bench: no sample video $VIDEO (set ALPR_SHARED_DIR)" >&2; exit 2; } ;;
esac
mkdir -p "$LOG_DIR"

if [ "${BENCH_SKIP_STACK:-0}" != 1 ]; then
    say "local stack: scripts/stack up, topics, schemas"
    locked scripts/stack up || { echo "bench: scripts/stack up failed" >&2; exit 1; }
    "$PYTHON" scripts/create_topics.py >"$LOG_DIR/setup.log" 2>&1 \
        && "$PYTHON" scripts/register_schemas.py >>"$LOG_DIR/setup.log" 2>&1 \
        || { echo "bench: topics/schemas failed, see $LOG_DIR/setup.log" >&2; exit 1; }
fi

declare -A RESULT
failed=0
i=0
for name in "${NAMES[@]}"; do
    i=$((i + 1))
    mapfile -t cmd < <(command_of "$name")
    log="$LOG_DIR/$name.log"
    say "[$i/${#NAMES[@]}] $name: ${cmd[*]} (log $log)"
    started=$(date +%s)
    locked "${cmd[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    last=$(grep -v '^[[:space:]]*$' "$log" | tail -1)
    if [ "$rc" -ne 0 ] || [ -z "$last" ]; then
        RESULT[$name]="FAILED (exit $rc), see $log"
        failed=1
    else
        RESULT[$name]=$last
    fi
    say "[$i/${#NAMES[@]}] $name done in $(( $(date +%s) - started ))s"
done

say "results (last line of each benchmark):"
for name in "${NAMES[@]}"; do
    printf '%s: %s\n' "$name" "${RESULT[$name]}"
done
exit $failed
