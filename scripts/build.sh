#!/usr/bin/env bash
# Builds the node and the worker (every crate of the workspace they need) in the release
# profile. `test.sh` builds the tests on top of this build and reuses all of it: the workspace's
# dev-dependencies turn on no feature that the binaries' build lacks (`lint.sh` checks this),
# so polkadot-sdk compiles once.
# MODELHUB_BUILD_TIMINGS=1 also writes cargo's report of where the build time went
# ($CARGO_TARGET_DIR/cargo-timings/cargo-timing.html).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELHUB_ROOT"
cargo build --release --locked --workspace --bins ${MODELHUB_BUILD_TIMINGS:+--timings} "$@"
