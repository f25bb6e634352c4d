#!/usr/bin/env bash
# Installs the Debian packages kv needs to build and test, and only those
# that are missing. Quiet when everything is already there.
#
#   scripts/deps.sh              # build + test dependencies
#   scripts/deps.sh --compare    # also LevelDB and RocksDB (comparative benchmarks)
#
# Runs as root, or through sudo otherwise. Calls `apt-get update` once, and
# only when something has to be installed.
set -euo pipefail

# doxygen checks the API documentation (scripts/docs.sh). The last two are
# optional extras (the metrics example's HTTP server and the
# kv::prometheus adapter); installed so that CI builds and tests them.
packages=(cmake ninja-build g++ clang pkg-config libabsl-dev libxxhash-dev catch2 libbenchmark-dev
  doxygen libcpp-httplib-dev prometheus-cpp-dev)
for arg in "$@"; do
  case "$arg" in
    --compare) packages+=(libleveldb-dev librocksdb-dev gnuplot-nox) ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "deps.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: this script supports Debian-based systems only (no dpkg-query)." >&2
  echo "deps.sh: install by hand: ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root or install sudo." >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt() {
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: 'apt-get $*' failed" >&2
    exit 1
  fi
}
apt update -q
apt install -y -q --no-install-recommends "${missing[@]}"
echo "deps.sh: done"
