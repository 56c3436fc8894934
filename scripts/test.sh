#!/usr/bin/env bash
# Runs every test: unit tests of each crate, runtime tests, and end-to-end tests that start
# the real node on loopback ports. Release profile, same build as dev.sh.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$MODELHUB_ROOT/scripts/setup.sh"
cd "$MODELHUB_ROOT"
cargo test --release --locked --workspace "$@"
