#!/usr/bin/env bash
# Runs the README's test command (after its install step) ROUNDS times while two busy processes keep both
# cores loaded, to show the suite's verdict does not depend on machine speed.
# Usage: bash scripts/test-under-load.sh [ROUNDS] [--parallel]
#   default: 3 rounds one after another (each ~20-25 min on 2 busy cores);
#   --parallel: the rounds run at the same time, each beside the two busy processes and the other rounds
#   (a heavier load than the sequential rounds; they finish in about the time of two).
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3
PARALLEL=0
for arg in "$@"; do
    case "$arg" in
        --parallel) PARALLEL=1 ;;
        *) ROUNDS=$arg ;;
    esac
done
export HF_HUB_OFFLINE=1
LIMIT=$((ROUNDS * 2400 + 60))
hogs=()
for _ in 1 2; do
    timeout "$LIMIT" python3 -c "while True: pass" &
    hogs+=("$!")
done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
logs=()
pids=()
for round in $(seq 1 "$ROUNDS"); do
    logs+=("$(mktemp)")
done
run_round() {  # round log
    echo "== round $1/$ROUNDS started $(date -u +%H:%M:%S) (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    python3 -m pytest -q -p no:cacheprovider >"$2" 2>&1
}
status=0
report() {  # round log rc
    echo "== round $1/$ROUNDS ended $(date -u +%H:%M:%S), rc $3: $(tail -n 1 "$2")"
    if [ "$3" -ne 0 ]; then
        status=1
        grep -E "^(FAILED|ERROR)" "$2"
        kept="test-under-load-round$1-$(date -u +%Y%m%dT%H%M%S).log"
        cp "$2" "$kept" && echo "   full output of the round kept in $kept"
    fi
}
if [ "$PARALLEL" -eq 1 ]; then
    for round in $(seq 1 "$ROUNDS"); do
        run_round "$round" "${logs[$((round - 1))]}" &
        pids+=("$!")
    done
    for round in $(seq 1 "$ROUNDS"); do
        wait "${pids[$((round - 1))]}"
        report "$round" "${logs[$((round - 1))]}" $?
    done
else
    for round in $(seq 1 "$ROUNDS"); do
        run_round "$round" "${logs[$((round - 1))]}"
        report "$round" "${logs[$((round - 1))]}" $?
    done
fi
rm -f "${logs[@]}"
exit $status
