#!/usr/bin/env bash
# Serves the hub's explorer (explorer/): a static web application that shows where demand goes,
# reading a node's hub index (`hubindex_*`, served by a node started with --hub-index) and its
# `modelhub_*` methods over JSON-RPC from the browser. Installs the explorer's npm packages when
# they are missing, builds explorer/dist when it is missing or older than its sources, then
# serves it on http://127.0.0.1:${EXPLORER_PORT:-8700} until Ctrl-C.
# The page reads the node at ws://127.0.0.1:9944, or the one its address names with
# ?rpc=ws://HOST:PORT (the node must allow the page's origin: the dev chain runs with
# --rpc-cors all).
set -euo pipefail
. "$(dirname "$0")/env.sh"

EXPLORER_DIR="$MODELHUB_ROOT/explorer"
PORT="${EXPLORER_PORT:-8700}"

if ! (cd "$EXPLORER_DIR" && npm ls --silent >/dev/null 2>&1); then
	echo "[explorer] installing the explorer's Node.js packages (npm ci)"
	npm --prefix "$EXPLORER_DIR" ci --no-audit --no-fund
fi
node "$EXPLORER_DIR/build.mjs" --if-stale | sed 's/^/[explorer] /'

echo "[explorer] serving explorer/dist: http://127.0.0.1:$PORT/#/market"
echo "[explorer] another node: http://127.0.0.1:$PORT/?rpc=ws://HOST:PORT#/market; Ctrl-C stops"
exec python3 -m http.server --bind 127.0.0.1 --directory "$EXPLORER_DIR/dist" "$PORT"
