#!/usr/bin/env bash
# Builds every crate of the workspace, tests included, in the release profile: the one build
# that both `dev.sh` and `test.sh` reuse, so polkadot-sdk compiles once.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELHUB_ROOT"
cargo build --release --locked --workspace --all-targets "$@"
