#!/usr/bin/env bash
# Runs every test: unit tests of each crate, runtime tests, and end-to-end tests that start
# the real node and worker on loopback ports. Release profile, on top of dev.sh's build.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
cd "$MODELHUB_ROOT"
cargo test --release --locked --workspace ${MODELHUB_BUILD_TIMINGS:+--timings} "$@"
