#!/usr/bin/env bash
# The paper's Table 1 on Fashion-MNIST (docs/results.md): trains the networks (scripts/train.sh, cached
# in OUT_DIR), then measures them through the surgery tool (tests/models/results_table.py): top-1 of
# the original, lite and recovered models, PyTorch's BatchNorm re-estimation and fine-tuning,
# parameters, MACs, executor and ONNX Runtime latency, matches per rule.
#
#   scripts/results.sh OUT_DIR [train_fmnist.py options, e.g. --budget-seconds 480 --models a,b]
#
# Needs a built tool (build/tools/surgery, or $SURGERY). Hours on a 2-core machine with the default
# 900 s budget per network. Writes docs/results.md's tables into OUT_DIR/results_table.md and
# OUT_DIR/results_table.json; copy them into docs/results.md with the run's date and budget.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $# -lt 1 || $1 == -* ]]; then
  sed -n '2,11s/^# \{0,1\}//p' "$0"
  exit 2
fi
out=$1
shift
surgery=${SURGERY:-build/tools/surgery}
[[ -x $surgery ]] || { echo "results.sh: $surgery not found: build the tool first (scripts/test.sh) or set SURGERY" >&2; exit 2; }
scripts/deps.sh data tests ort
scripts/train.sh "$out" "$@"
nice -n "${NICE:-10}" /usr/bin/python3 tests/models/results_table.py --train "$out" --surgery "$surgery" --ort-dir .deps/ort \
  --work "$out/results_work" --out "$out/results_table.md" --json "$out/results_table.json"
