#!/usr/bin/env bash
# Measures the dev chain's paid calls per second beside its transfers per second, in one run:
# starts a dev node and four workers (Dave, Eve, Ferdie and Bob, each bonded with 100 OPG and
# registered to take $MODELHUB_BURST_CAPACITY jobs at once), publishes the digits classifier,
# waits until every worker holds it ready, then runs scripts/burst.mjs: a burst of transfers,
# then a burst of paid calls on the on-chain path (2,000 each unless arguments say otherwise,
# e.g. `--requests 500`). Then the fast path (docs/fast-path.md): `modelhub-worker fast-bench`
# makes $MODELHUB_BURST_FAST_CALLS paid calls over
# $MODELHUB_BURST_LANES channels spread over the four workers, each of which settles a
# channel's calls $MODELHUB_BURST_SETTLE_SECS seconds after its first unsettled one; the rate
# is the calls settled over the time from the first call to the block that settled the last.
# Logs are in $MODELHUB_BURST_DIR.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
"$MODELHUB_ROOT/scripts/build.sh"

DIR="${MODELHUB_BURST_DIR:-$MODELHUB_CACHE/burst}"
PORT="${MODELHUB_BURST_RPC_PORT:-9955}"
CAPACITY="${MODELHUB_BURST_CAPACITY:-64}"
FAST_PORT="${MODELHUB_BURST_FAST_PORT:-9956}"
SETTLE_SECS="${MODELHUB_BURST_SETTLE_SECS:-2}"
FAST_CALLS="${MODELHUB_BURST_FAST_CALLS:-2000}"
LANES="${MODELHUB_BURST_LANES:-8}"
URL="ws://127.0.0.1:$PORT"
modelhub_fresh_hub "$DIR"

echo "[burst] starting a dev node (log: $DIR/node.log) and four workers of capacity $CAPACITY"
modelhub_start_node "$DIR" "$PORT"
index=0
for suri in //Dave //Eve //Ferdie //Bob; do
	modelhub_start_worker "$DIR" "$URL" "$suri" "$CAPACITY" --max-jobs 2 --queue "$CAPACITY" \
		--fast-listen "127.0.0.1:$((FAST_PORT + index))" --fast-settle-secs "$SETTLE_SECS" \
		--fast-state-dir "$DIR/fast-${suri//\//}"
	index=$((index + 1))
done
node "$MODELHUB_ROOT/scripts/publish-model.mjs" "$MODELHUB_SAMPLE_MODELS/digits.onnx" --name digits --price 0.5 \
	--royalty //Charlie=100 --suri //Charlie --url "$URL" >"$DIR/model.json"
MODEL="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).model)' <"$DIR/model.json")"
node "$MODELHUB_ROOT/scripts/infer.mjs" "$MODEL" --input "$MODELHUB_SAMPLE_MODELS/digits.input.json" --suri //Charlie \
	--url "$URL" --redundancy 4 --quiet >"$DIR/warm-up.json"
echo "[burst] every worker holds model $MODEL ready; bursting"
node "$MODELHUB_ROOT/scripts/burst.mjs" "$MODEL" --input "$MODELHUB_SAMPLE_MODELS/digits.input.json" --url "$URL" \
	--report "$DIR/on-chain.json" "$@"
echo "[burst] fast path: $FAST_CALLS calls over $LANES channels to the four workers"
"$MODELHUB_WORKER_BIN" fast-bench --url "$URL" --suri //Charlie --model "$MODEL" \
	--input-json "$MODELHUB_SAMPLE_MODELS/digits.input.json" --calls "$FAST_CALLS" --lanes "$LANES" \
	--workers 4 --warmup 5 --deposit 500 --settle-timeout-secs 240 >"$DIR/fast.json"
node - "$DIR" <<'JS'
const fs = require('fs');
const dir = process.argv[2];
const transfers = JSON.parse(fs.readFileSync(`${dir}/on-chain.json`, 'utf8')).transfers;
const fast = JSON.parse(fs.readFileSync(`${dir}/fast.json`, 'utf8'));
console.log(`fast calls: ${fast.calls} answered over ${fast.lanes} channels to ${fast.workers.length} workers `
  + `(p50 ${fast.p50Ms.toFixed(3)} ms, p99 ${fast.p99Ms.toFixed(3)} ms, ${fast.callsPerSecond.toFixed(0)} calls/s), every attestation checked; `
  + `${fast.settledCalls} settled by ${fast.settlements} transactions, the last ${fast.settledSeconds.toFixed(1)} s after the first call: `
  + `${fast.settledPerSecond.toFixed(1)} settled paid calls/s`);
console.log(`fast path: settled paid calls/s ÷ transfers/s = ${(fast.settledPerSecond / transfers.perSecond).toFixed(3)}`);
JS
