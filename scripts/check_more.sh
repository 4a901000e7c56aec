#!/usr/bin/env bash
# The checks CI leaves out to stay under 45 minutes (it runs scripts/test.sh and the clang core
# build): every test of the core under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# header self-containment check of every header (ONNX ones included) with g++. Run it before a
# large change is resolved. Takes about an hour on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/test.sh --sanitize --core
scripts/test.sh -- -DSURGERY_CHECK_HEADERS=ON
