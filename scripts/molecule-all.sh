#!/usr/bin/env bash
# Run every molecule scenario in two lanes at once, to keep `make test` within
# CI's time: the full-stack scenario `pulse` (the longest) in the background,
# the others one after another in the foreground. Each scenario has its own
# container and network, so the lanes do not meet. The background lane's log
# is kept in .cache/molecule-logs/ and printed when it ends. Exits non-zero
# when any step fails. Run through `make molecule` (or `make test`).
#
# Arguments name make targets that the foreground lane runs first, while
# `pulse` already runs: `make test` passes lint and the unit tests. A failure
# there skips the other scenarios; the background lane is still waited for,
# so that it leaves no container behind.
set -uo pipefail
cd "$(dirname "$0")/.."

LONG=pulse
LOGS=.cache/molecule-logs
mkdir -p "$LOGS"

molecule test -s "$LONG" > "$LOGS/$LONG.log" 2>&1 &
long_pid=$!

rc=0
step() {  # step <label> <command...>: run it in the foreground lane, timed
    local label=$1 started=$SECONDS
    shift
    echo "=== $label"
    if "$@"; then
        echo "=== $label passed in $(( SECONDS - started )) s"
    else
        echo "=== $label FAILED after $(( SECONDS - started )) s"
        rc=1
    fi
}

for target in "$@"; do
    step "make $target" make --no-print-directory "$target"
    [ "$rc" -eq 0 ] || break
done
if [ "$rc" -eq 0 ]; then
    for dir in molecule/*/; do
        scenario=$(basename "$dir")
        [ "$scenario" = "$LONG" ] && continue
        step "molecule test -s $scenario" molecule test -s "$scenario"
        [ "$rc" -eq 0 ] || break
    done
fi

echo "=== waiting for molecule test -s $LONG (pid $long_pid)"
long_rc=0
wait "$long_pid" || long_rc=$?
echo "=== log of molecule test -s $LONG"
cat "$LOGS/$LONG.log"
if [ "$long_rc" -ne 0 ]; then
    echo "=== molecule test -s $LONG FAILED (exit $long_rc)"
    rc=1
else
    echo "=== molecule test -s $LONG passed, $SECONDS s after the lanes started"
fi
exit "$rc"
