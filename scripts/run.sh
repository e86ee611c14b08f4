#!/usr/bin/env bash
# The README's main job: install dependencies, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/bin/engine_demo cpu
