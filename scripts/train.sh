#!/usr/bin/env bash
# Trains the paper's networks on Fashion-MNIST (CPU), measures the lite baselines and exports ONNX models:
# installs what is missing (scripts/deps.sh data tests), then runs tests/models/train_fmnist.py niced.
#
#   scripts/train.sh OUT_DIR            all six networks, 900 s budget each (hours on a shared 2-core machine)
#   scripts/train.sh OUT_DIR --quick    CI mode: MobileNetV3-Small only, a short run (a few minutes)
#
# Further options go to the script (see `tests/models/train_fmnist.py --help`), e.g. --models a,b,
# --budget-seconds S, --steps NAME=N, --threads N, --opset N, --force. Reruns with the same options
# reuse what OUT_DIR holds. Results: OUT_DIR/results.json and results.md. NICE sets the niceness (10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -lt 1 || $1 == -h || $1 == --help || $1 == -* ]]; then
  sed -n '2,10s/^# \{0,1\}//p' "$0"
  [[ $# -ge 1 && ($1 == -h || $1 == --help) ]] && exit 0
  exit 2
fi
out=$1
shift

scripts/deps.sh data tests
echo "+ nice -n ${NICE:-10} /usr/bin/python3 tests/models/train_fmnist.py --out $out $*"
exec nice -n "${NICE:-10}" /usr/bin/python3 tests/models/train_fmnist.py --out "$out" "$@"
