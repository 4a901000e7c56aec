#!/usr/bin/env bash
# Installs what the tests need, configures, builds everything and runs the whole test suite.
#
#   scripts/test.sh              Release, warnings as errors, in build/: every test, the real-network ones included
#   scripts/test.sh --sanitize   the same with AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/
#   scripts/test.sh --clang      the same built with clang++-14 (or $CLANG), in build-clang/
#   scripts/test.sh --core       only the core: no ONNX, no CLI, no network tests (combine with the above)
#
# Anything after `--` is passed to cmake when configuring. Set JOBS to change the parallelism.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sanitize=0 clang=0 core=0 extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --sanitize) sanitize=1 ;;
    --clang) clang=1 ;;
    --core) core=1 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
jobs=${JOBS:-$(nproc)}

groups=(core)
((core)) || groups+=(onnx tests ort data)
((clang)) && groups+=(clang)
scripts/deps.sh "${groups[@]}"

build=build
((clang)) && build+=-clang
((sanitize)) && build+=-asan
((core)) && build+=-core

args=(-DCMAKE_BUILD_TYPE=Release -DSURGERY_WERROR=ON -DSURGERY_BUILD_TESTS=ON -DSURGERY_BUILD_EXAMPLES=ON)
((core)) || args+=(-DSURGERY_REQUIRE_ORT=ON) # the ONNX Runtime oracle must be there: its tests are not optional
if ((core)); then
  args+=(-DSURGERY_WITH_ONNX=OFF -DSURGERY_BUILD_TOOLS=OFF)
else
  args+=(-DSURGERY_WITH_ONNX=ON -DSURGERY_BUILD_TOOLS=ON)
fi
((clang)) && args+=(-DCMAKE_CXX_COMPILER="${CLANG:-clang++-14}")
if ((sanitize)); then
  # Sanitized code is checked by running it: the header, packaging and compile-fail checks add nothing
  # here. No -Werror: GCC's sanitizer instrumentation gives false -Wmaybe-uninitialized warnings in
  # Boost headers; the plain build is the warning check.
  args+=(-DSURGERY_SANITIZE=address,undefined -DSURGERY_CHECK_HEADERS=OFF -DSURGERY_WERROR=OFF)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

ctest_args=(--output-on-failure -j "$jobs")
((sanitize)) && ctest_args+=(-LE "packaging|compile")

t0=$SECONDS
echo "+ cmake -S . -B $build ${args[*]} ${extra[*]}"
cmake -S . -B "$build" "${args[@]}" "${extra[@]}"
t1=$SECONDS
echo "+ cmake --build $build --parallel $jobs"
cmake --build "$build" --parallel "$jobs"
t2=$SECONDS
echo "test.sh: configure $((t1 - t0)) s, build $((t2 - t1)) s; running the tests"
echo "+ ctest --test-dir $build ${ctest_args[*]}"
ctest --test-dir "$build" "${ctest_args[@]}"
