#!/usr/bin/env bash
# Builds kv's libFuzzer targets with clang (ASan + UBSan) into build/fuzz and
# runs one target, or each in turn, for SECONDS seconds:
#
#   scripts/fuzz.sh wal_reader 60     # one target
#   scripts/fuzz.sh all 60            # every target, 60 s each
#   scripts/fuzz.sh                   # every target, 60 s each
#
# Targets: wal_reader block_reader table_reader version_edit write_batch db_api
# (tests/fuzz/fuzz_<target>.cpp). Each run starts from the committed seeds in
# tests/fuzz/corpus/<target>/ and grows a scratch corpus in
# build/fuzz/corpus/<target>/ (not committed). Crash reproducers land in
# build/fuzz/artifacts/<target>/; copy a fixed one into the seed corpus so the
# replay test (kv_fuzz_corpus_replay) keeps checking it, or a still-failing
# one into tests/fuzz/pending/<target>/.
#
# Environment: KV_JOBS (build parallelism, default 2), KV_FUZZ_BUILD_DIR
# (default build/fuzz), KV_FUZZ_SOURCE_DIR (CMake source dir, default the
# repo root), CXX (default clang++), extra libFuzzer flags in KV_FUZZ_FLAGS.
# Exits non-zero if a target found a crash.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

all_targets=(wal_reader block_reader table_reader version_edit write_batch db_api)
target=${1:-all}
seconds=${2:-60}
jobs=${KV_JOBS:-2}
build=${KV_FUZZ_BUILD_DIR:-build/fuzz}
source_dir=${KV_FUZZ_SOURCE_DIR:-$root}
cxx=${CXX:-clang++}

if [[ "$target" == all ]]; then
  targets=("${all_targets[@]}")
else
  found=0
  for t in "${all_targets[@]}"; do [[ "$t" == "$target" ]] && found=1; done
  if ((!found)); then
    echo "fuzz.sh: unknown target '$target' (targets: ${all_targets[*]} all)" >&2
    exit 2
  fi
  targets=("$target")
fi
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found (apt-get install clang libclang-rt-dev)" >&2
  exit 2
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$source_dir" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DKV_BUILD_FUZZERS=ON -DKV_SANITIZE=address,undefined \
  -DKV_BUILD_BENCH=OFF -DKV_BUILD_EXAMPLES=OFF -DKV_INSTALL=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/kv_fuzz_}"

status=0
for t in "${targets[@]}"; do
  bin=$(find "$build" -name "kv_fuzz_$t" -type f -perm -u+x | head -n1)
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "=== $t: ${seconds}s ==="
  # -rss_limit_mb: the DB target keeps a small DB in memory; anything near
  # 2 GB is a leak. -timeout: a single input taking 10 s is a hang.
  set +e
  # shellcheck disable=SC2086
  "$bin" "$corpus" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    ${KV_FUZZ_FLAGS:-} >"$build/$t.log" 2>&1
  rc=$?
  set -e
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|==[0-9]+==ERROR|SUMMARY|.*invariant violated|Test unit written)' \
    "$build/$t.log" || true
  if ((rc != 0)); then
    echo "!!! $t: crash found (exit $rc), see $build/$t.log and $artifacts/" >&2
    status=1
  fi
done
exit $status
