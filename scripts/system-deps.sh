#!/usr/bin/env bash
# Install the Debian packages pulse-ops needs on the controller, when missing.
#   deploy: podman + runc (sandbox container), debootstrap (its image), git and
#           tar (Pulse's source; its release is built here with a pinned Node
#           and npm that the build fetches itself, not Debian's)
#   test:   the same, plus redis-server (unit tests start throwaway servers)
#           and nodejs (the crypto test checks Python against Node's crypto)
set -euo pipefail

want=(podman runc debootstrap uidmap slirp4netns fuse-overlayfs git tar)
[ "${1:-deploy}" = test ] && want+=(redis-server)

missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# The crypto tests check module_utils/pulse_crypto.py against Node's own crypto
# (any Node will do: Debian's 18 too).
[ "${1:-deploy}" = test ] && { command -v node >/dev/null || missing+=(nodejs); }
# Debian's own python3 makes venvs only with python3-venv (ensurepip).
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts a system-wide Redis; the tests start their own.
if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null \
    && systemctl is-system-running >/dev/null 2>&1; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
