#!/usr/bin/env bash
# Runs every test: unit tests of each crate, runtime tests, and end-to-end tests that start
# the real node and worker on loopback ports (the Rust ones, then the Python client's).
# Release profile, on top of dev.sh's build.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
cd "$MODELHUB_ROOT"
cargo test --release --locked --workspace ${MODELHUB_BUILD_TIMINGS:+--timings} "$@"
# The Python client (python/): its codec against the vectors the Rust tests just checked, and
# the client against a real node and worker.
"$MODELHUB_VENV/bin/python" -m pytest -q -p no:cacheprovider "$MODELHUB_ROOT/python/tests"
