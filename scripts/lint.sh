#!/usr/bin/env bash
# Checks formatting (rustfmt), lints every crate of the workspace with clippy (the lints of the
# root Cargo.toml deny panics, unchecked indexing and unchecked arithmetic in the code that runs
# in the runtime; any warning fails), and that the tests' build reuses the binaries' build.
#
# clippy only type-checks, so it keeps its own target directory (a check build, no WASM)
# beside the release build instead of invalidating it.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELHUB_ROOT"

cargo fmt --all -- --check

# `build.sh` builds without dev-dependencies, `test.sh` with them: a dev-dependency that turned
# on another feature of a shared crate would rebuild that crate and all that depends on it.
features() {
	cargo tree --locked --workspace --edges "$1" --format '{p} [{f}]' --prefix none |
		sed 's/ (\*)$//' | sort -u
}
without_dev="$(features normal,build)"
with_dev="$(features normal,build,dev)"
changed="$(comm -23 <(echo "$without_dev") <(echo "$with_dev"))"
if [ -n "$changed" ]; then
	echo "dev-dependencies change the features of crates the binaries use:" >&2
	echo "$changed" >&2
	exit 1
fi

CARGO_TARGET_DIR="${MODELHUB_CLIPPY_TARGET_DIR:-$CARGO_TARGET_DIR/clippy}" SKIP_WASM_BUILD=1 \
	cargo clippy --locked --workspace --all-targets "$@" -- -D warnings
