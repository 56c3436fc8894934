#!/usr/bin/env bash
# Measures the Python client's own cost per call (encode + sign + decode) beside the call's
# latency, on the fast path and on chain: python/bench/overhead.py against a hub of its own
# (the release node and a worker on free loopback ports). Arguments go to the benchmark
# (--fast-calls N, --chain-calls N, --json FILE, --url URL for a running hub).
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
"$MODELHUB_ROOT/scripts/build.sh"
exec "$MODELHUB_VENV/bin/python" "$MODELHUB_ROOT/python/bench/overhead.py" "$@"
