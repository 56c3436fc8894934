#!/usr/bin/env bash
# Soak test of modelhub-worker: a dev node (its chain on disk, restarted every
# $MODELHUB_SOAK_RESTART_SECONDS, default 420) and one worker (Dave: capacity 8, two executions
# at once, 10 s and 2 GiB per execution) serving, for $MODELHUB_SOAK_MINUTES (default 30), one
# paid call every 4 s drawn among five models: the digits classifier (weight 5), a slow model
# (two seconds a call, 2), one that allocates 8 GiB (1), one that crashes ONNX Runtime (1) and
# one that never ends (1) (inference-worker/tests/fixtures). Every 15 s it samples the resident
# memory of the worker and of its model processes (in $DIR/memory.tsv). At the end it prints
# how every request ended, the memory figures and the worker's record on chain, and fails if
# the worker was ever slashed. Logs are in $MODELHUB_SOAK_DIR (default ~/.cache/modelhub/soak).
set -euo pipefail
. "$(dirname "$0")/env.sh"
modelhub_setup
"$MODELHUB_ROOT/scripts/build.sh"

DIR="${MODELHUB_SOAK_DIR:-$MODELHUB_CACHE/soak}"
PORT="${MODELHUB_SOAK_RPC_PORT:-9966}"
MINUTES="${MODELHUB_SOAK_MINUTES:-30}"
RESTART_EVERY="${MODELHUB_SOAK_RESTART_SECONDS:-420}"
URL="ws://127.0.0.1:$PORT"
FIXTURES="$MODELHUB_ROOT/inference-worker/tests/fixtures"
modelhub_fresh_hub "$DIR"

echo "[soak] dev node on $URL (chain in $DIR/chain), worker //Dave; $MINUTES minutes"
modelhub_start_node "$DIR" "$PORT" --base-path "$DIR/chain"
node_pid="${MODELHUB_PIDS[-1]}"
modelhub_start_worker "$DIR" "$URL" //Dave 8 --max-jobs 2 --max-execution-secs 10 \
	--model-memory-mib 2048 --prometheus 127.0.0.1:9617
worker_pid="${MODELHUB_PIDS[-1]}"

publish() {
	node "$MODELHUB_ROOT/scripts/publish-model.mjs" "$1" --name "$2" --price 0.1 \
		--royalty //Charlie=100 --suri //Charlie --url "$URL" |
		node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).model)'
}
models=(--model "digits=$(publish "$MODELHUB_SAMPLE_MODELS/digits.onnx" digits):5:$MODELHUB_SAMPLE_MODELS/digits.input.json")
for spec in slow:2 hog:1 crash:1 hang:1; do
	name="${spec%%:*}"
	models+=(--model "$name=$(publish "$FIXTURES/$name.onnx" "$name"):${spec#*:}:$FIXTURES/hostile.input.json")
done
echo "[soak] published ${models[*]}"

node "$MODELHUB_ROOT/scripts/soak.mjs" "${models[@]}" --seconds "$((MINUTES * 60))" --url "$URL" \
	>"$DIR/soak.json" 2>"$DIR/soak.log" &
driver=$!

# Resident memory (KiB) of a process, 0 once it is gone.
rss() { awk '/^VmRSS/ { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
printf 'seconds\tworker_kib\thosts_kib\thosts\n' >"$DIR/memory.tsv"
started=$(date +%s)
next_restart=$((started + RESTART_EVERY))
restarts=0
while kill -0 "$driver" 2>/dev/null; do
	now=$(date +%s)
	hosts=0 hosts_kib=0
	for pid in $(pgrep -P "$worker_pid" || true); do
		hosts=$((hosts + 1))
		hosts_kib=$((hosts_kib + $(rss "$pid")))
	done
	printf '%s\t%s\t%s\t%s\n' "$((now - started))" "$(rss "$worker_pid")" "$hosts_kib" "$hosts" >>"$DIR/memory.tsv"
	if [ "$now" -ge "$next_restart" ] && [ "$((now - started))" -lt "$((MINUTES * 60 - 60))" ]; then
		echo "[soak] $((now - started)) s: restarting the node"
		kill "$node_pid" && wait "$node_pid" 2>/dev/null || true
		modelhub_start_node "$DIR" "$PORT" --base-path "$DIR/chain"
		node_pid="${MODELHUB_PIDS[-1]}"
		restarts=$((restarts + 1))
		next_restart=$((now + RESTART_EVERY))
	fi
	sleep 15
done
wait "$driver" || { cat "$DIR/soak.log" >&2; exit 1; }

"$MODELHUB_WORKER_BIN" status --url "$URL" --suri //Dave >"$DIR/status.json"
echo "[soak] node restarts: $restarts"
echo "[soak] requests:"
sed 's/^/[soak]   /' "$DIR/soak.json"
awk -F'\t' 'NR > 1 { w = $2; h = $3; if (w > wmax) wmax = w; if (h > hmax) hmax = h; if (!wfirst && $1 >= 300) wfirst = w; n = $4 }
	END { printf "[soak] worker RSS: %d MiB at 5 min, %d MiB at most, %d MiB at the end; model processes: %d MiB at most, %d MiB in %d at the end\n",
		wfirst / 1024, wmax / 1024, w / 1024, hmax / 1024, h / 1024, n }' "$DIR/memory.tsv"
echo "[soak] worker on chain: $(cat "$DIR/status.json")"
slashes="$(node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8")).slashes))' <"$DIR/status.json")"
if [ "$slashes" != 0 ]; then
	echo "[soak] the worker was slashed $slashes times" >&2
	exit 1
fi
