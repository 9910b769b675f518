#!/usr/bin/env bash
# Build the Debian 12 systemd image used by the sandbox and molecule, from
# Debian packages only (no container registry is needed). Reuses the image
# when it already exists; FORCE=1 rebuilds it.
#
#   scripts/build-image.sh        the base image (systemd, python3)
#   scripts/build-image.sh deps   the base image plus what Pulse needs around it
#                                 (Chromium, nftables, RabbitMQ, the checks'
#                                 Python libraries), made by installing them in
#                                 a container of the base image and committing
#                                 it: the scenarios that deploy Pulse start
#                                 from it instead of each downloading them.
set -euo pipefail

IMAGE="${PULSE_IMAGE:-localhost/pulse-debian12-systemd:latest}"
SUITE=bookworm

# The Debian mirror this machine's apt already uses (deb822 .sources first,
# then one-line .list entries); DEBIAN_MIRROR overrides it.
apt_mirror() {
    local uri
    uri=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n 1)
    if [ -z "$uri" ]; then
        uri=$(grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/' | grep -v -- '-security' | head -n 1)
    fi
    echo "$uri"
}
MIRROR="${DEBIAN_MIRROR:-$(apt_mirror)}"
PACKAGES=systemd,systemd-sysv,dbus,python3,procps,sudo,iproute2,ca-certificates
DEPS_IMAGE="${PULSE_DEPS_IMAGE:-localhost/pulse-debian12-deps:latest}"
# What the pulse role installs for WhatsApp Web and its checks, and RabbitMQ,
# which Pulse needs (a role of its own will manage it).
DEPS_PACKAGES="chromium fonts-liberation nftables python3-redis python3-cryptography python3-hiredis rabbitmq-server"

if [ "${1:-}" = deps ]; then
    "$0"  # the base image first
    # Keyed by the base image and the package list: either changing rebuilds it.
    key=$( (podman image inspect -f '{{.Id}}' "$IMAGE"; echo "$DEPS_PACKAGES"; sed -n '/^if \[ "${1:-}" = deps \]/,/^fi/p' "$0") \
        | sha256sum | cut -c1-16)
    if [ "${FORCE:-0}" != 1 ] && podman image exists "$DEPS_IMAGE" \
        && [ "$(podman image inspect -f '{{index .Labels "pulse-ops.key"}}' "$DEPS_IMAGE")" = "$key" ]; then
        echo "image $DEPS_IMAGE present, reusing it (FORCE=1 rebuilds)"
        exit 0
    fi
    name="pulse-deps-build-$$"
    trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
    echo "building $DEPS_IMAGE: $DEPS_PACKAGES (a few minutes)"
    podman run -d --name "$name" "$IMAGE" sleep infinity >/dev/null
    # shellcheck disable=SC2086
    podman exec -e DEBIAN_FRONTEND=noninteractive "$name" bash -c "apt-get update -qq \
        && apt-get install -y -qq --no-install-recommends $DEPS_PACKAGES >/dev/null \
        && apt-get clean && rm -rf /var/lib/apt/lists/*"
    # The scenarios that run Pulse give the container SYS_ADMIN so that systemd
    # builds the units' sandboxes as on a real host. One combination still fails
    # inside a container: a new /proc (ProtectProc) in a user namespace
    # (PrivateUsers), both of which Debian's redis-server.service asks for. For
    # Redis only, and only in these test images, keep the container's /proc.
    podman exec "$name" bash -c "mkdir -p /etc/systemd/system/redis-server.service.d \
        && printf '%s\n' '# Test image only (scripts/build-image.sh): ProtectProc with PrivateUsers fails in a container.' \
           '[Service]' 'ProtectProc=default' > /etc/systemd/system/redis-server.service.d/zz-test-container.conf"
    podman commit -q --change 'CMD ["/sbin/init"]' --change "LABEL pulse-ops.key=$key" "$name" "$DEPS_IMAGE" >/dev/null
    echo "built $DEPS_IMAGE"
    exit 0
fi

if [ "${FORCE:-0}" != 1 ] && podman image exists "$IMAGE"; then
    echo "image $IMAGE present, reusing it (FORCE=1 rebuilds)"
    exit 0
fi

[ -n "$MIRROR" ] || {
    echo "no Debian mirror found in /etc/apt/sources.list*: set DEBIAN_MIRROR=<mirror URL>" >&2
    exit 1
}

command -v debootstrap >/dev/null || {
    echo "debootstrap is missing: apt-get install debootstrap" >&2
    exit 1
}

root=$(mktemp -d /var/tmp/pulse-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

echo "building $IMAGE from $SUITE packages (about a minute)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" \
    >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# Trim what a container never uses so the image stays small and boots fast.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# Units that fail or wait forever without real hardware.
for unit in systemd-remount-fs.service getty.target systemd-udevd.service \
            systemd-udev-trigger.service systemd-firstboot.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
echo pulse-target > "$root/etc/hostname"
: > "$root/etc/machine-id"

tar -C "$root" -c . | podman import \
    --change 'CMD ["/sbin/init"]' \
    --change 'ENV container=podman' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    - "$IMAGE" >/dev/null
echo "built $IMAGE"
