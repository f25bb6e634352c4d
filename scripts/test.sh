#!/usr/bin/env bash
# Quick start, step 2 (and what CI runs): installs missing Debian packages,
# then builds and runs kv's whole test suite through CTest:
#
#   release  RelWithDebInfo build in build/release, every test (incl. the
#            install/consumer test and the examples)
#   asan     ASan+UBSan build (-O1, assertions on) in build/asan (no
#            benchmarks), every test but the install test
#   tsan     ThreadSanitizer build in build/tsan of the multi-threaded test
#            executables only (kv::Mutex is std::mutex-based there, see
#            include/kv/mutex.hpp); any TSan report fails the test
#   clang    clang++ build (-O1) of every target but the benchmarks in
#            build/clang, which also checks the -Wthread-safety lock
#            annotations, then every test but the install test (skipped
#            without clang++)
#
#   docs     scripts/docs.sh: every public declaration has a Doxygen comment
#
#   scripts/test.sh                 # all five stages
#   scripts/test.sh release clang   # only the stages named
#
# Environment: KV_JOBS (build and test parallelism, default 2),
# KV_TEST_TIMEOUT (seconds per test without its own timeout, default 600).
# Exits non-zero if any stage fails; a summary is printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${KV_JOBS:-2}
timeout=${KV_TEST_TIMEOUT:-600}
stages=("$@")
((${#stages[@]})) || stages=(release asan tsan clang docs)
for s in "${stages[@]}"; do
  case "$s" in
    release | asan | tsan | clang | docs) ;;
    *)
      echo "test.sh: unknown stage '$s' (stages: release asan tsan clang docs)" >&2
      exit 2
      ;;
  esac
done

scripts/deps.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

# The tsan stage builds and runs these test executables whole (each takes
# seconds under TSan): every DB test has a background thread.
tsan_targets=(kv_db_test kv_db_compaction_test kv_skiplist_test kv_memtable_test
  kv_lru_cache_test kv_db_crash_test kv_db_io_error_test kv_db_event_listener_test
  kv_db_table_cache_test kv_huge_page_pool_test)
tsan_tests='^(db_test|db_compaction_test|skiplist_test|memtable_test|lru_cache_test|db_crash_test|db_io_error_test|db_event_listener_test|db_table_cache_test|huge_page_pool_test):'

summary=()
failed=0
ran_ctest=0
total_passed=0
total_failed=0
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

banner() { printf '\n==== %s ====\n' "$*"; }

# run_ctest NAME BUILD_DIR [ctest args...]: runs ctest, tallies its counts.
run_ctest() {
  local name=$1 dir=$2
  shift 2
  local log="$logdir/$name.log" rc=0
  ran_ctest=1
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" \
    --timeout "$timeout" "$@" 2>&1 | tee "$log" || rc=$?
  local line passed=0 bad=0 all
  line=$(grep -E '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    bad=${BASH_REMATCH[1]}
    all=${BASH_REMATCH[2]}
    passed=$((all - bad))
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + bad))
  if ((rc == 0)); then
    summary+=("PASS  $name: $passed tests passed")
  else
    summary+=("FAIL  $name: $bad of $((passed + bad)) tests failed (ctest exit $rc)")
    failed=1
  fi
}

# build_stage NAME BUILD_DIR TARGETS [cmake configure args...]
# TARGETS: "all" or one or more target names separated by spaces.
build_stage() {
  local name=$1 dir=$2 target=$3
  shift 3
  local start=$SECONDS
  banner "$name: configure + build ($dir)"
  local -a target_args=()
  # shellcheck disable=SC2206 # word splitting of the target list is wanted
  [[ $target == all ]] || target_args=(--target $target)
  if cmake -S . -B "$dir" -G Ninja "$@" &&
    cmake --build "$dir" -j "$jobs" "${target_args[@]}"; then
    summary+=("PASS  $name: build ($((SECONDS - start)) s)")
    return 0
  fi
  summary+=("FAIL  $name: build ($((SECONDS - start)) s)")
  failed=1
  return 1
}

t0=$SECONDS
for stage in "${stages[@]}"; do
  case "$stage" in
    release)
      if build_stage release build/release all -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
        banner "release: ctest"
        start=$SECONDS
        run_ctest release build/release
        summary[-1]+=" ($((SECONDS - start)) s)"
      fi
      ;;
    asan)
      # -O1 -g1 (assertions on): about the speed ASan wants, and much cheaper
      # to compile than -O2 -g, which made this the slowest stage of CI.
      if build_stage asan build/asan all -DCMAKE_BUILD_TYPE=Debug \
        "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" -DKV_SANITIZE=address,undefined \
        -DKV_BUILD_BENCH=OFF; then
        banner "asan: ctest (ASan+UBSan)"
        start=$SECONDS
        run_ctest asan build/asan -LE install
        summary[-1]+=" ($((SECONDS - start)) s)"
      fi
      ;;
    tsan)
      # CMAKE_CXX_FLAGS too: every object must be instrumented, e.g. the
      # Catch2 main, or the linker may keep its uninstrumented copy of an
      # inline function (shared_ptr's refcount release) and TSan then misses
      # that synchronization and reports false races.
      if build_stage tsan build/tsan "${tsan_targets[*]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DKV_SANITIZE=thread -DCMAKE_CXX_FLAGS=-fsanitize=thread \
        -DKV_BUILD_BENCH=OFF -DKV_BUILD_EXAMPLES=OFF; then
        banner "tsan: ctest (ThreadSanitizer, concurrency tests)"
        start=$SECONDS
        run_ctest tsan build/tsan -R "$tsan_tests"
        summary[-1]+=" ($((SECONDS - start)) s)"
      fi
      ;;
    clang)
      if ! command -v clang++ >/dev/null 2>&1; then
        summary+=("SKIP  clang: clang++ not found")
        continue
      fi
      # Every target but the benchmarks, -Werror and -Wthread-safety, at -O1
      # (builds fast, tests still run at a useful speed); then the tests.
      if build_stage clang build/clang all -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DKV_BUILD_BENCH=OFF \
        -DKV_BUILD_TESTS=ON -DKV_BUILD_EXAMPLES=ON -DKV_BUILD_TOOLS=ON \
        -DKV_INSTALL=OFF; then
        banner "clang: ctest"
        start=$SECONDS
        run_ctest clang build/clang -LE install
        summary[-1]+=" ($((SECONDS - start)) s)"
      fi
      ;;
    docs)
      banner "docs: doxygen (every public declaration documented)"
      if scripts/docs.sh; then
        summary+=("PASS  docs: every public header fully documented")
      else
        summary+=("FAIL  docs: scripts/docs.sh")
        failed=1
      fi
      ;;
  esac
done

banner "summary ($((SECONDS - t0)) s)"
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "test.sh: FAILED"
else
  echo "test.sh: all stages passed"
fi
((ran_ctest)) && echo "total: $total_passed passed, $total_failed failed"
exit "$failed"
