#!/usr/bin/env bash
# Time the controller's build of upstream Pulse (library/pulse_release_build):
# cold (an empty cache: Node and npm downloaded, every package fetched), warm
# (npm's cache and the toolchain kept, the artifact removed) and cached (the
# artifact reused), RUNS times each (default 2), and print the artifact's
# size. Uses a cache of its own under bench/results, never ~/.cache/pulse-ops.
# Run through `make bench` (it provides the venv and PULSE_ARCHIVE).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-2}"
: "${PULSE_ARCHIVE:?set PULSE_ARCHIVE to a git archive of upstream Pulse (make bench finds the workplace copy)}"
OUT=bench/results
cache=$PWD/$OUT/build-cache
mkdir -p "$OUT"
trap 'rm -rf "$cache"' EXIT

build() {  # prints wall seconds and the artifact path
    local log=$1 start end
    start=$(date +%s.%N)
    ansible localhost -c local -m pulse_release_build -a "$(printf 'commit=%s archive=%s builds_dir=%s cache_dir=%s recipe=%s' \
        4e63375b0d93ea162e7224de8b276cb5d184c47f "$PULSE_ARCHIVE" "$PWD/roles/pulse/files/builds" "$cache" \
        "$PWD/roles/pulse/files/build-release.sh")" > "$log" 2>&1 || { tail -n 40 "$log" >&2; return 1; }
    end=$(date +%s.%N)
    python3 -c "print(round($end - $start, 1))"
}

median() { python3 -c 'import statistics, sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 2))' "$@"; }
cold=() warm=() cached=()
for i in $(seq 1 "$RUNS"); do
    rm -rf "$cache"
    cold+=("$(build "$OUT/build-cold-$i.log")")
    rm -rf "$cache/artifacts"
    warm+=("$(build "$OUT/build-warm-$i.log")")
    cached+=("$(build "$OUT/build-cached-$i.log")")
    echo "run $i: cold ${cold[-1]} s, warm ${warm[-1]} s, cached ${cached[-1]} s"
done
artifact=$(ls "$cache"/artifacts/*.tar.gz)
unpacked=$(tar -tvzf "$artifact" | awk '{sum += $3} END {printf "%d", sum / 1048576}')
echo "median of $RUNS runs: cold $(median "${cold[@]}") s, warm $(median "${warm[@]}") s, cached $(median "${cached[@]}") s"
echo "artifact $(basename "$artifact"): $(( $(stat -c %s "$artifact") / 1048576 )) MB packed, $unpacked MB unpacked"
