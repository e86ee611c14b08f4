#!/usr/bin/env bash
# Installs everything lpl needs on a fresh Debian 12 machine (run as root, or with sudo available).
#   scripts/setup.sh          engine build + test dependencies and the Fashion-MNIST dataset
#   scripts/setup.sh --tools  also the Python packages used by tools/ (PyTorch comparisons, plots), and
#                             tools/.venv: Debian's Python with its packages plus the PyPI-only ones
#                             (tensorboard, safetensors) for tools/check_tb_events.py, make_tb_golden.py,
#                             check_safetensors.py --official
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
PKGS=(build-essential cmake pkg-config libdnnl-dev libfmt-dev doctest-dev libstb-dev openmpi-bin libopenmpi-dev
      nlohmann-json3-dev libhdf5-dev zlib1g-dev dataset-fashion-mnist python3 python3-numpy python3-matplotlib
      python3-h5py  # scripts/figures.sh writes its small 3dshapes.h5 with it (tools/make_shapes3d_small.py)
      curl ca-certificates  # curl: CIFAR-10 / STL-10 downloads
      clang libclang-rt-14-dev)  # libFuzzer for scripts/fuzz.sh and ctest fuzz.* (skipped without them)
if [ "${1:-}" = "--tools" ]; then
  PKGS+=(python3-torch python3-torchvision python3-opencv python3-scipy python3-sklearn python3-venv)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present"
if [ "${1:-}" = "--tools" ]; then
  ROOT=$(cd "$(dirname "$0")/.." && pwd)
  if [ ! -x "$ROOT/tools/.venv/bin/python3" ]; then /usr/bin/python3 -m venv --system-site-packages "$ROOT/tools/.venv"; fi
  "$ROOT/tools/.venv/bin/pip" install -q tensorboard safetensors
  echo "setup: PyPI tools in tools/.venv (run e.g. tools/.venv/bin/python3 tools/check_tb_events.py RUN_DIR)"
fi
