#!/usr/bin/env bash
# Run every molecule scenario in two lanes at once, to keep `make test` within
# CI's time: the full-stack scenario `pulse` (the longest) in the background,
# the others one after another in the foreground. Each scenario has its own
# container and network, so the lanes do not meet. The background lane's log
# is kept in .cache/molecule-logs/ and printed when it ends. Exits non-zero
# when any scenario fails. Run through `make molecule` (or `make test`).
set -uo pipefail
cd "$(dirname "$0")/.."

LONG=pulse
LOGS=.cache/molecule-logs
mkdir -p "$LOGS"

molecule test -s "$LONG" > "$LOGS/$LONG.log" 2>&1 &
long_pid=$!

rc=0
for dir in molecule/*/; do
    scenario=$(basename "$dir")
    [ "$scenario" = "$LONG" ] && continue
    echo "=== molecule test -s $scenario"
    if ! molecule test -s "$scenario"; then
        echo "=== molecule test -s $scenario FAILED"
        rc=1
        break
    fi
done

echo "=== waiting for molecule test -s $LONG (pid $long_pid)"
long_rc=0
wait "$long_pid" || long_rc=$?
echo "=== log of molecule test -s $LONG"
cat "$LOGS/$LONG.log"
if [ "$long_rc" -ne 0 ]; then
    echo "=== molecule test -s $LONG FAILED (exit $long_rc)"
    rc=1
fi
exit "$rc"
