#!/usr/bin/env bash
# Tests the ONNX Runtime oracle itself (tests/tools/ort_run.mjs) against NumPy, on tiny models made
# with onnx.helper (tests/tools/ort_cases.py): Conv+Relu (float32, two outputs), int64 shape
# arithmetic (Shape/Gather/Unsqueeze/Concat/Reshape, an int64 input, a 0-d output), int32/bool
# inputs and outputs read from .npy format 2.0 and 3.0 files; --check-against, --fetch, --outputs,
# --output-dir, --repeat/--timing-json, the optimisation levels and thread counts, and the errors.
#
#   tests/tools/test_ort_run.sh WORKDIR -- ORT_RUN...
#
# ORT_RUN is the command prefix that runs the script (CMake's SURGERY_ORT_RUN), e.g.
#   tests/tools/test_ort_run.sh /tmp/ortt -- node tests/tools/ort_run.mjs --ort-dir .deps/ort
# PYTHON (default /usr/bin/python3) needs python3-onnx and python3-numpy; without them, or without
# onnxruntime-node, the test exits 77 (skipped). The last line is "N passed, N failed".
set -uo pipefail

if [[ $# -lt 3 || $2 != -- ]]; then
  echo "usage: $0 WORKDIR -- ORT_RUN..." >&2
  exit 2
fi
work=$1
shift 2
ort=("$@")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=${PYTHON:-/usr/bin/python3}
cases=("$py" "$here/ort_cases.py")

rm -rf "$work" && mkdir -p "$work/data" "$work/out" || exit 3
"${cases[@]}" make "$work/data"
rc=$?
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || { echo "test_ort_run: making the test models failed (exit $rc)" >&2; exit 1; }
"${ort[@]}" "$work/data/conv_relu.onnx" --input "$work/data/conv_x.npy" --quiet >/dev/null 2>"$work/probe.err"
rc=$?
if [[ $rc -eq 77 ]]; then
  cat "$work/probe.err" >&2
  exit 77
fi

D=$work/data O=$work/out
passed=0 failed=0

# expect NAME RC STDOUT_REGEX STDERR_REGEX -- ORT_RUN_ARGS...  (regexes span lines; "" = any)
expect() {
  local name=$1 want=$2 out_re=${3:-} err_re=${4:-}
  shift 4
  [[ ${1:-} == -- ]] && shift
  "${ort[@]}" "$@" >"$O/$name.out" 2>"$O/$name.err"
  local got=$? why=
  [[ $got -eq $want ]] || why="exit $got, expected $want"
  if [[ -z $why && -n $out_re ]] && ! grep -Ezq -- "$out_re" "$O/$name.out"; then why="stdout does not match /$out_re/"; fi
  if [[ -z $why && -n $err_re ]] && ! grep -Ezq -- "$err_re" "$O/$name.err"; then why="stderr does not match /$err_re/"; fi
  if [[ -z $why && $want -ne 0 && $(wc -l <"$O/$name.err") -ne 1 ]]; then why="the error is not one line on stderr"; fi
  report "$name" "$why"
}
# check NAME COMMAND...: the command must succeed
check() {
  local name=$1
  shift
  if "$@" >"$O/$name.chk" 2>&1; then report "$name" ""; else report "$name" "$(tr '\n' ' ' <"$O/$name.chk")"; fi
}
report() {
  if [[ -z $2 ]]; then
    echo "ok   $1"
    passed=$((passed + 1))
  else
    echo "FAIL $1: $2"
    for f in "$O/$1.out" "$O/$1.err"; do [[ -s $f ]] && sed 's/^/    | /' "$f"; done
    failed=$((failed + 1))
  fi
}
same() { "${cases[@]}" same "$@"; }

# ---- Conv + Relu ---------------------------------------------------------------------------------
expect conv.output_dir 0 "output y: float32 \[1,4,8,8\] -> .*y\.npy" "" -- "$D/conv_relu.onnx" --input "x=$D/conv_x.npy" --output-dir "$O/conv"
check conv.y_vs_numpy same "$O/conv/y.npy" "$D/conv_y_ref.npy" 1e-5 1e-5
check conv.z_vs_numpy same "$O/conv/z.npy" "$D/conv_z_ref.npy" 1e-5 1e-5
expect conv.check_against 0 "check y: max_abs [0-9.e+-]+, max_rel [0-9.e+-]+ .*ok" "" -- \
  "$D/conv_relu.onnx" --input "$D/conv_x.npy" --check-against "$D/conv_y_ref.npy,$D/conv_z_ref.npy" --rtol 1e-5 --atol 1e-5
expect conv.check_mismatch 1 "check y: max_abs 0\.5.*worst at flat index 83: .*MISMATCH" "1 of 2 output\(s\) differ" -- \
  "$D/conv_relu.onnx" --input "$D/conv_x.npy" --check-against "$D/conv_y_bad.npy,$D/conv_z_ref.npy"
expect conv.check_swapped 1 "check y: .*MISMATCH" "" -- \
  "$D/conv_relu.onnx" --input "$D/conv_x.npy" --check-against "$D/conv_z_ref.npy,$D/conv_y_ref.npy"
expect conv.fetch 0 "check z: .* ok" "" -- "$D/conv_relu.onnx" --input "$D/conv_x.npy" --fetch z --check-against "$D/conv_z_ref.npy"
expect conv.outputs_by_name 0 "output z: .*zz\.npy.*output y" "" -- "$D/conv_relu.onnx" --input "$D/conv_x.npy" --fetch z,y --outputs "y=$O/yy.npy,$O/zz.npy"
check conv.outputs_by_name_files same "$O/yy.npy" "$D/conv_y_ref.npy" 1e-5 1e-5
for opt in disabled basic all; do
  for th in 1 2; do
    expect "conv.opt_${opt}_threads_$th" 0 "check y: .* ok" "" -- "$D/conv_relu.onnx" --input "$D/conv_x.npy" \
      --opt "$opt" --threads "$th" --check-against "$D/conv_y_ref.npy,$D/conv_z_ref.npy" --rtol 1e-5 --atol 1e-5
  done
done
expect conv.repeat 0 '^\{"model":.*"median_ms":[0-9.]+.*"runs_ms":\[' "" -- \
  "$D/conv_relu.onnx" --input "$D/conv_x.npy" --repeat 5 --warmup 2 --quiet --timing-json "$O/timing.json"
check conv.repeat_json "${cases[@]}" timing "$O/timing.json" 5
expect conv.save_optimized 0 "" "" -- "$D/conv_relu.onnx" --input "$D/conv_x.npy" --quiet --save-optimized "$O/conv_opt.onnx"
check conv.optimized_model_exists test -s "$O/conv_opt.onnx"

# ---- int64 shape arithmetic --------------------------------------------------------------------
expect shape.positional 0 "input x <- .*float32 \[2,3,4\].*input idx <- .*int64 \[2\]" "" -- \
  "$D/shape_ops.onnx" --input "$D/shape_x.npy" --input "$D/shape_idx.npy" --outputs "$O/sy.npy,$O/ss.npy,$O/sn0.npy,$O/sg.npy"
check shape.y_vs_numpy same "$O/sy.npy" "$D/shape_y_ref.npy" 0 0
check shape.s_int64 same "$O/ss.npy" "$D/shape_s_ref.npy"
check shape.n0_0d_int64 same "$O/sn0.npy" "$D/shape_n0_ref.npy"
check shape.g_vs_numpy same "$O/sg.npy" "$D/shape_g_ref.npy" 0 0
expect shape.named_reversed 0 "check s: max_abs 0, max_rel 0 .* ok" "" -- \
  "$D/shape_ops.onnx" --input "idx=$D/shape_idx.npy" --input "$D/shape_x.npy" \
  --check-against "$D/shape_y_ref.npy,$D/shape_s_ref.npy,$D/shape_n0_ref.npy,$D/shape_g_ref.npy" --rtol 0 --atol 0
expect shape.int_mismatch 1 "check s: max_abs 1, .*MISMATCH" "" -- \
  "$D/shape_ops.onnx" --inputs "$D/shape_x.npy,$D/shape_idx.npy" --fetch s --check-against "$D/shape_s_bad.npy"
expect shape.shape_mismatch 1 "check n0: shape \[\] but .* has shape \[3\]  MISMATCH" "" -- \
  "$D/shape_ops.onnx" --inputs "$D/shape_x.npy,$D/shape_idx.npy" --fetch n0 --check-against "$D/shape_s_ref.npy"

# ---- int32 / bool, .npy 2.0 and 3.0 ------------------------------------------------------------
expect dtypes.run 0 "input a <- .*int32 \[5\].*input b <- .*bool \[5\]" "" -- \
  "$D/dtypes.onnx" --input "b=$D/dtypes_b_v3.npy" --input "$D/dtypes_a_v2.npy" --output-dir "$O/dtypes"
check dtypes.both_bool same "$O/dtypes/both.npy" "$D/dtypes_both_ref.npy"
check dtypes.w_int32 same "$O/dtypes/w.npy" "$D/dtypes_w_ref.npy"
check dtypes.af_float32 same "$O/dtypes/af.npy" "$D/dtypes_af_ref.npy" 0 0
# the .npy files ort_run writes are read back by ort_run itself
expect dtypes.roundtrip 0 "" "" -- "$D/dtypes.onnx" --input "a=$O/dtypes/w.npy" --input "b=$O/dtypes/both.npy" --quiet

# ---- errors --------------------------------------------------------------------------------------
printf 'not a model' >"$O/garbage.onnx"
expect err.bad_model 3 "" "^ort_run: error: cannot load model '.*garbage\.onnx': .*[Pp]rotobuf parsing failed" -- "$O/garbage.onnx"
expect err.no_model 3 "" "^ort_run: error: '.*no_such\.onnx': no such file" -- "$O/no_such.onnx"
expect err.missing_input 2 "" "^ort_run: missing input\(s\): 'x' float32 \[1,3,8,8\]" -- "$D/conv_relu.onnx"
expect err.unknown_input 2 "" "'q' is not an input of the model \(its inputs: 'x'\)" -- "$D/conv_relu.onnx" --input "q=$D/conv_x.npy"
expect err.too_many 2 "" "too many --input files: the model has 1 input" -- "$D/conv_relu.onnx" --input "$D/conv_x.npy" --input "$D/conv_x.npy"
expect err.float64 3 "" "input 'x' is float32, '.*conv_x_f64\.npy' holds float64 \('<f8'\)" -- "$D/conv_relu.onnx" --input "$D/conv_x_f64.npy"
expect err.wrong_shape 3 "" "input 'x' must have shape \[1,3,8,8\], '.*' has \[2,3,4\]" -- "$D/conv_relu.onnx" --input "$D/shape_x.npy"
expect err.fortran 3 "" "Fortran-order arrays are not supported" -- "$D/conv_relu.onnx" --input "$D/conv_x_fortran.npy"
expect err.truncated 3 "" "truncated data: shape \[1,3,8,8\] of <f4 needs 768 bytes" -- "$D/conv_relu.onnx" --input "$D/conv_x_truncated.npy"
expect err.not_npy 3 "" "not a \.npy file" -- "$D/conv_relu.onnx" --input "$D/conv_relu.onnx"
expect err.ref_count 2 "" "--check-against: 1 reference file\(s\) for 2 output\(s\)" -- "$D/conv_relu.onnx" --input "$D/conv_x.npy" --check-against "$D/conv_y_ref.npy"
expect err.bad_opt 2 "" "option '--opt' must be disabled, basic, extended, layout or all" -- "$D/conv_relu.onnx" --opt fast
expect err.bad_repeat 2 "" "option '--repeat' must be an integer" -- "$D/conv_relu.onnx" --repeat 0
expect err.unknown_option 2 "" "unknown option '--bogus'" -- "$D/conv_relu.onnx" --bogus
expect err.no_ort 77 "" "onnxruntime-node is not installed in '.*nowhere'" -- "$D/conv_relu.onnx" --ort-dir "$O/nowhere"

echo
echo "ort_run: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
