#!/usr/bin/env bash
# Crash torture: builds kv_stress (Release) and runs it for MINUTES minutes.
# Each round starts a writer process, SIGKILLs it after 100-1500 ms, reopens
# the DB and checks every acknowledged write (tests/crash/kv_stress.cpp).
#
#   scripts/crash_torture.sh 5          # 5 minutes, seed from the clock
#   KV_SEED=42 scripts/crash_torture.sh 5
#
# Environment: KV_JOBS (build parallelism, default 2), KV_TORTURE_BUILD_DIR
# (default build/torture), KV_TORTURE_DIR (DB + ack file, default a fresh
# directory under /tmp, removed on success), KV_THREADS (writer threads, default 4), KV_SEED.
# Exits non-zero on the first failed verification; the DB directory and ack
# file are then kept for inspection (the paths are printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

minutes=${1:-5}
jobs=${KV_JOBS:-2}
build=${KV_TORTURE_BUILD_DIR:-build/torture}
dir=${KV_TORTURE_DIR:-$(mktemp -d /tmp/kv_torture.XXXXXX)}
threads=${KV_THREADS:-4}
seed=${KV_SEED:-$(date +%s)}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target kv_stress -j "$jobs"

"$build/tests/crash/kv_stress" torture --db "$dir/db" --ack "$dir/db.ack" \
  --minutes "$minutes" --threads "$threads" --seed "$seed"
# Reached only on success (set -e): drop the scratch directory we made.
if [[ -z ${KV_TORTURE_DIR:-} ]]; then rm -rf "$dir"; fi
