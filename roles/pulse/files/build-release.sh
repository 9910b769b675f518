#!/usr/bin/env bash
# Build a Pulse release on the controller. library/pulse_release_build.py runs it:
#   build-release.sh <source.tar> <pins dir> <node bin dir> <npm cache dir> <out.tar.gz>
# <source.tar>   the upstream tree at the commit, paths relative to its top (no prefix)
# <pins dir>     the commit's recorded package.json and package-lock.json
# <node bin dir> holds the pinned `node` and an `npm` that runs the pinned npm
# The output holds only the production tree (dist/, public/, node_modules/ without
# dev dependencies, package.json, package-lock.json) and appears only when complete.
# Each step prints a "==> pulse-build step: <name>" line first, so that the module
# can say which step failed. This file's bytes are part of the release id: any
# change to it makes a new release.
set -euo pipefail
# Files must be readable by the pulse user on the hosts, whatever the caller's umask.
umask 022

src=${1:?source tar}
pins=${2:?pins directory}
bin_dir=${3:?node bin directory}
npm_cache=${4:?npm cache directory}
out=${5:?output .tar.gz}

step() { printf '==> pulse-build step: %s\n' "$1"; }

# The pinned toolchain first on PATH: npm, its scripts and dependency install
# scripts (#!/usr/bin/env node) never reach the controller's own node or npm.
export PATH="$bin_dir:$PATH"
export npm_config_cache="$npm_cache" npm_config_update_notifier=false
# Pulse's dependencies would otherwise download a browser and send analytics.
export PUPPETEER_SKIP_DOWNLOAD=true PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=true SCARF_ANALYTICS=false

work=$(mktemp -d "${TMPDIR:-/tmp}/pulse-build.XXXXXX")
trap 'rm -rf "$work" "$out.partial"' EXIT
app=$work/app

step "check the toolchain"
[ "$(command -v node)" = "$bin_dir/node" ] || { echo "node on PATH is not $bin_dir/node" >&2; exit 1; }
echo "node $(node --version), npm $(npm --version)"

step "unpack the source"
mkdir "$app"
tar -xf "$src" -C "$app" --no-same-owner --no-same-permissions

step "apply the recorded package.json and lockfile"
cp "$pins/package.json" "$pins/package-lock.json" "$app/"
cd "$app"

step "npm ci"
npm ci --no-audit --no-fund

step "npm run build"
npm run build

step "check dist/main.js"
[ -f dist/main.js ] || { echo "npm run build made no dist/main.js, which Pulse starts from" >&2; exit 1; }

step "npm prune"
npm prune --omit=dev --no-audit --no-fund

step "pack the production tree"
[ -d node_modules ] || mkdir node_modules   # an app without production dependencies
parts=(dist node_modules package.json package-lock.json)
[ -d public ] && parts+=(public)
tar -cf - --sort=name --owner=0 --group=0 --numeric-owner "${parts[@]}" | gzip -n > "$out.partial"
mv -f "$out.partial" "$out"
echo "built $out"
