#!/usr/bin/env bash
# Quick start, step 1: installs missing Debian packages (scripts/deps.sh),
# builds examples/quickstart (RelWithDebInfo, in build/release) and runs it.
#
#   scripts/quickstart.sh [DB_DIR]    # DB_DIR: where the example keeps its DB
#                                     # (default: a temporary dir, removed after)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/deps.sh

build=build/release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo --log-level=WARNING
cmake --build "$build" --target kv_example_quickstart -j "${KV_JOBS:-2}"
echo
exec "$build/examples/quickstart" "$@"
