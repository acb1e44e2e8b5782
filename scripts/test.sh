#!/usr/bin/env bash
# Installs what is missing, builds leapfrog, and runs the whole test suite through CTest.
# Usage: scripts/test.sh [extra ctest args]   (BUILD_DIR=build by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}

need_pkgs=()
for p in cmake g++ libgtest-dev libbenchmark-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libfmt-dev python3 python3-pip; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
  echo "installing: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
fi
python3 -m pip install -q -r scripts/requirements-test.txt 2>/dev/null ||
  python3 -m pip install -q --break-system-packages -r scripts/requirements-test.txt

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "$@"

# Fuzz the GGUF reader for a short while when clang is available (libFuzzer + AddressSanitizer).
cd "$ROOT"
if command -v clang++ >/dev/null 2>&1; then
  FUZZ_DIR=${BUILD_DIR}-fuzz
  CXX=clang++ CC=clang cmake -S . -B "$FUZZ_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$FUZZ_DIR" --target fuzz_gguf_reader -j"$(nproc)"
  mkdir -p "$FUZZ_DIR/corpus"
  # Seeds: small valid GGUFs written by the test suite.
  find "$BUILD_DIR/itest" -name '*.gguf' -size -2M -exec cp -t "$FUZZ_DIR/corpus" {} + 2>/dev/null || true
  "$FUZZ_DIR/fuzz_gguf_reader" -max_total_time="${FUZZ_SECONDS:-30}" -max_len=8192 "$FUZZ_DIR/corpus" 2>&1 | tail -n 2
fi
