#!/usr/bin/env python3
"""Replays a market with a long tail on a running hub: publishes M models and drives N paid
calls whose models follow a Zipf law, through the Python client (python/).

    simulate-market.py [--url ws://127.0.0.1:9944] [--models 50] [--calls 2000] [--exponent 1.1]
                       [--uploaders 5] [--payers 4] [--concurrency 16] [--seed 1] [--path fast]
                       [--report FILE]

Model k of the M (k = 1 for the most wanted) gets a call with probability proportional to
1 / k^exponent; which published model holds rank k, and each model's price (log-uniform
between --price-min and --price-max OPG), are drawn from the seed. The uploaders and payers
are accounts derived from Alice (//Alice//market/uploader/i, //Alice//market/payer/j) and
funded by her; every model is the sample digits classifier under its own name. Calls take the
fast path by default (each payer opens channels to the workers; calls of more than 16 models
take several channels) or go on chain (--path chain, about 17 calls/s at most).

A worker holds at most --max-ready model versions ready (default 8; `dev.sh`'s worker 32, the
chain's bound per worker): for a market of M models, run enough workers with `--max-ready` and
`--max-sessions` high enough, or calls of the models none serves are refused
(NoWorkerAvailable, counted in the report). The script waits until the worker has settled the
calls on chain, then prints the drawn distribution's concentration beside the chain's
(modelhub_marketStats, all time) and writes every figure to --report.
Needs the project's venv (scripts/setup.sh): numpy and the client.
"""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from modelhub import OPG, AsyncClient, HubError, NoWorkerAvailable, format_opg

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "scripts" / "sample-models" / "digits.onnx"
SAMPLE = json.loads((ROOT / "scripts" / "sample-models" / "digits.input.json").read_text())["inputs"]


def zipf_weights(models: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, models + 1, dtype=np.float64) ** exponent
    return weights / weights.sum()


def concentration(counts: list[int], models: int) -> dict:
    """Top-10 share, HHI and Gini of calls across ``models`` models (uncalled ones count)."""
    values = np.sort(np.array(counts + [0] * (models - len(counts)), dtype=np.float64))
    total = values.sum()
    if total == 0:
        return {"top10Share": 0.0, "hhi": 0.0, "gini": 0.0}
    shares = values / total
    ranks = np.arange(1, len(values) + 1)
    gini = float((2 * (ranks * values).sum()) / (len(values) * total) - (len(values) + 1) / len(values))
    return {"top10Share": float(shares[-10:].sum()), "hhi": float((shares**2).sum()), "gini": gini}


async def fund(alice: AsyncClient, accounts: list[str], amount: int) -> None:
    await asyncio.gather(
        *(alice.submit("Balances", "transfer_keep_alive", {"dest": who, "value": amount}) for who in accounts)
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9944")
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--exponent", type=float, default=1.1)
    parser.add_argument("--uploaders", type=int, default=5)
    parser.add_argument("--payers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--price-min", type=float, default=0.01)
    parser.add_argument("--price-max", type=float, default=1.0)
    parser.add_argument("--path", choices=["fast", "chain"], default="fast")
    parser.add_argument("--ready-wait", type=float, default=300, help="most seconds to wait for workers")
    parser.add_argument("--settle-wait", type=float, default=300, help="most seconds to wait for settlement")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.monotonic()

    uploader_uris = [f"//Alice//market/uploader/{i}" for i in range(args.uploaders)]
    payer_uris = [f"//Alice//market/payer/{j}" for j in range(args.payers)]
    async with AsyncClient(args.url, "//Alice", timeout=300) as alice:
        uploaders = [AsyncClient(args.url, uri, timeout=300) for uri in uploader_uris]
        # A payer's channel can hold all of its calls; it needs one channel per 16 models.
        per_payer_calls = args.calls // args.payers + 1
        channels = -(-args.models // 16) + 1
        payers = [
            AsyncClient(args.url, uri, timeout=300, fast=args.path == "fast", channel_calls=per_payer_calls)
            for uri in payer_uris
        ]
        for client in uploaders + payers:
            await client.connect()
        try:
            per_call = int((args.price_max + 0.05) * OPG)
            per_payer = channels * per_payer_calls * per_call + 100 * OPG
            await fund(alice, [c.address for c in uploaders], 100 * OPG)
            await fund(alice, [c.address for c in payers], per_payer)
            print(f"[market] funded {args.uploaders} uploaders and {args.payers} payers ({format_opg(per_payer)} each)")

            prices = np.exp(rng.uniform(np.log(args.price_min), np.log(args.price_max), args.models))
            published = await asyncio.gather(
                *(
                    uploaders[i % args.uploaders].publish(
                        DIGITS,
                        f"{prices[i]:.6f}",
                        {uploaders[i % args.uploaders].address: 100},
                        name=f"market-{args.seed}-{i:05d}",
                        description=f"simulated market model {i} (digits classifier)",
                    )
                    for i in range(args.models)
                )
            )
            ids = sorted(model.id for model in published)
            print(f"[market] published {len(ids)} models: ids {ids[0]}..{ids[-1]}")

            # Calls start once workers serve every model, or no more became served for 30 s
            # (each worker declares at most 32 models ready), or the wait ends; calls of the
            # models no worker serves are refused.
            deadline = time.monotonic() + args.ready_wait
            ready, changed = -1, time.monotonic()
            while True:
                offers = await asyncio.gather(*(alice.fast_workers(model) for model in ids))
                now_ready = sum(1 for offer in offers if offer)
                if now_ready != ready:
                    ready, changed = now_ready, time.monotonic()
                if ready == len(ids) or time.monotonic() > min(deadline, changed + 30):
                    break
                await asyncio.sleep(2)
            print(f"[market] {ready} of {len(ids)} models served by a worker")

            # Rank k (0-based) belongs to a model drawn by a seeded permutation.
            by_rank = rng.permutation(ids)
            drawn = rng.choice(len(ids), size=args.calls, p=zipf_weights(len(ids), args.exponent))
            plan = [int(by_rank[k]) for k in drawn]
            inputs = {
                "float_input": np.array(SAMPLE["float_input"]["data"], dtype=np.float32).reshape(
                    SAMPLE["float_input"]["shape"]
                )
            }

            served: Counter = Counter()
            refused: Counter = Counter()
            failures: Counter = Counter()
            latencies: list[float] = []
            gate = asyncio.Semaphore(args.concurrency)

            async def call(index: int, model: int) -> None:
                async with gate:
                    payer = payers[index % len(payers)]
                    try:
                        result = await payer.infer(model, inputs)
                        served[model] += 1
                        latencies.append(result.latency)
                    except NoWorkerAvailable:
                        refused[model] += 1
                    except HubError as error:
                        failures[type(error).__name__] += 1

            calls_started = time.monotonic()
            await asyncio.gather(*(call(i, model) for i, model in enumerate(plan)))
            calls_seconds = time.monotonic() - calls_started
            total_served = sum(served.values())
            print(
                f"[market] {total_served} of {args.calls} calls served in {calls_seconds:.1f} s "
                f"({total_served / max(calls_seconds, 1e-9):.0f}/s), {sum(refused.values())} refused "
                f"(no worker ready), {sum(failures.values())} failed {dict(failures)}"
            )

            # Wait until the chain counts every served call (the worker settles in batches).
            deadline = time.monotonic() + args.settle_wait
            settled: dict[int, int] = {}
            while True:
                usage = await asyncio.gather(*(alice.usage(model) for model in served))
                settled = {u.model: u.calls for u in usage}
                if all(settled[m] >= served[m] for m in served) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(2)
            drawn_figures = concentration(list(served.values()), len(ids))
            chain = await alice.market(None)
            report = {
                "models": args.models,
                "calls": args.calls,
                "exponent": args.exponent,
                "seed": args.seed,
                "path": args.path,
                "modelIds": ids,
                "served": {str(m): c for m, c in sorted(served.items())},
                "settled": {str(m): c for m, c in sorted(settled.items())},
                "refused": {str(m): c for m, c in sorted(refused.items())},
                "failures": dict(failures),
                "callsSeconds": calls_seconds,
                "latencyP50Ms": float(np.median(latencies) * 1000) if latencies else None,
                "simulated": drawn_figures,
                "chainAllTime": {
                    "calls": chain.calls,
                    "modelsCalled": chain.models_called,
                    "top10Share": chain.top10_share,
                    "hhi": chain.hhi,
                    "gini": chain.gini,
                },
                "seconds": time.monotonic() - started,
            }
            all_settled = all(settled.get(m, 0) >= c for m, c in served.items())
            print(
                f"[market] settled on chain: {sum(settled.values())} calls of {len(served)} models "
                f"({'all' if all_settled else 'not all'} of the served ones)"
            )
            print(
                f"[market] drawn: top-10 share {drawn_figures['top10Share']:.3f}, HHI {drawn_figures['hhi']:.4f}, "
                f"Gini {drawn_figures['gini']:.3f}; the chain, all time (every model on it): top-10 share "
                f"{chain.top10_share:.3f}, HHI {chain.hhi:.4f}, Gini {chain.gini:.3f}"
            )
            if args.report:
                args.report.write_text(json.dumps(report, indent=2) + "\n")
            if not all_settled:
                sys.exit(f"[market] the chain counted fewer calls than were served after {args.settle_wait} s")
        finally:
            for client in uploaders + payers:
                await client.close()


if __name__ == "__main__":
    asyncio.run(main())
