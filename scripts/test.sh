#!/usr/bin/env bash
# Runs every test: unit tests of each crate, runtime tests, and end-to-end tests that start
# the real node and worker on loopback ports (the Rust ones, the Python client's, then the
# explorer's in headless Chromium, which save each page's screenshot under
# $MODELHUB_SCREENSHOTS, by default $CARGO_TARGET_DIR/explorer-screenshots).
# Release profile, on top of dev.sh's build.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
cd "$MODELHUB_ROOT"
cargo test --release --locked --workspace ${MODELHUB_BUILD_TIMINGS:+--timings} "$@"
# The Python client (python/): its codec against the vectors the Rust tests just checked, and
# the client against a real node and worker.
"$MODELHUB_VENV/bin/python" -m pytest -q -p no:cacheprovider "$MODELHUB_ROOT/python/tests"
# The explorer (explorer/, built by the set-up) against a real node keeping the hub index.
"$MODELHUB_VENV/bin/python" -m pytest -q -p no:cacheprovider -s "$MODELHUB_ROOT/explorer/tests"
