"""The Python client's own cost per call (encode + sign + decode) beside the call's latency.

    python bench/overhead.py [--url ws://127.0.0.1:9944] [--fast-calls 200] [--chain-calls 3]

Without ``--url`` it starts its own hub (``tests/hub.py``: the release node and a worker on
loopback ports). The sample digits classifier is published by Charlie and called by Bob:
first the client's work alone, repeated in a loop (schema check and encoding of the input,
signing a voucher or a ``request_inference`` extrinsic, checking and decoding an answer), then
real calls on the fast path and on chain, whose ``timings`` split the same work out of each
call's latency (beside ``lookup``, the node reads a call starts with: the model's terms and
the workers serving it). Prints a table and, with ``--json FILE``, writes the figures.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from hub import SAMPLES, Hub  # noqa: E402

from modelhub import Client, NoWorkerAvailable, fit_inputs, tensors  # noqa: E402
from modelhub.fastpath import Voucher, attestation_message  # noqa: E402


def sample_input() -> dict:
    sample = json.loads((SAMPLES / "digits.input.json").read_text())["inputs"]["float_input"]
    return {"float_input": np.array(sample["data"], dtype=np.float32).reshape(sample["shape"])}


def per_call(action, repeat: int) -> float:
    """Median seconds of ``action()`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.3f} ms"


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running hub (default: start one)")
    parser.add_argument("--fast-calls", type=int, default=200)
    parser.add_argument("--chain-calls", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2000, help="runs of each client-only step")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    hub = None
    if args.url is None:
        hub = Hub()
        hub.start_node()
        hub.start_worker("//Dave")
        args.url = hub.url
    try:
        run(args)
    finally:
        if hub is not None:
            hub.stop()


def run(args) -> None:
    charlie = Client(args.url, "//Charlie", timeout=300)
    # A channel deposit for every measured call: the figures are the steady state, without a
    # call waiting for a top-up to reach a block.
    bob = Client(args.url, "//Bob", timeout=300, channel_calls=args.fast_calls + 10)
    model = charlie.publish(SAMPLES / "digits.onnx", "0.5", {"//Charlie": 70, "//Ferdie": 30}, name="digits-bench")
    inputs = sample_input()
    deadline = time.monotonic() + 300
    while True:
        try:
            first = bob.infer(model.id, inputs)  # opens the channel: not measured
            break
        except NoWorkerAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)

    # The client's work alone, repeated.
    schema = bob.schema(model.id)
    encoded = fit_inputs(inputs, schema)
    keypair = bob.aio.keypair
    genesis = bob.genesis_hash
    voucher = Voucher(first.channel or 0, 41, 41 * 10**18, ())
    answer = {
        "channel": 7, "call": 42, "block": 99, "artifactHash": "0x" + "11" * 32,
        "inputHash": "0x" + tensors.content_hash(encoded).hex(),
        "outputHash": "0x" + first.output_hash.hex(), "worker": "0x" + "22" * 32,
    }
    output = tensors.encode(first.outputs)
    signature = keypair.sign(attestation_message(genesis, answer))

    def check_answer():
        assert keypair.verify(attestation_message(genesis, answer), signature)
        tensors.content_hash(output)
        tensors.decode(output)

    async def sign_request():
        return await bob.aio._signed(
            "Inference", "request_inference",
            {"model": model.id, "input": "0x" + encoded.hex(), "max_fee": 10**18, "redundancy": 1},
        )

    steps = {
        "encode (schema check + canonical encoding)": per_call(lambda: fit_inputs(inputs, schema), args.repeat),
        "sign a voucher (fast path)": per_call(lambda: voucher.next(model.id, 5, 5).signed(keypair, genesis), args.repeat),
        "check + decode an answer (hashes, sr25519 attestation, tensors)": per_call(check_answer, args.repeat),
        "sign a request_inference extrinsic (on chain; nonce read included)": per_call(
            lambda: bob._run(sign_request()), max(args.repeat // 20, 20)
        ),
    }

    # Real calls: their latency and the client's share of it.
    fast = [bob.infer(model.id, inputs) for _ in range(args.fast_calls)]
    chain = [bob.infer(model.id, inputs, fast=False) for _ in range(args.chain_calls)]

    def summary(results):
        latency = [r.latency for r in results]
        overhead = [sum(r.timings.get(k, 0.0) for k in ("encode", "sign", "decode")) for r in results]
        return {
            "calls": len(results),
            "latency_p50_ms": statistics.median(latency) * 1000,
            "latency_p99_ms": percentile(latency, 0.99) * 1000,
            "latency_max_ms": max(latency) * 1000,
            "overhead_p50_ms": statistics.median(overhead) * 1000,
            "overhead_share": statistics.median(o / l for o, l in zip(overhead, latency)),
            "lookup_p50_ms": statistics.median(r.timings["lookup"] for r in results) * 1000,
            "encode_p50_ms": statistics.median(r.timings["encode"] for r in results) * 1000,
            "sign_p50_ms": statistics.median(r.timings["sign"] for r in results) * 1000,
            "decode_p50_ms": statistics.median(r.timings["decode"] for r in results) * 1000,
        }

    figures = {
        "client_steps_ms": {name: seconds * 1000 for name, seconds in steps.items()},
        "fast": summary(fast),
        "chain": summary(chain),
    }
    print(f"client-only steps (median of repeated runs, input {len(encoded)} bytes):")
    for name, seconds in steps.items():
        print(f"  {ms(seconds)}  {name}")
    for path in ("fast", "chain"):
        f = figures[path]
        print(
            f"{path:>5} path, {f['calls']} calls: latency p50 {f['latency_p50_ms']:.2f} ms, p99 "
            f"{f['latency_p99_ms']:.2f} ms, max {f['latency_max_ms']:.2f} ms; client overhead p50 {f['overhead_p50_ms']:.3f} ms "
            f"(encode {f['encode_p50_ms']:.3f}, sign {f['sign_p50_ms']:.3f}, decode {f['decode_p50_ms']:.3f}) "
            f"= {f['overhead_share'] * 100:.1f}% of the call; node reads before it p50 {f['lookup_p50_ms']:.3f} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    charlie.close()
    bob.close()


if __name__ == "__main__":
    main()
