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
# Playwright (Python), which drives Chromium in the explorer's tests.
export PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1.65.2}"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export MODELHUB_NODE_BIN="$CARGO_TARGET_DIR/release/modelhub-node"
export MODELHUB_WORKER_BIN="$CARGO_TARGET_DIR/release/modelhub-worker"
# The sample models the dev chain and the measurements publish.
export MODELHUB_SAMPLE_MODELS="$MODELHUB_ROOT/scripts/sample-models"

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

# Processes started by modelhub_start_node / modelhub_start_worker; modelhub_stop_all ends them.
MODELHUB_PIDS=()
modelhub_stop_all() {
	trap - EXIT INT TERM
	local pid
	for pid in "${MODELHUB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}

# Empties directory $1 for a hub's logs, and ends what the script starts when it exits.
modelhub_fresh_hub() {
	rm -rf "$1" && mkdir -p "$1"
	trap modelhub_stop_all EXIT INT TERM
}

# Starts `modelhub-node --dev` with JSON-RPC on port $2 and its log in $1/node.log (further
# arguments go to the node), and waits up to 120 s for the port to answer.
modelhub_start_node() {
	local dir="$1" port="$2"
	shift 2
	"$MODELHUB_NODE_BIN" --dev --rpc-port "$port" --rpc-cors all "$@" 2>"$dir/node.log" &
	MODELHUB_PIDS+=("$!")
	local pid="$!"
	for _ in $(seq 1 120); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	tail -20 "$dir/node.log" >&2
	return 1
}

# Registers worker $3 (a secret URI) at ws URL $2 with a 100 OPG bond and capacity $4, then runs
# it with its log in $1/worker-<name>.log; further arguments go to `modelhub-worker run`. A local
# chain's sample models are files, and test servers listen on loopback: both are allowed here.
modelhub_start_worker() {
	local dir="$1" url="$2" suri="$3" capacity="$4"
	shift 4
	local name="${suri//\//}"
	"$MODELHUB_WORKER_BIN" register --url "$url" --suri "$suri" --bond 100 --capacity "$capacity" \
		>"$dir/register-$name.json"
	"$MODELHUB_WORKER_BIN" run --url "$url" --suri "$suri" --models-dir "$dir/models-$name" \
		--allow-file-artifacts --allow-private-artifacts "$@" \
		2>"$dir/worker-$name.log" &
	MODELHUB_PIDS+=("$!")
}
