#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang++-14 in build-fuzz/ and runs each for SECONDS.
#
#   scripts/fuzz.sh [SECONDS]       default 60 seconds per target
#   scripts/fuzz.sh --smoke         CI: the targets built with warnings as errors, then CTest's smoke
#                                   entries (label `fuzz`: a fixed number of inputs from the seeds)
#
# Environment: FUZZERS="fuzz_npy fuzz_rule_text ..." picks targets (default: all six: fuzz_npy,
# fuzz_rule_text, fuzz_onnx_tensor, fuzz_onnx_load, and the command line's fuzz_cli_run (a model and
# .npy inputs through `surgery run`) and fuzz_cli_lite (text rules through `surgery lite`));
# JOBS build parallelism (default 1, --smoke: all cores); CLANG (default clang++-14);
# FUZZ_KEEP_GOING=1 keeps fuzzing past a finding (libFuzzer fork mode) to collect several;
# FUZZ_OPTIONS adds libFuzzer flags.
# The corpus grows in build-fuzz/tests/fuzz/corpus/<target>/ across runs; findings are written to
# build-fuzz/tests/fuzz/artifacts/ (crash-*, leak-*, timeout-*, oom-*). Replay one with
# `build-fuzz/tests/fuzz/<target> <file>`. Exits 1 when any target had a finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

smoke=0
if [[ ${1:-} == --smoke ]]; then
  smoke=1
  shift
fi
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }
fuzzers=(${FUZZERS:-fuzz_npy fuzz_rule_text fuzz_onnx_tensor fuzz_onnx_load fuzz_cli_run fuzz_cli_lite})
jobs=${JOBS:-1}
((smoke)) && jobs=${JOBS:-$(nproc)}
build=build-fuzz
dir=$build/tests/fuzz

scripts/deps.sh core onnx clang

echo "+ cmake -S . -B $build (clang, fuzzers on)"
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="${CLANG:-clang++-14}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSURGERY_BUILD_FUZZERS=ON -DSURGERY_WITH_ONNX=ON -DSURGERY_BUILD_TESTS=ON -DSURGERY_BUILD_TOOLS=OFF \
  -DSURGERY_BUILD_EXAMPLES=OFF -DSURGERY_CHECK_HEADERS=OFF -DSURGERY_WERROR=$((smoke ? 1 : 0)) >/dev/null
echo "+ cmake --build $build --target ${fuzzers[*]} --parallel $jobs"
cmake --build "$build" --target "${fuzzers[@]}" --parallel "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
if ((smoke)); then
  # The smoke entries of the chosen targets, after the fixture that empties their smoke corpus.
  regex="^(fuzz_smoke_reset|$(IFS='|'; echo "${fuzzers[*]}"))\$"
  echo "+ ctest --test-dir $build -L fuzz -R '$regex'"
  exec ctest --test-dir "$build" -L fuzz -R "$regex" --output-on-failure
fi

# Seed folder (under build-fuzz/tests/fuzz/) and libFuzzer dictionary of each target.
declare -A seeds=([fuzz_npy]=seeds/npy [fuzz_rule_text]=seeds/rule [fuzz_onnx_tensor]=seeds/tensor [fuzz_onnx_load]=seeds/onnx
                  [fuzz_cli_run]=seeds-cli/cli_run [fuzz_cli_lite]=seeds/rule)
declare -A dict=([fuzz_npy]=npy [fuzz_rule_text]=rule [fuzz_onnx_load]=onnx [fuzz_cli_lite]=rule)
mkdir -p "$dir/artifacts"
failed=()
for f in "${fuzzers[@]}"; do
  [[ -n ${seeds[$f]:-} ]] || { echo "fuzz.sh: unknown target '$f'" >&2; exit 2; }
  args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$dir/artifacts/$f-")
  [[ -n ${dict[$f]:-} ]] && args+=(-dict="$dir/seeds/${dict[$f]}.dict")
  [[ ${FUZZ_KEEP_GOING:-0} == 1 ]] && args+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  mkdir -p "$dir/corpus/$f"
  before=$(find "$dir/artifacts" -name "$f-*" | wc -l)
  log=$dir/$f.log
  echo
  echo "==== fuzz.sh: $f for $seconds s (log: $log)"
  rc=0
  # shellcheck disable=SC2086 # FUZZ_OPTIONS is a list of flags
  "$dir/$f" "${args[@]}" ${FUZZ_OPTIONS:-} "$dir/corpus/$f" "$dir/${seeds[$f]}" >"$log" 2>&1 || rc=$?
  grep -E '^(stat::|Done |INFO: fuzzed for|#[0-9]+.*DONE)' "$log" || true
  after=$(find "$dir/artifacts" -name "$f-*" | wc -l)
  if ((rc != 0 || after > before)); then
    echo "==== fuzz.sh: $f: FINDING (exit $rc); the report:"
    grep -E -A12 'runtime error|ERROR: (Address|Leak|libFuzzer)|FINDING' "$log" | head -40 || true
    grep -E 'Test unit written to' "$log" || true
    failed+=("$f")
  fi
done

echo
if ((${#failed[@]})); then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs in $dir/artifacts/)"
  exit 1
fi
echo "fuzz.sh: no findings in ${fuzzers[*]} ($seconds s each)"
