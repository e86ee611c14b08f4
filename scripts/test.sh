#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run ctest. (The README's test command; CI runs it.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh "$@"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
