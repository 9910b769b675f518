#!/usr/bin/env bash
# Build a Pulse release tarball on the controller (role pulse, pulse_source=artifact):
#   build-artifact.sh <source dir> <version> <output .tar.gz>
# A clean copy of the source (no node_modules, dist, .git, .env or state) runs
# `npm ci && npm run build`, drops dev dependencies, and is packed with its
# node_modules, so servers never need the npm registry. The output appears
# only when complete.
set -euo pipefail
# Files must be readable by the pulse user on the host, whatever the caller's umask.
umask 022

src=${1:?source directory}
version=${2:?version}
out=${3:?output file}

fail() { echo "cannot build Pulse $version from $src: $*" >&2; exit 2; }

[ -d "$src" ] || fail "no such directory (set pulse_artifact_source_dir to Pulse's source tree)"
[ -f "$src/package.json" ] || fail "no package.json there (set pulse_artifact_source_dir to Pulse's source tree)"
[ -f "$src/package-lock.json" ] || fail "no package-lock.json there (npm ci needs it: run npm install once and commit it)"
command -v npm >/dev/null || fail "npm is not installed on the controller (install Node.js 20 with npm)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$src" --exclude=./node_modules --exclude=./dist --exclude=./.git --exclude=./.env \
    --exclude=./whatsapp-sessions --exclude=./credentials --exclude=./logs -cf - . | tar -C "$work/" -xf -

cd "$work"
npm ci --no-audit --no-fund || fail "npm ci failed (output above)"
npm run build || fail "npm run build failed (output above)"
[ -f dist/main.js ] || fail "npm run build made no dist/main.js, which pulse.service starts"
npm prune --omit=dev --no-audit --no-fund || fail "npm prune failed (output above)"

mkdir -p "$(dirname "$out")"
tar -C "$work" -czf "$out.partial" .
mv -f "$out.partial" "$out"
echo "built Pulse $version into $out"
