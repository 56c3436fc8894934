#!/usr/bin/env bash
# Measures the dev chain's paid calls per second beside its transfers per second, in one run:
# starts a dev node and four workers (Dave, Eve, Ferdie and Bob, each bonded with 100 OPG and
# registered to take $MODELHUB_BURST_CAPACITY jobs at once), publishes the digits classifier,
# waits until every worker holds it ready, then runs scripts/burst.mjs: a burst of transfers,
# then a burst of paid calls (2,000 each unless arguments say otherwise, e.g. `--requests 500`).
# Logs are in $MODELHUB_BURST_DIR.
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
"$MODELHUB_ROOT/scripts/build.sh"

DIR="${MODELHUB_BURST_DIR:-$MODELHUB_CACHE/burst}"
PORT="${MODELHUB_BURST_RPC_PORT:-9955}"
CAPACITY="${MODELHUB_BURST_CAPACITY:-64}"
URL="ws://127.0.0.1:$PORT"
modelhub_fresh_hub "$DIR"

echo "[burst] starting a dev node (log: $DIR/node.log) and four workers of capacity $CAPACITY"
modelhub_start_node "$DIR" "$PORT"
for suri in //Dave //Eve //Ferdie //Bob; do
	modelhub_start_worker "$DIR" "$URL" "$suri" "$CAPACITY" --max-jobs 2 --queue "$CAPACITY"
done
node "$MODELHUB_ROOT/scripts/publish-model.mjs" "$MODELHUB_SAMPLE_MODELS/digits.onnx" --name digits --price 0.5 \
	--royalty //Charlie=100 --suri //Charlie --url "$URL" >"$DIR/model.json"
MODEL="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).model)' <"$DIR/model.json")"
node "$MODELHUB_ROOT/scripts/infer.mjs" "$MODEL" --input "$MODELHUB_SAMPLE_MODELS/digits.input.json" --suri //Charlie \
	--url "$URL" --redundancy 4 --quiet >"$DIR/warm-up.json"
echo "[burst] every worker holds model $MODEL ready; bursting"
node "$MODELHUB_ROOT/scripts/burst.mjs" "$MODEL" --input "$MODELHUB_SAMPLE_MODELS/digits.input.json" --url "$URL" "$@"
