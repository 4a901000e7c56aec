#!/usr/bin/env bash
# The whole torchvision zoo through the `surgery` tool: exports every model of
# tests/models/export_zoo.py at opsets 13 and 17 and with a dynamic batch axis (at the model's
# default opset), then runs tests/models/zoo_check.py on all of them (inspect, run vs PyTorch, lite
# --preset exact / lite with the ONNX checker and the targets left, ONNX Runtime vs `surgery run` on
# every model written; all of it on the dynamic-batch variants too, at batch 3) and writes
# docs/zoo.md (date, machine, commit, per-variant PASS/FAIL per step, errors, timings, op counts
# before/after lite, every failure with its command line, failures grouped by cause).
#
#   scripts/zoo_sweep.sh [--surgery PATH] [--zoo DIR] [--work DIR] [--markdown FILE] [--json FILE]
#                        [--models a,b] [--no-export] [--no-ort] [-- ZOO_CHECK_ARGS...]
#
#   --surgery PATH   the tool (default build/tools/surgery; build it first: cmake --build build --target surgery_cli)
#   --zoo DIR        export directory (default build/zoo-full; exports are cached there by export_zoo.py's
#                    stamp file, so a second sweep only re-runs the checks; about 9 GB for the whole zoo)
#   --work DIR       zoo_check.py's work directory (default build/zoo-sweep; the written models are
#                    deleted after each variant)
#   --markdown FILE  default docs/zoo.md; --json FILE default WORK/zoo_check.json
#   --models a,b     only these models (all their variants)
#   --no-export      use the exports already in --zoo as they are
#   --no-ort         skip the ONNX Runtime checks (otherwise ORT is required: scripts/deps.sh ort)
# Anything after `--` goes to zoo_check.py (e.g. --jobs 2, --keep, --dynamic-steps run).
#
# Runs under `nice -n 10` (a shared machine). Takes hours on 2 cores: exporting is about 1-2 min per
# variant the first time, checking from seconds (small CNNs) to many minutes (Swin, MaxViT).
# Exit status: zoo_check.py's (0 all checks passed, 1 some failed, 2 usage/environment); the
# Markdown is written either way.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

surgery=build/tools/surgery zoo=build/zoo-full work=build/zoo-sweep markdown=docs/zoo.md json=
models= export=1 ort=1 extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --surgery) surgery=$2; shift ;;
    --zoo) zoo=$2; shift ;;
    --work) work=$2; shift ;;
    --markdown) markdown=$2; shift ;;
    --json) json=$2; shift ;;
    --models) models=$2; shift ;;
    --no-export) export=0 ;;
    --no-ort) ort=0 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "zoo_sweep: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
json=${json:-$work/zoo_check.json}
py=/usr/bin/python3
if [[ ! -x $surgery ]]; then
  echo "zoo_sweep: no surgery tool at '$surgery': build it (cmake --build build --target surgery_cli) or pass --surgery PATH" >&2
  exit 2
fi
if ! $py -c 'import numpy, onnx' 2>/dev/null; then
  echo "zoo_sweep: $py needs python3-numpy and python3-onnx (scripts/deps.sh tests)" >&2
  exit 2
fi

sel=()
[[ -n $models ]] && sel=(--models "$models")
t0=$SECONDS
if ((export)); then
  # Two runs: every model at opsets 13 and 17 (STEM for the model's default opset, STEM_opsetN for
  # the other), then every model with a dynamic batch axis at its default opset (STEM_dyn).
  # --allow-failures: a model that does not export is recorded in the manifest and reported by
  # zoo_check.py as an `export` failure.
  echo "+ export_zoo.py --opsets 13,17 ${sel[*]} --out $zoo"
  nice -n 10 $py tests/models/export_zoo.py --out "$zoo" --opsets 13,17 "${sel[@]}" --allow-failures || exit 2
  echo "+ export_zoo.py --dynamic-batch ${sel[*]} --out $zoo"
  nice -n 10 $py tests/models/export_zoo.py --out "$zoo" --dynamic-batch "${sel[@]}" --allow-failures || exit 2
fi
t1=$SECONDS
echo "zoo_sweep: exports ready in $((t1 - t0)) s"

# Every step on the dynamic-batch variants too (rewriting with a symbolic batch dim is worth checking).
args=(--surgery "$surgery" --zoo "$zoo" --work "$work" --json "$json" --markdown "$markdown" --opsets 13,17
      --dynamic-steps all --export-seconds "$((t1 - t0))")
[[ -n $models ]] && args+=(--models "$models")
((ort)) || args+=(--no-ort)
echo "+ zoo_check.py ${args[*]} ${extra[*]}"
nice -n 10 $py tests/models/zoo_check.py "${args[@]}" "${extra[@]}"
rc=$?
echo "zoo_sweep: exports $((t1 - t0)) s, checks $((SECONDS - t1)) s; wrote $markdown and $json (exit $rc)"
exit $rc
