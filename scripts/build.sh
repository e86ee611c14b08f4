#!/usr/bin/env bash
# Configures and builds lpl into build/ (CUDA backend included when the toolkit is found).
#   scripts/build.sh [extra cmake args...]   env: BUILD_DIR (default build), JOBS (default nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
