#!/usr/bin/env bash
# Measures modelhub-worker's per-call execution against raw ONNX Runtime in Python, on the
# sample models and a ResNet-50, same inputs and thread count, and prints the ratio.
# Arguments go to bench-worker.py, e.g. `./scripts/bench-worker.sh --threads 1 --rounds 5`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
cd "$MODELHUB_ROOT"
"$MODELHUB_ROOT/scripts/build.sh"
exec "$MODELHUB_VENV/bin/python" "$MODELHUB_ROOT/scripts/bench-worker.py" "$MODELHUB_WORKER_BIN" "$@"
