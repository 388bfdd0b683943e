#!/usr/bin/env bash
# Runs the README's test command (after its install step) three times while two busy processes keep both
# cores loaded, to show the suite's verdict does not depend on machine speed.
# Usage: bash scripts/test-under-load.sh [ROUNDS]   (default 3; each round ~4-8 min)
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
export HF_HUB_OFFLINE=1
LIMIT=$((ROUNDS * 1500 + 60))
hogs=()
for _ in 1 2; do
    timeout "$LIMIT" python3 -c "while True: pass" &
    hogs+=("$!")
done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
status=0
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    log=$(mktemp)
    python3 -m pytest -q -p no:cacheprovider >"$log" 2>&1
    rc=$?
    tail -n 1 "$log"
    [ "$rc" -eq 0 ] || { status=1; grep -E "^(FAILED|ERROR)" "$log"; }
    rm -f "$log"
done
exit $status
