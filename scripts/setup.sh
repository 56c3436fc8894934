#!/usr/bin/env bash
# Installs, idempotently, what a fresh machine needs to build and run the project:
# Debian build packages, the Rust WASM targets and rust-src, and a Python venv holding
# ONNX Runtime and the project's Python client. A second run changes nothing and takes a few
# seconds.
set -euo pipefail
. "$(dirname "$0")/env.sh"

log() { printf '[setup] %s\n' "$*"; }

# Runs a command with its output in $MODELHUB_CACHE/setup.log, shown only when it fails.
quietly() {
	local setup_log="$MODELHUB_CACHE/setup.log"
	mkdir -p "$MODELHUB_CACHE"
	if ! "$@" >"$setup_log" 2>&1; then
		cat "$setup_log" >&2
		echo "[setup] failed: $*" >&2
		return 1
	fi
}

# Installs Debian packages, through sudo when not root.
apt_install() {
	local sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	quietly "${sudo_cmd[@]}" apt-get update -qq
	quietly "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# Debian packages the build needs: clang (bindgen; the C++ compiler of .cargo/config.toml),
# protobuf for libp2p, and the system OpenSSL and zstd the build links instead of compiling;
# Chromium, in which the explorer's tests run.
packages=(clang libclang-dev protobuf-compiler pkg-config libssl-dev libzstd-dev python3-venv chromium)
missing=()
for package in "${packages[@]}"; do
	dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing ${missing[*]}"
	apt_install "${missing[@]}"
fi

# Rust: the runtime is compiled to WASM by substrate-wasm-builder.
if ! command -v rustup >/dev/null; then
	echo "rustup is required (https://rustup.rs)" >&2
	exit 1
fi
installed_targets="$(rustup target list --installed)"
for target in wasm32v1-none wasm32-unknown-unknown; do
	grep -qx "$target" <<<"$installed_targets" || { log "adding Rust target $target"; quietly rustup target add "$target"; }
done
rustup component list --installed | grep -q '^rust-src' || { log "adding rust-src"; quietly rustup component add rust-src; }

# Python venv with ONNX Runtime (its libonnxruntime.so is what the worker loads through
# ORT_DYLIB_PATH) and the tools that build the sample models.
if [ ! -x "$MODELHUB_VENV/bin/python" ]; then
	log "creating venv $MODELHUB_VENV"
	mkdir -p "$(dirname "$MODELHUB_VENV")"
	quietly python3 -m venv "$MODELHUB_VENV"
fi
if ! "$MODELHUB_VENV/bin/python" -c "import onnxruntime, sys; sys.exit(onnxruntime.__version__ != '$ONNXRUNTIME_VERSION')" 2>/dev/null; then
	log "installing onnxruntime==$ONNXRUNTIME_VERSION into $MODELHUB_VENV"
	quietly "$MODELHUB_VENV/bin/python" -m pip install --disable-pip-version-check "onnxruntime==$ONNXRUNTIME_VERSION"
fi

if ! "$MODELHUB_VENV/bin/python" -c "import onnx, sklearn, skl2onnx" 2>/dev/null; then
	log "installing onnx, scikit-learn, skl2onnx into $MODELHUB_VENV"
	quietly "$MODELHUB_VENV/bin/python" -m pip install --disable-pip-version-check onnx scikit-learn skl2onnx
fi

# The Python client (python/) with its test dependencies, reinstalled when its sources change.
client_stamp="$MODELHUB_VENV/.modelhub-python-client"
client_sources="$(cat "$MODELHUB_ROOT/python/pyproject.toml" "$MODELHUB_ROOT"/python/modelhub/*.py | sha256sum)"
if [ "$(cat "$client_stamp" 2>/dev/null)" != "$client_sources" ]; then
	log "installing the Python client (python/) into $MODELHUB_VENV"
	quietly "$MODELHUB_VENV/bin/python" -m pip install --disable-pip-version-check "$MODELHUB_ROOT/python[test]"
	printf '%s\n' "$client_sources" >"$client_stamp"
fi

# Node.js clients (@polkadot/api, pinned by scripts/package-lock.json).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "installing nodejs and npm"
	apt_install nodejs npm
fi
if ! (cd "$MODELHUB_ROOT/scripts" && npm ls --silent >/dev/null 2>&1); then
	log "installing Node.js packages (npm ci)"
	quietly npm --prefix "$MODELHUB_ROOT/scripts" ci --no-audit --no-fund
fi

# The explorer (explorer/: Chart.js, @polkadot/api, esbuild; pinned by explorer/package-lock.json),
# bundled into explorer/dist when that is missing or older than its sources.
if ! (cd "$MODELHUB_ROOT/explorer" && npm ls --silent >/dev/null 2>&1); then
	log "installing the explorer's Node.js packages (npm ci)"
	quietly npm --prefix "$MODELHUB_ROOT/explorer" ci --no-audit --no-fund
fi
quietly node "$MODELHUB_ROOT/explorer/build.mjs" --if-stale
# Playwright drives Debian's Chromium in the explorer's tests (it downloads no browser of its own).
if ! "$MODELHUB_VENV/bin/python" -c "import playwright" 2>/dev/null; then
	log "installing playwright==$PLAYWRIGHT_VERSION into $MODELHUB_VENV"
	quietly "$MODELHUB_VENV/bin/python" -m pip install --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi

mkdir -p "$CARGO_TARGET_DIR"
log "ready (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
