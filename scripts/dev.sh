#!/usr/bin/env bash
# Sets up the machine, builds, and runs the OPG Model Hub end to end on this machine:
# - a development chain: one validator (Alice), blocks every 6 seconds, finalized by GRANDPA,
#   JSON-RPC on ws://127.0.0.1:9944;
# - an inference worker (Dave) bonded with 100 OPG, running models with ONNX Runtime, metrics on
#   http://127.0.0.1:9616/metrics, serving fast calls (docs/fast-path.md) on http://127.0.0.1:9945;
# - the sample digits classifier, published by Charlie at 0.5 OPG per call with royalties split
#   70% Charlie / 30% Ferdie;
# - one paid call by Bob over JSON-RPC (modelhub_submitAndWatchInference): the script prints
#   the prediction, the fee split and who was paid what, then the hub's usage statistics;
# - one fast call by Bob, paid by a voucher on a channel to Dave, answered by Dave directly;
# - the hub explorer on http://127.0.0.1:8700/#/market, reading the node's hub index
#   (--hub-index: the hub's history, served as hubindex_* JSON-RPC methods).
# The node and the worker keep running until Ctrl-C (with MODELHUB_DEV_ONESHOT=1 they stop once
# the call is served, and the script fails if it was not); logs are in $MODELHUB_DEV_DIR.
# Extra arguments go to the node, e.g. `./scripts/dev.sh --rpc-cors all`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
"$MODELHUB_ROOT/scripts/build.sh"

DEV_DIR="${MODELHUB_DEV_DIR:-$MODELHUB_CACHE/dev}"
RPC_PORT="${MODELHUB_RPC_PORT:-9944}"
WORKER_METRICS="${MODELHUB_WORKER_METRICS:-127.0.0.1:9616}"
WORKER_FAST="${MODELHUB_WORKER_FAST:-127.0.0.1:9945}"
EXPLORER_PORT="${MODELHUB_EXPLORER_PORT:-8700}"
URL="ws://127.0.0.1:$RPC_PORT"
modelhub_fresh_hub "$DEV_DIR"

echo "[dev] starting $MODELHUB_NODE_BIN --dev (log: $DEV_DIR/node.log)"
modelhub_start_node "$DEV_DIR" "$RPC_PORT" --hub-index "$@"

echo "[dev] registering worker //Dave with a 100 OPG bond, then running it (log: $DEV_DIR/worker-Dave.log)"
# Room for 32 small models ready at once (scripts/simulate-market.py publishes a long tail).
modelhub_start_worker "$DEV_DIR" "$URL" //Dave 4 --prometheus "$WORKER_METRICS" \
	--fast-listen "$WORKER_FAST" --fast-state-dir "$DEV_DIR/fast-state" --max-ready 32 --max-sessions 32

echo "[dev] publishing the digits classifier (0.5 OPG per call; royalties 70% Charlie, 30% Ferdie)"
node "$MODELHUB_ROOT/scripts/publish-model.mjs" "$MODELHUB_SAMPLE_MODELS/digits.onnx" --name digits \
	--description "8x8 handwritten digits, logistic regression" --price 0.5 \
	--royalty //Charlie=70 --royalty //Ferdie=30 --suri //Charlie --url "$URL" >"$DEV_DIR/model.json"
MODEL="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).model)' <"$DEV_DIR/model.json")"

echo "[dev] Bob pays for one call of model $MODEL on $MODELHUB_SAMPLE_MODELS/digits.input.json over modelhub_submitAndWatchInference"
node "$MODELHUB_ROOT/scripts/infer.mjs" "$MODEL" --input "$MODELHUB_SAMPLE_MODELS/digits.input.json" --suri //Bob \
	--url "$URL" | tee "$DEV_DIR/call.json" | node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(`[dev] request ${r.request}: ${r.status} in ${r.latency_ms} ms, worker(s) ${r.workers.join(", ")}`);
console.log(`[dev] fee ${r.fee.total} held: royalty ${r.fee.royalty}, execution ${r.fee.execution} (validators ${r.fee.validators}, treasury ${r.fee.treasury}, workers ${r.fee.workers}), chain fee at most ${r.fee.chain}`);
if (r.fee.paid) console.log(`[dev] paid ${r.fee.paid}; the unused chain fee came back`);
if (r.status === "settled") {
  console.log(`[dev] prediction: ${r.prediction} (output hash ${r.output_hash})`);
  for (const p of r.payouts) console.log(`[dev]   paid ${p.amount} to ${p.account}`);
}'
if [ "$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).status)' <"$DEV_DIR/call.json")" != settled ]; then
	echo "[dev] the call was not served; the worker's log ends:" >&2
	tail -20 "$DEV_DIR/worker-Dave.log" >&2
	exit 1
fi
echo "[dev] Bob makes a fast call of model $MODEL: a voucher on a channel to Dave, answered by Dave at $WORKER_FAST"
node "$MODELHUB_ROOT/scripts/infer.mjs" "$MODEL" --input "$MODELHUB_SAMPLE_MODELS/digits.input.json" --suri //Bob \
	--url "$URL" --fast --quiet | tee "$DEV_DIR/fast-call.json" | node -e '
const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(`[dev] fast call ${r.call} on channel ${r.channel}: prediction ${r.prediction} in ${r.latency_ms} ms from ${r.worker} (attestation verified: ${r.attestation_verified}), fee ${r.fee.total} settled later in a batch`);'
echo "[dev] usage across the hub (scripts/usage.mjs):"
node "$MODELHUB_ROOT/scripts/usage.mjs" --url "$URL" | sed 's/^/[dev]   /'

EXPLORER="http://127.0.0.1:$EXPLORER_PORT/?rpc=ws://127.0.0.1:$RPC_PORT#/market"
EXPLORER_PORT="$EXPLORER_PORT" "$MODELHUB_ROOT/scripts/explorer.sh" >"$DEV_DIR/explorer.log" 2>&1 &
MODELHUB_PIDS+=("$!")
# The explorer's files are served and the index holds the paid call (finalized a block or two
# after its block); up to a minute.
indexed="$(node -e '
const [rpc, site] = process.argv.slice(1);
const status = () => fetch(rpc, { method: "POST", headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hubindex_status", params: [] }) })
  .then((r) => r.json()).then((r) => r.result.calls);
(async () => {
  for (let i = 0; i < 60; i++) {
    const calls = await status().catch(() => 0);
    const served = await fetch(site).then((r) => r.ok).catch(() => false);
    if (calls >= 1 && served) return process.stdout.write(String(calls));
    await new Promise((done) => setTimeout(done, 1000));
  }
  process.exit(1);
})();' "http://127.0.0.1:$RPC_PORT" "http://127.0.0.1:$EXPLORER_PORT/")" || {
	echo "[dev] the explorer or the hub index did not come up; logs: $DEV_DIR/explorer.log, $DEV_DIR/node.log" >&2
	exit 1
}
echo "[dev] the hub index has counted $indexed settled call(s); explorer: $EXPLORER"

if [ -n "${MODELHUB_DEV_ONESHOT:-}" ]; then
	echo "[dev] one paid call served; stopping (MODELHUB_DEV_ONESHOT is set)"
	exit 0
fi
echo "[dev] running; polkadot.js Apps: https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A$RPC_PORT"
echo "[dev] the explorer: $EXPLORER (a long-tail market to look at: scripts/simulate-market.py)"
echo "[dev] full result: $DEV_DIR/call.json; Ctrl-C stops the node and the worker"
wait "${MODELHUB_PIDS[0]}"
