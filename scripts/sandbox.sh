#!/usr/bin/env bash
# Create, or reuse, the Podman container `pulse-sandbox` running systemd, the
# target of inventories/sandbox. `scripts/sandbox.sh destroy` removes it.
set -euo pipefail

NAME="${PULSE_SANDBOX:-pulse-sandbox}"
IMAGE="${PULSE_IMAGE:-localhost/pulse-debian12-systemd:latest}"

if [ "${1:-up}" = destroy ]; then
    podman rm -f "$NAME" >/dev/null 2>&1 || true
    echo "sandbox $NAME removed"
    exit 0
fi

if podman container exists "$NAME"; then
    if [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
        podman start "$NAME" >/dev/null
        echo "sandbox $NAME started again"
    else
        echo "sandbox $NAME running, reusing it"
    fi
else
    podman run -d --name "$NAME" --hostname "$NAME" --systemd=always "$IMAGE" /sbin/init >/dev/null
    echo "sandbox $NAME created from $IMAGE"
fi

# Wait for systemd to finish booting, so services can be managed.
for _ in $(seq 1 120); do
    state=$(podman exec "$NAME" systemctl is-system-running 2>/dev/null || true)
    case "$state" in
        running|degraded) exit 0 ;;
    esac
    sleep 0.5
done
echo "sandbox $NAME: systemd did not finish booting (state: ${state:-unknown})" >&2
exit 1
