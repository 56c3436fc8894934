# Shared environment for the project's scripts; source it, do not run it.
# Every default can be overridden from the caller's environment.

MODELHUB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MODELHUB_ROOT
# What the scripts install and build for this user: the build directory, the Python venv, the
# dev chain's logs. One place outside the checkout, reused by every clone, script and CI run.
export MODELHUB_CACHE="${MODELHUB_CACHE:-$HOME/.cache/modelhub}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MODELHUB_CACHE/target}"
# Python environment holding ONNX Runtime (its shared library serves the inference worker).
export MODELHUB_VENV="${MODELHUB_VENV:-$MODELHUB_CACHE/venv}"
export ONNXRUNTIME_VERSION="${ONNXRUNTIME_VERSION:-1.31.1}"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export MODELHUB_NODE_BIN="$CARGO_TARGET_DIR/release/modelhub-node"
export MODELHUB_WORKER_BIN="$CARGO_TARGET_DIR/release/modelhub-worker"

# Points ORT_DYLIB_PATH at the venv's libonnxruntime.so (unless the caller set it); fails when
# there is none.
modelhub_find_onnxruntime() {
	if [ -z "${ORT_DYLIB_PATH:-}" ]; then
		local lib
		for lib in "$MODELHUB_VENV"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$ONNXRUNTIME_VERSION"; do
			[ -f "$lib" ] && export ORT_DYLIB_PATH="$lib"
		done
	fi
	if [ ! -f "${ORT_DYLIB_PATH:-}" ]; then
		echo "ONNX Runtime $ONNXRUNTIME_VERSION not found in $MODELHUB_VENV: run scripts/setup.sh, or set ORT_DYLIB_PATH" >&2
		return 1
	fi
}

# Installs what is missing (scripts/setup.sh), then finds what it installed.
modelhub_setup() {
	"$MODELHUB_ROOT/scripts/setup.sh" && modelhub_find_onnxruntime
}

# A script that does not run the set-up still finds an ONNX Runtime installed earlier.
modelhub_find_onnxruntime 2>/dev/null || true
