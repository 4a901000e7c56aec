#!/usr/bin/env bash
# Builds and runs every benchmark of docs/benchmarks.md, then prints its tables and redraws its plot.
#
#   bench/run_all.sh [BUILD_DIR]          (default: build-bench; results in BUILD_DIR/bench-results/)
#
# Environment: REPS (Google Benchmark repetitions, default 3), SURGERY_BENCH_VF2_MAX (largest graph
# VF2 runs on, default 1e5), SKIP_PYTORCH=1, SKIP_COMPILE_TIME=1, OPENBLAS_DIR=<dir with OpenBLAS's
# libblas.so.3> for a PyTorch + OpenBLAS column (see bench/compare_pytorch.py).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-bench}"
out="$build/bench-results"
reps="${REPS:-3}"
mkdir -p "$out"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSURGERY_BUILD_BENCHMARKS=ON -DSURGERY_WITH_ONNX=ON \
  -DSURGERY_BUILD_TESTS=OFF -DSURGERY_BUILD_EXAMPLES=OFF -DSURGERY_BUILD_TOOLS=OFF -DSURGERY_INSTALL=OFF > "$out/cmake.log"
cmake --build "$build" -j2 > "$out/build.log"

if [[ ! -f "$build/models/mobilenet_v3_large.onnx" || ! -f "$build/models/convnext_tiny.onnx" || ! -f "$build/models/efficientnet_b0.onnx" ]]; then
  /usr/bin/python3 "$root/tests/models/export_models.py" --out "$build/models" --models mobilenet_v3_large,efficientnet_b0,convnext_tiny
fi

{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
  echo "compiler: $(${CXX:-g++} --version | head -1)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/context.txt"
step() { echo "== $1 ($(date +%T), load $(cut -d' ' -f1 /proc/loadavg))" >&2; echo "$1 started at $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/context.txt"; }

gb=(--benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true --benchmark_out_format=json)
step bench_search
"$build/bench/bench_search" "${gb[@]}" --benchmark_out="$out/search.json" > "$out/search.txt"
step bench_rewrite
"$build/bench/bench_rewrite" "${gb[@]}" --benchmark_out="$out/rewrite.json" > "$out/rewrite.txt"
onnx_json=()
if [[ -x "$build/bench/bench_onnx" ]]; then
  step bench_onnx
  "$build/bench/bench_onnx" "${gb[@]}" --benchmark_out="$out/onnx.json" > "$out/onnx.txt"
  onnx_json=(--onnx "$out/onnx.json")
fi
if [[ "${SKIP_PYTORCH:-0}" != 1 && -x "$build/bench/compare_executor" ]]; then
  step compare_pytorch.py
  ob=()
  [[ -n "${OPENBLAS_DIR:-}" ]] && ob=(--openblas-dir "$OPENBLAS_DIR")
  /usr/bin/python3 "$root/bench/compare_pytorch.py" --build "$build" --json "$out/pytorch.json" "${ob[@]}" > "$out/pytorch.md"
fi
if [[ "${SKIP_COMPILE_TIME:-0}" != 1 ]]; then
  step compile_time.sh
  "$root/bench/compile_time.sh" --runs 3 > "$out/compile_time.md"
fi

/usr/bin/python3 "$root/bench/report.py" --search "$out/search.json" --rewrite "$out/rewrite.json" "${onnx_json[@]}" \
  --plot "$root/docs/benchmarks_search.svg" > "$out/report.md"
echo "finished at $(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/context.txt"
cat "$out/context.txt"
cat "$out/report.md"
[[ -f "$out/pytorch.md" ]] && cat "$out/pytorch.md"
[[ -f "$out/compile_time.md" ]] && cat "$out/compile_time.md"
echo "results: $out" >&2
