#!/usr/bin/env bash
# Measures, side by side in one run on this machine, what a paid call costs on each path:
# - raw ONNX Runtime: `modelhub-worker exec --repeat` on the digits classifier and the CNN, in
#   the worker's process (no chain, no payment);
# - the on-chain path: a dev node and one worker (Dave, capacity 64); the latency of
#   $MODELHUB_BENCH_ONCHAIN_CALLS paid calls one after another (scripts/infer.mjs, request to
#   `settled`) and the settled paid calls/s of a burst of $MODELHUB_BENCH_BURST requests
#   (scripts/burst.mjs);
# - the fast path: the same worker serving fast calls (docs/fast-path.md);
#   `modelhub-worker fast-bench` makes $MODELHUB_BENCH_FAST_CALLS paid calls of each model over
#   $MODELHUB_BENCH_LANES channels, checks every attestation, and waits for the worker to settle
#   them, counting the settlement transactions.
# Prints a table and writes every figure to $MODELHUB_BENCH_DIR/report.json.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
"$MODELHUB_ROOT/scripts/build.sh"

DIR="${MODELHUB_BENCH_DIR:-$MODELHUB_CACHE/bench-fast-path}"
PORT="${MODELHUB_BENCH_RPC_PORT:-9966}"
FAST="127.0.0.1:${MODELHUB_BENCH_FAST_PORT:-9967}"
ONCHAIN_CALLS="${MODELHUB_BENCH_ONCHAIN_CALLS:-5}"
BURST="${MODELHUB_BENCH_BURST:-300}"
FAST_CALLS="${MODELHUB_BENCH_FAST_CALLS:-5000}"
LANES="${MODELHUB_BENCH_LANES:-4}"
RAW_RUNS="${MODELHUB_BENCH_RAW_RUNS:-2000}"
URL="ws://127.0.0.1:$PORT"
SAMPLES="$MODELHUB_SAMPLE_MODELS"
modelhub_fresh_hub "$DIR"

for model in digits cnn; do
	echo "[bench] raw ONNX Runtime: $model, $RAW_RUNS runs"
	"$MODELHUB_WORKER_BIN" exec --model "$SAMPLES/$model.onnx" --input-json "$SAMPLES/$model.input.json" \
		--schema "$SAMPLES/$model.schema.json" --repeat "$RAW_RUNS" --warmup 50 >"$DIR/raw-$model.json"
done

echo "[bench] starting a dev node and worker //Dave serving fast calls on $FAST (logs in $DIR)"
modelhub_start_node "$DIR" "$PORT"
modelhub_start_worker "$DIR" "$URL" //Dave 64 --max-jobs 2 --queue 64 \
	--fast-listen "$FAST" --fast-settle-secs 12 --fast-state-dir "$DIR/fast-state"
for model in digits cnn; do
	node "$MODELHUB_ROOT/scripts/publish-model.mjs" "$SAMPLES/$model.onnx" --name "$model" --price 0.5 \
		--royalty //Charlie=70 --royalty //Ferdie=30 --suri //Charlie --url "$URL" >"$DIR/model-$model.json"
done
model_id() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8")).model))' <"$DIR/model-$1.json"; }
DIGITS="$(model_id digits)"
CNN="$(model_id cnn)"

echo "[bench] on-chain path: $ONCHAIN_CALLS calls of the digits model, one after another"
for i in $(seq 1 "$ONCHAIN_CALLS"); do
	node "$MODELHUB_ROOT/scripts/infer.mjs" "$DIGITS" --input "$SAMPLES/digits.input.json" --suri //Bob \
		--url "$URL" --quiet >"$DIR/onchain-call-$i.json"
done
echo "[bench] on-chain path: a burst of $BURST requests"
node "$MODELHUB_ROOT/scripts/burst.mjs" "$DIGITS" --input "$SAMPLES/digits.input.json" --url "$URL" \
	--requests "$BURST" --transfers "$BURST" --json >"$DIR/onchain-burst.json"

for model in digits cnn; do
	id="$DIGITS"; calls="$FAST_CALLS"; lanes="$LANES"
	if [ "$model" = cnn ]; then id="$CNN"; calls=$((FAST_CALLS / 5)); fi
	echo "[bench] fast path: $calls calls of the $model model over $lanes channels"
	"$MODELHUB_WORKER_BIN" fast-bench --url "$URL" --suri //Eve --model "$id" \
		--input-json "$SAMPLES/$model.input.json" --calls "$calls" --lanes "$lanes" --warmup 20 \
		--deposit 5000 --settle-timeout-secs 240 >"$DIR/fast-$model.json"
done

node - "$DIR" "$ONCHAIN_CALLS" <<'JS'
const fs = require('fs');
const [dir, onchainCalls] = process.argv.slice(2);
const read = (name) => JSON.parse(fs.readFileSync(`${dir}/${name}`, 'utf8'));
const raw = { digits: read('raw-digits.json').timing, cnn: read('raw-cnn.json').timing };
const calls = Array.from({ length: Number(onchainCalls) }, (_, i) => read(`onchain-call-${i + 1}.json`));
const latencies = calls.map((call) => call.latency_ms).sort((a, b) => a - b);
const burst = read('onchain-burst.json');
const fast = { digits: read('fast-digits.json'), cnn: read('fast-cnn.json') };
const ms = (value) => `${Number(value).toFixed(3)} ms`;
const report = {
  raw: { digits: raw.digits, cnn: raw.cnn },
  onChain: {
    latencyMs: { p50: latencies[Math.floor((latencies.length - 1) / 2)], max: latencies[latencies.length - 1] },
    paidCallsPerSecond: burst.requests.perSecond,
    transfersPerSecond: burst.transfers.perSecond,
    settled: burst.requests.settled,
  },
  fast,
};
fs.writeFileSync(`${dir}/report.json`, JSON.stringify(report, null, 2));
const rows = [
  ['', 'digits', 'CNN'],
  ['raw ONNX Runtime p50', ms(raw.digits.p50_ms), ms(raw.cnn.p50_ms)],
  ['raw ONNX Runtime runs/s (one thread)', raw.digits.throughput_per_s.toFixed(0), raw.cnn.throughput_per_s.toFixed(0)],
  ['on-chain call latency p50 (request to settled)', ms(report.onChain.latencyMs.p50), '-'],
  ['on-chain settled paid calls/s (burst)', report.onChain.paidCallsPerSecond.toFixed(1), '-'],
  ['fast path p50', ms(fast.digits.p50Ms), ms(fast.cnn.p50Ms)],
  ['fast path p99', ms(fast.digits.p99Ms), ms(fast.cnn.p99Ms)],
  ['fast path p50 minus raw p50', ms(fast.digits.p50Ms - raw.digits.p50_ms), ms(fast.cnn.p50Ms - raw.cnn.p50_ms)],
  ['fast path paid calls/s (one worker)', fast.digits.callsPerSecond.toFixed(0), fast.cnn.callsPerSecond.toFixed(0)],
  ['fast path calls / settlement transactions', `${fast.digits.settledCalls} / ${fast.digits.settlements}`, `${fast.cnn.settledCalls} / ${fast.cnn.settlements}`],
];
const width = rows.reduce((w, row) => Math.max(w, row[0].length), 0);
for (const row of rows) console.log(`[bench] ${row[0].padEnd(width)}  ${String(row[1]).padStart(12)}  ${String(row[2]).padStart(12)}`);
console.log(`[bench] figures: ${dir}/report.json`);
JS
