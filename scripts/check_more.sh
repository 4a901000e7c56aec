#!/usr/bin/env bash
# The checks CI leaves out to stay near 45 minutes (it runs scripts/test.sh without the header check
# and the fuzz smoke runs): every test of the core under AddressSanitizer + UndefinedBehaviorSanitizer,
# the check that every public header compiles on its own with g++ (all headers), and the core built
# and tested with clang++-14 with its header check. Run it before a large change is resolved; it
# takes over an hour on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/test.sh --sanitize --core
scripts/test.sh -- -DSURGERY_CHECK_HEADERS=ON
scripts/test.sh --clang --core -- -DSURGERY_CHECK_HEADERS=ON
