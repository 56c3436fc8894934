#!/usr/bin/env bash
# Regenerates `pallets/<name>/src/weights.rs` from the pallets' benchmarks.
#
# Builds a node with `--features runtime-benchmarks` in its own target directory (a second
# full build, kept apart from the everyday one and out of CI), then runs
# `modelhub-node benchmark pallet` for each of the project's pallets.
# Usage: scripts/benchmark-weights.sh [pallet_name ...]   (default: every project pallet)
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$MODELHUB_ROOT"

export CARGO_TARGET_DIR="${MODELHUB_BENCH_TARGET_DIR:-$MODELHUB_CACHE/target-benchmarks}"
# `.cargo/config.toml` points the WASM builder at this workspace; the benchmark CLI's own test
# runtime (an optional dependency `cargo metadata` of the workspace does not list) must instead
# be found from its own manifest, as the runtime is from its own. A directory without a
# Cargo.lock makes the builder fall back to each crate's manifest.
export WASM_BUILD_WORKSPACE_HINT="$CARGO_TARGET_DIR"
cargo build --release --locked -p modelhub-node --features runtime-benchmarks
node="$CARGO_TARGET_DIR/release/modelhub-node"

pallets=("$@")
[ "${#pallets[@]}" -gt 0 ] || pallets=(pallet_model_registry pallet_verification pallet_inference pallet_channels)
for pallet in "${pallets[@]}"; do
	dir="pallets/$(echo "${pallet#pallet_}" | tr _ -)"
	echo "[weights] $pallet -> $dir/src/weights.rs"
	"$node" benchmark pallet \
		--runtime "$CARGO_TARGET_DIR/release/wbuild/modelhub-runtime/modelhub_runtime.compact.compressed.wasm" \
		--genesis-builder runtime --genesis-builder-preset development \
		--pallet "$pallet" --extrinsic '*' \
		--steps "${STEPS:-50}" --repeat "${REPEAT:-20}" \
		--template scripts/weight-template.hbs \
		--output "$dir/src/weights.rs"
done
