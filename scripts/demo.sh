#!/usr/bin/env bash
# Installs what the library and its CLI need, builds them in build/ (Release) and runs the main demo:
# `surgery demo` (the command-line tool), or the MobileNetV3 example while the tool is not there yet.
#
#   scripts/demo.sh [ARGS...]      ARGS are passed to `surgery demo`. Set JOBS to change the parallelism.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
jobs=${JOBS:-$(nproc)}

scripts/deps.sh core onnx

# The tests are not needed for the demo; scripts/test.sh turns them back on in the same build/.
echo "+ cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSURGERY_BUILD_TESTS=OFF -DSURGERY_WITH_ONNX=ON -DSURGERY_BUILD_TOOLS=ON -DSURGERY_BUILD_EXAMPLES=ON"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSURGERY_BUILD_TESTS=OFF -DSURGERY_WITH_ONNX=ON -DSURGERY_BUILD_TOOLS=ON \
  -DSURGERY_BUILD_EXAMPLES=ON
echo "+ cmake --build build --parallel $jobs"
cmake --build build --parallel "$jobs"

if [[ -x build/tools/surgery ]]; then
  echo "+ build/tools/surgery demo $*"
  exec build/tools/surgery demo "$@"
fi
example=$(find build/examples -maxdepth 2 -type f -name 'mobilenet_v3_demo*' -perm -u+x 2>/dev/null | head -n 1)
if [[ -n $example ]]; then
  echo "demo.sh: the surgery CLI is not built yet (tools/); running the example $example instead"
  echo "+ $example"
  exec "$example"
fi
echo "demo.sh: neither build/tools/surgery nor the mobilenet_v3_demo example exists yet: nothing to run" >&2
exit 1
