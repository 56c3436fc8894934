# Shared environment for the project's scripts; source it, do not run it.
# Every default can be overridden from the caller's environment.

MODELHUB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MODELHUB_ROOT
# One build directory outside the checkout, reused by every clone, script and CI run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/modelhub/target}"
# Python environment holding ONNX Runtime (its shared library serves the inference worker).
export MODELHUB_VENV="${MODELHUB_VENV:-$HOME/.cache/modelhub/venv}"
export ONNXRUNTIME_VERSION="${ONNXRUNTIME_VERSION:-1.31.1}"
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
	for lib in "$MODELHUB_VENV"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$ONNXRUNTIME_VERSION"; do
		[ -f "$lib" ] && export ORT_DYLIB_PATH="$lib"
	done
fi
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export MODELHUB_NODE_BIN="$CARGO_TARGET_DIR/release/modelhub-node"
export MODELHUB_WORKER_BIN="$CARGO_TARGET_DIR/release/modelhub-worker"
