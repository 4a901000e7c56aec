#!/usr/bin/env bash
# Scaling from 1e3 to 1e6 nodes (docs/benchmarks.md, "Scale"): chains written by bench/scale_model.py,
# then for each size
#   - bench_scale: load / rewrite (preset lite) / verify / save (and the part of save spent in
#     libonnx's check), each timed in one process, with the peak resident size when the phase ends;
#   - the CLI under /usr/bin/time (wall time, CPU time user + system, peak RSS): `surgery inspect`,
#     `surgery lite --preset lite`, the same with --check, and `surgery run`.
# Medians over REPS runs (default 3; the runs of a size are interleaved). CPU time is given beside wall
# time because a shared machine's load inflates the latter. Not a timed test.
#
#   bench/scale.sh [BUILD_DIR] [SIZES...]    (default: build; sizes 1000 10000 100000 1000000)
#
# BUILD_DIR must hold tools/surgery and bench/bench_scale (configure with -DSURGERY_BUILD_BENCHMARKS=ON,
# then build the targets surgery_cli and bench_scale). Models and results go to $SCALE_DIR (default
# /tmp/surgery-scale). Environment: REPS, PYTHON (default /usr/bin/python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
shift || true
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 10000 100000 1000000)
reps="${REPS:-3}"
py="${PYTHON:-/usr/bin/python3}"
dir="${SCALE_DIR:-/tmp/surgery-scale}"
cli="$build/tools/surgery"
bench="$build/bench/bench_scale"
mkdir -p "$dir"
for exe in "$cli" "$bench"; do
  [[ -x "$exe" ]] || { echo "scale.sh: $exe is missing (see the header of this script)" >&2; exit 2; }
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# Runs a command under /usr/bin/time; appends "wall_s max_rss_mb cpu_s" to the file $1.
timed() {
  local out="$1"; shift
  /usr/bin/time -f "%e %M %U %S" -o "$dir/time.txt" "$@" > "$dir/last.log" 2>&1 || { echo "failed: $*" >&2; cat "$dir/last.log" >&2; exit 1; }
  awk '{printf "%s %.0f %.2f\n", $1, $2 / 1024, $3 + $4}' "$dir/time.txt" >> "$out"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; memory $(free -g | awk '/Mem:/ {print $2}') GB"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "reps: $reps"
} | tee "$dir/context.txt"

for n in "${sizes[@]}"; do
  model="$dir/chain$n.onnx"
  [[ -f "$model" ]] || "$py" "$root/bench/scale_model.py" "$n" "$model"
  rm -f "$dir/$n".*.txt
  for ((r = 0; r < reps; r++)); do
    "$bench" "$model" "$dir/out$n.onnx" lite >> "$dir/$n.phases.txt"
    timed "$dir/$n.inspect.txt" "$cli" inspect "$model"
    timed "$dir/$n.lite.txt" "$cli" lite "$model" -o "$dir/lite$n.onnx" --preset lite
    timed "$dir/$n.check.txt" "$cli" lite "$model" -o "$dir/lite$n.onnx" --preset lite --check
    timed "$dir/$n.run.txt" "$cli" run "$model"
  done
done

field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i+1)}' "$2" | median; }
col() { awk -v c="$1" '{print $c}' "$2" | median; }

echo
sum() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {printf "%.2f", a + b + c + d}'; }
echo "In-process phases (bench_scale, preset lite): wall s (CPU s), and the peak RSS in MB when the phase ends:"
echo
echo "| nodes | load | rewrite | verify | save | total | of which libonnx's check (in save) | total without the check | peak RSS MB (load / rewrite / verify / save) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for n in "${sizes[@]}"; do
  f="$dir/$n.phases.txt"
  row="| $n"
  for p in load rewrite verify save; do row="$row | $(field ${p}_s "$f") ($(field ${p}_cpu_s "$f"))"; done
  total="$(sum "$(field load_s "$f")" "$(field rewrite_s "$f")" "$(field verify_s "$f")" "$(field save_s "$f")")"
  total_cpu="$(sum "$(field load_cpu_s "$f")" "$(field rewrite_cpu_s "$f")" "$(field verify_cpu_s "$f")" "$(field save_cpu_s "$f")")"
  check="$(field check_s "$f")"
  without="$(awk -v t="$total" -v c="$check" 'BEGIN {printf "%.2f", t - c}')"
  echo "$row | $total ($total_cpu) | $check ($(field check_cpu_s "$f")) | $without | $(field load_rss_mb "$f") / $(field rewrite_rss_mb "$f") / $(field verify_rss_mb "$f") / $(field save_rss_mb "$f") |"
done
echo
echo "The CLI: wall s (CPU s) / peak RSS MB:"
echo
echo "| nodes | inspect | lite --preset lite | lite --preset lite --check | run |"
echo "|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  row="| $n"
  for c in inspect lite check run; do row="$row | $(col 1 "$dir/$n.$c.txt") ($(col 3 "$dir/$n.$c.txt")) / $(col 2 "$dir/$n.$c.txt") MB"; done
  echo "$row |"
done
