#!/usr/bin/env bash
# Installs the Debian 12 packages Sparsity Explorer needs. Idempotent: silent when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  qt6-base-dev qt6-base-dev-tools libgl-dev
  libtorch-dev libqcustomplot-dev libopencv-dev zlib1g-dev
  dataset-fashion-mnist
  clang libclang-rt-14-dev  # libFuzzer for scripts/fuzz-smoke.sh
  python3-torch python3-torchvision
  libonnx-dev libprotobuf-dev python3-onnx  # ONNX import/export (graph/onnximport.cpp) and the tests' ONNX fixtures
  fonts-dejavu-core
  libgraphviz-dev  # Graphviz libgvc: the Graph view's layered layout
  libgloo-dev  # Gloo headers that LibTorch's c10d ProcessGroupGloo.hpp includes (distributed training)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
