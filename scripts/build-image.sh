#!/usr/bin/env bash
# Build the Debian 12 systemd image used by the sandbox and molecule, from
# Debian packages only (no container registry is needed). Reuses the image
# when it already exists; FORCE=1 rebuilds it.
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
