#!/usr/bin/env bash
# Create, or reuse, the Podman container `pulse-sandbox` running systemd, the
# target of inventories/sandbox. `scripts/sandbox.sh destroy` removes it.
set -euo pipefail

NAME="${PULSE_SANDBOX:-pulse-sandbox}"
# The base image with what Pulse needs around it (scripts/build-image.sh deps).
IMAGE="${PULSE_IMAGE:-localhost/pulse-debian12-deps:latest}"

if [ "${1:-up}" = destroy ]; then
    podman rm -f "$NAME" >/dev/null 2>&1 || true
    echo "sandbox $NAME removed"
    exit 0
fi

if podman container exists "$NAME"; then
    caps=$(podman inspect -f '{{.EffectiveCaps}}' "$NAME")
    if [[ $caps != *NET_ADMIN* || $caps != *SYS_ADMIN* ]]; then
        echo "sandbox $NAME was created without NET_ADMIN and SYS_ADMIN, which Pulse's nftables guard and" \
             "its unit's sandbox need: recreate it with 'make sandbox-destroy deploy' (its Redis data goes with it)" >&2
        exit 1
    fi
    if [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
        podman start "$NAME" >/dev/null
        echo "sandbox $NAME started again"
    else
        echo "sandbox $NAME running, reusing it"
    fi
else
    # NET_ADMIN: the pulse role's nftables guard on Chromium's debugging ports.
    # SYS_ADMIN and no seccomp filter of podman's own: systemd inside builds the
    # units' namespaces (PrivateTmp, ProtectSystem, ProtectProc, PrivateUsers) as on
    # a real host; without them it skips them silently.
    podman run -d --name "$NAME" --hostname "$NAME" --systemd=always --cap-add NET_ADMIN --cap-add SYS_ADMIN \
        --security-opt seccomp=unconfined "$IMAGE" /sbin/init >/dev/null
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
