#!/usr/bin/env bash
# Sets up the machine, builds, and runs a development chain: one validator (Alice), blocks
# every 6 seconds, finalized by GRANDPA, JSON-RPC on ws://127.0.0.1:9944.
# Extra arguments go to the node, e.g. `./scripts/dev.sh --rpc-port 9955`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$MODELHUB_ROOT/scripts/setup.sh"
"$MODELHUB_ROOT/scripts/build.sh"
echo "[dev] starting $MODELHUB_NODE_BIN --dev (Ctrl-C stops it)"
echo "[dev] polkadot.js Apps: https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A9944"
exec "$MODELHUB_NODE_BIN" --dev --rpc-cors all "$@"
