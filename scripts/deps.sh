#!/usr/bin/env bash
# Installs the Debian packages model-surgery needs, only those missing.
#
#   scripts/deps.sh [GROUP...]     groups: core onnx tests bench clang ort data all   (default: core onnx)
#
#   core   the header-only library and its unit tests (compiler, CMake, Boost.Graph, Eigen, doctest)
#   onnx   surgery::onnx, the CLI and the ONNX tests (libonnx, protobuf)
#   tests  what the real-network tests need (ONNX test data, PyTorch/torchvision to export models, Graphviz)
#   bench  the Google Benchmark micro-benchmarks
#   clang  clang-14, for the warning-free clang build of the core (clang 14 cannot compile
#          libstdc++ 12's std::views, so the core headers avoid them), and its sanitizer and
#          libFuzzer runtimes (libclang-rt-14-dev, only recommended by clang-14) for scripts/fuzz.sh
#   ort    ONNX Runtime, the tests' independent oracle and speed baseline (tests/tools/ort_run.mjs):
#          the npm package onnxruntime-node@$ORT_VERSION (its CPU library for linux x64 is inside
#          the package) installed into $SURGERY_ORT_DIR, default .deps/ort/ at the repository root
#          (git-ignored; shared by every build folder and kept when one is wiped). Needs node and
#          npm: Debian's nodejs and npm are installed only when the commands are missing.
#   data   real data for accuracy measurements: Fashion-MNIST (dataset-fashion-mnist, gzipped IDX
#          files under /usr/share/datasets/fashion-mnist) and the opt-in decoders of
#          surgery/io/gzip.hpp (zlib) and surgery/io/image.hpp (stb_image); scripts/train.sh
#
# As root it runs `apt-get update` once and `apt-get install`; otherwise it prints the sudo command
# to run and exits 1. The npm step needs no root and is skipped when the pinned version is present.
set -euo pipefail

# onnxruntime-node: pinned; works with node 20 (N-API 6 binding, glibc 2.36). Its install script
# downloads GPU providers from a host that cannot be reached, so it is skipped (--ignore-scripts).
ORT_VERSION=1.30.0
ORT_DIR=${SURGERY_ORT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.deps/ort}

declare -A GROUP=(
  [core]="cmake g++ make libboost-graph-dev libeigen3-dev doctest-dev"
  [onnx]="libonnx-dev libprotobuf-dev protobuf-compiler"
  [tests]="libonnx-testdata python3-torch python3-torchvision python3-onnx python3-numpy graphviz libopenblas0-pthread"
  [bench]="libbenchmark-dev"
  [clang]="clang-14 libclang-rt-14-dev"
  [data]="dataset-fashion-mnist zlib1g-dev libstb-dev"
  [ort]=""  # Debian packages decided below: nodejs/npm only if missing; then the npm step
)

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(core onnx)
wanted=()
for g in "${groups[@]}"; do
  if [[ $g == all ]]; then
    for k in core onnx tests bench clang data; do read -ra p <<<"${GROUP[$k]}"; wanted+=("${p[@]}"); done
    want_ort=1
  elif [[ $g == ort ]]; then
    want_ort=1
  elif [[ -n ${GROUP[$g]:-} ]]; then
    read -ra p <<<"${GROUP[$g]}"; wanted+=("${p[@]}")
  else
    echo "deps.sh: unknown group '$g' (groups: core onnx tests bench clang ort data all)" >&2
    exit 2
  fi
done

# node and npm may come from elsewhere than Debian (e.g. a nodejs package that bundles npm, which
# Debian's npm would conflict with): ask for Debian's packages only when a command is missing.
ort_ready() {
  local pj="$ORT_DIR/node_modules/onnxruntime-node/package.json"
  [[ -f $pj ]] && grep -q "\"version\": *\"$ORT_VERSION\"" "$pj"
}
if [[ -n ${want_ort:-} ]] && ! ort_ready; then
  command -v node >/dev/null || wanted+=(nodejs)
  command -v npm >/dev/null || wanted+=(npm)
fi

# The npm step, after the Debian packages (no root needed; quick when the pinned version is there).
install_ort() {
  [[ -n ${want_ort:-} ]] || return 0
  if ort_ready; then
    echo "deps.sh: onnxruntime-node@$ORT_VERSION is installed in $ORT_DIR"
    return 0
  fi
  mkdir -p "$ORT_DIR"
  echo "+ npm install --ignore-scripts --no-audit --no-fund --prefix $ORT_DIR onnxruntime-node@$ORT_VERSION"
  npm install --ignore-scripts --no-audit --no-fund --prefix "$ORT_DIR" "onnxruntime-node@$ORT_VERSION"
  if ! ort_ready; then
    echo "deps.sh: npm did not install onnxruntime-node@$ORT_VERSION into $ORT_DIR" >&2
    exit 1
  fi
}

missing=()
for pkg in "${wanted[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) != "install ok installed" ]]; then
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all packages for [${groups[*]}] are installed"
  install_ort
  exit 0
fi

echo "deps.sh: missing for [${groups[*]}]: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: not root; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "+ apt-get update"
apt-get update -q
echo "+ apt-get install -y --no-install-recommends ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"
install_ort
