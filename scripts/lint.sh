#!/usr/bin/env bash
# Checks formatting (rustfmt), lints every crate of the workspace with clippy (the lints of the
# root Cargo.toml deny panics, unchecked indexing and unchecked arithmetic in the code that runs
# in the runtime; any warning fails), and that the tests' build reuses the binaries' build.
#
# clippy only type-checks, so it keeps its own target directory (a check build, no WASM)
# beside the release build instead of invalidating it.
# `--skip-clippy` runs the first two checks only.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELHUB_ROOT"
skip_clippy=
[ "${1:-}" = --skip-clippy ] && { skip_clippy=1; shift; }

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

# Each pallet's lib.rs allows `expect` for the code `frame_support::pallet` writes there; the
# pallet's own code in that file uses none.
if grep -n 'expect(\|unwrap()' pallets/*/src/lib.rs; then
	echo "no expect() or unwrap() in pallets/*/src/lib.rs" >&2
	exit 1
fi

[ -z "$skip_clippy" ] || exit 0

clippy() {
	CARGO_TARGET_DIR="${MODELHUB_CLIPPY_TARGET_DIR:-$CARGO_TARGET_DIR/clippy}" SKIP_WASM_BUILD=1 \
		cargo clippy --locked --workspace "$@"
}
# The code that ships: any warning fails, and so does breaking the workspace's lints.
clippy --lib --bins -- -D warnings
# Tests may unwrap, index and overflow.
clippy --tests -- -D warnings -A clippy::unwrap_used -A clippy::expect_used \
	-A clippy::indexing_slicing -A clippy::arithmetic_side_effects
