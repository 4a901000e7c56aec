#!/usr/bin/env bash
# Installs the Debian packages model-surgery needs, only those missing.
#
#   scripts/deps.sh [GROUP...]     groups: core onnx tests bench clang all   (default: core onnx)
#
#   core   the header-only library and its unit tests (compiler, CMake, Boost.Graph, Eigen, doctest)
#   onnx   surgery::onnx, the CLI and the ONNX tests (libonnx, protobuf)
#   tests  what the real-network tests need (ONNX test data, PyTorch/torchvision to export models, Graphviz)
#   bench  the Google Benchmark micro-benchmarks
#   clang  clang-14, for the warning-free clang build of the core (clang 14 cannot compile
#          libstdc++ 12's std::views, so the core headers avoid them), and its sanitizer and
#          libFuzzer runtimes (libclang-rt-14-dev, only recommended by clang-14) for scripts/fuzz.sh
#
# As root it runs `apt-get update` once and `apt-get install`; otherwise it prints the sudo command
# to run and exits 1.
set -euo pipefail

declare -A GROUP=(
  [core]="cmake g++ make libboost-graph-dev libeigen3-dev doctest-dev"
  [onnx]="libonnx-dev libprotobuf-dev protobuf-compiler"
  [tests]="libonnx-testdata python3-torch python3-torchvision python3-onnx python3-numpy graphviz"
  [bench]="libbenchmark-dev"
  [clang]="clang-14 libclang-rt-14-dev"
)

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(core onnx)
wanted=()
for g in "${groups[@]}"; do
  if [[ $g == all ]]; then
    for k in core onnx tests bench clang; do read -ra p <<<"${GROUP[$k]}"; wanted+=("${p[@]}"); done
  elif [[ -n ${GROUP[$g]:-} ]]; then
    read -ra p <<<"${GROUP[$g]}"; wanted+=("${p[@]}")
  else
    echo "deps.sh: unknown group '$g' (groups: core onnx tests bench clang all)" >&2
    exit 2
  fi
done

missing=()
for pkg in "${wanted[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) != "install ok installed" ]]; then
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all packages for [${groups[*]}] are installed"
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
