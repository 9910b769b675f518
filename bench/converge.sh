#!/usr/bin/env bash
# Time `playbooks/site.yml` on a fresh sandbox-like container and its
# idempotent re-run (changed=0, and no service restarted: systemd's InvocationID
# unchanged), RUNS times each (default 3), then Pulse's restart until
# ready (`pulse restart`, RESTARTS times, default 5), and print the medians.
# The real upstream Pulse from PULSE_ARCHIVE, with the controller's build
# cache warm (bench/build.sh times cold and warm builds). Uses its own
# container (pulse-bench) and throwaway secrets, so the operator's
# pulse-sandbox and its vault are left alone.
# Run through `make bench` (it provides the venv, the image and the archive).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
RESTARTS="${RESTARTS:-5}"
: "${PULSE_ARCHIVE:?set PULSE_ARCHIVE to a git archive of upstream Pulse (make bench finds the workplace copy)}"
NAME=pulse-bench
OUT=bench/results
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'podman rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

umask 077
cat > "$work/hosts.yml" <<YAML
all:
  children:
    redis:
      hosts:
        $NAME:
          ansible_connection: podman_exec
          ansible_python_interpreter: /usr/bin/python3
    pulse:
      hosts:
        $NAME:
YAML
# Pulse as in the sandbox: the real upstream, WhatsApp Web on (no number).
cat > "$work/pulse.yml" <<YAML
pulse_archive: $PULSE_ARCHIVE
pulse_rabbitmq_url: amqp://guest:guest@127.0.0.1:5672
YAML
# Throwaway secrets, all that the pre-flight play requires (never the sandbox's vault).
python3 - > "$work/secrets.yml" <<'PY'
import secrets
for name in ("pulse_encryption_key", "pulse_jwt_secret", "pulse_session_secret", "pulse_webhook_secret"):
    print("%s: %s" % (name, secrets.token_hex(32)))
for name in ("pulse_encryption_salt", "pulse_hash_salt", "redis_requirepass"):
    print("%s: %s" % (name, secrets.token_hex(16)))
PY

converge() {  # prints wall seconds; fails if the play fails
    local log=$1 start end
    start=$(date +%s.%N)
    ansible-playbook playbooks/site.yml -i "$work/hosts.yml" -e "@$work/secrets.yml" -e "@$work/pulse.yml" \
        > "$log" 2>&1 \
        || { tail -n 30 "$log" >&2; return 1; }
    end=$(date +%s.%N)
    python3 -c "print(round($end - $start, 1))"
}

invocations() {  # systemd's InvocationID of each service: a (re)start makes a new one
    podman exec "$NAME" systemctl show -p InvocationID --value redis-server pulse pulse-devtools-guard
}

fresh=() rerun=()
for i in $(seq 1 "$RUNS"); do
    podman rm -f "$NAME" >/dev/null 2>&1 || true
    PULSE_SANDBOX=$NAME scripts/sandbox.sh up >/dev/null
    fresh+=("$(converge "$OUT/fresh-$i.log")")
    before=$(invocations)
    rerun+=("$(converge "$OUT/rerun-$i.log")")
    grep -q 'changed=0 ' "$OUT/rerun-$i.log" || { echo "re-run $i changed something: $OUT/rerun-$i.log" >&2; exit 1; }
    [ "$(invocations)" = "$before" ] || { echo "re-run $i restarted a service: $OUT/rerun-$i.log" >&2; exit 1; }
    echo "run $i: fresh converge ${fresh[-1]} s, idempotent re-run ${rerun[-1]} s"
done

restart=()
for i in $(seq 1 "$RESTARTS"); do
    start=$(date +%s.%N)
    podman exec "$NAME" pulse restart > "$OUT/restart-$i.log"
    end=$(date +%s.%N)
    restart+=("$(python3 -c "print(round($end - $start, 2))")")
    echo "restart $i: ready after ${restart[-1]} s"
done
rss=$(podman exec "$NAME" bash -c 'ps -o rss= -p "$(systemctl show -p MainPID --value pulse)"')
sizes=$(podman exec "$NAME" du -sm /opt/pulse/current/ /opt/pulse/runtimes/ | awk '{print $1 " MB " $2}' | paste -sd, -)

median() { python3 -c 'import statistics, sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 2))' "$@"; }
echo "median of $RUNS runs: fresh converge $(median "${fresh[@]}") s, idempotent re-run $(median "${rerun[@]}") s"
echo "median of $RESTARTS restarts until ready: $(median "${restart[@]}") s; Pulse's RSS $((rss / 1024)) MB; on disk: $sizes"
