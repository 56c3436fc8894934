"""The client against a real hub: a dev node and a worker on loopback (``tests/hub.py``).

Charlie publishes the models (and reads them back); Bob pays for calls from NumPy arrays on
both paths; each typed error is triggered by the hub itself, not mocked.
"""

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import modelhub
from modelhub import (
    AsyncClient,
    Client,
    ConnectionLost,
    FeeAboveMax,
    InsufficientBalance,
    InvalidInput,
    ModelNotActive,
    ModelNotFound,
    NoWorkerAvailable,
    Refunded,
    Timeout,
    TransactionFailed,
)

from hub import FIXTURES, ROOT, SAMPLES, Hub, running_hub

OPG = modelhub.OPG
DIGITS = SAMPLES / "digits.onnx"


def digits_input() -> dict:
    sample = json.loads((SAMPLES / "digits.input.json").read_text())["inputs"]["float_input"]
    return {"float_input": np.array(sample["data"], dtype=np.float64).reshape(sample["shape"])}


def wait_ready(client: Client, model: int, within: float = 180) -> None:
    """Until a worker holds ``model`` ready and serves it (bounded)."""
    deadline = time.monotonic() + within
    while not client.fast_workers(model):
        if time.monotonic() > deadline:
            raise AssertionError(f"no worker ready for model {model} within {within} s")
        time.sleep(1)


@pytest.fixture(scope="module")
def hub():
    # Room to hold every model of the tests ready (the simulated market publishes 20).
    with running_hub(worker=("--max-ready", "40", "--max-sessions", "40")) as hub:
        yield hub


@pytest.fixture(scope="module")
def charlie(hub):
    with Client(hub.url, "//Charlie", timeout=180) as client:
        yield client


@pytest.fixture(scope="module")
def bob(hub):
    with Client(hub.url, "//Bob", timeout=180) as client:
        yield client


@pytest.fixture(scope="module")
def digits(charlie):
    model = charlie.publish(
        DIGITS,
        "0.5",
        {"//Charlie": 70, "//Ferdie": 30},
        name="digits",
        description="8x8 handwritten digits, logistic regression",
    )
    wait_ready(charlie, model.id)
    return model


def test_publish_reads_back_terms_and_schema(charlie, digits):
    assert digits.name == "digits" and digits.state == "active" and digits.version == 1
    assert digits.owner == charlie.address and digits.price == OPG // 2
    schema = charlie.schema(digits.id)
    assert [(s.name, s.dtype, s.shape) for s in schema.inputs] == [("float_input", "f32", (None, 64))]
    assert [s.name for s in schema.outputs] == ["label", "probabilities"]
    assert digits.id in [m.id for m in charlie.models(order="newest")]
    repriced = charlie.set_price(digits.id, 6 * OPG // 10)
    assert repriced.price == 6 * OPG // 10
    assert charlie.set_price(digits.id, "0.5").price == OPG // 2


def test_a_paid_call_on_chain_from_numpy_reports_progress_in_order(bob, charlie, digits):
    steps = []
    charlie_before = charlie.balance()
    result = bob.infer(digits.id, digits_input(), fast=False, progress=steps.append)
    events = [step.event for step in steps]
    for earlier, later in [("inBlock", "assigned"), ("assigned", "settled")]:
        assert events.index(earlier) < events.index(later), events
    assert events[0] in ("ready", "future") and events[-1] == "settled", events
    assert [s.elapsed for s in steps] == sorted(s.elapsed for s in steps)
    assert result.path == "chain" and result.request is not None
    assert result["label"].dtype == np.int64 and result["label"].tolist() == [0]
    assert result["probabilities"].shape == (1, 10)
    assert abs(float(result["probabilities"].sum()) - 1.0) < 1e-3
    assert result.fee.royalty == OPG // 2 and result.fee.total >= result.paid
    assert result.paid == sum(p.amount for p in result.payouts)
    assert result.workers == [modelhub.account_of("//Dave")]
    assert result.output_hash == modelhub.tensors.content_hash(modelhub.tensors.encode(result.outputs))
    assert charlie.balance() - charlie_before == 35 * OPG // 100
    assert set(result.timings) == {"lookup", "encode", "sign", "decode"}
    usage = bob.usage(digits.id)
    assert usage.calls >= 1 and usage.royalties >= OPG // 2 and usage.rank == 1
    market = bob.market(1)
    assert market.calls >= 1 and market.models_called >= 1 and 0 < market.hhi <= 1
    worker = bob.worker("//Dave")
    assert worker.registered and worker.jobs >= 1 and worker.earnings > 0


def test_a_fast_call_is_attested_and_matches_the_chain(bob, digits):
    steps = []
    first = bob.infer(digits.id, digits_input(), fast=True, progress=steps.append)
    second = bob.infer(digits.id, digits_input())
    assert first.path == second.path == "fast" and first.attested
    assert second.channel == first.channel and second.call == first.call + 1
    assert [s.event for s in steps][-2:] == ["served", "verified"]
    assert "channelOpened" in [s.event for s in steps] or first.call > 1
    assert first["label"].tolist() == [0]
    assert first.fee.royalty == OPG // 2 and first.fee.chain == 0 and first.payouts == []
    chain = bob.infer(digits.id, digits_input(), fast=False)
    assert chain.output_hash == first.output_hash


def test_a_small_channel_is_topped_up_and_calls_go_on(hub, digits):
    with Client(hub.url, "//Ferdie", channel_calls=2) as ferdie:
        results = [ferdie.infer(digits.id, digits_input()) for _ in range(6)]
        assert {r.channel for r in results} == {results[0].channel}
        assert [r.call for r in results] == list(range(results[0].call, results[0].call + 6))
        [lane] = ferdie.aio._lanes.lanes[modelhub.account_of("//Dave")]
        assert lane.capacity >= sum(r.paid for r in results)


def test_the_async_client_runs_calls_side_by_side(hub, digits):
    async def main():
        async with AsyncClient(hub.url, "//Bob") as client:
            results = await asyncio.gather(*(client.infer(digits.id, digits_input()) for _ in range(4)))
            assert [r["label"].tolist() for r in results] == [[0]] * 4
            calls = sorted(r.call for r in results)
            assert calls == list(range(calls[0], calls[0] + 4))
            assert (await client.model(digits.id)).name == "digits"

    asyncio.run(main())


def test_unknown_model_bad_input_and_fee_above_max_are_typed(bob, digits):
    with pytest.raises(ModelNotFound) as unknown:
        bob.infer(9_999, digits_input())
    assert unknown.value.model == 9_999
    with pytest.raises(InvalidInput) as bad:
        bob.infer(digits.id, {"float_input": np.zeros((1, 63))})
    assert bad.value.tensor == "float_input" and "[?, 64]" in bad.value.problem
    with pytest.raises(FeeAboveMax) as fee:
        bob.infer(digits.id, digits_input(), fast=False, max_fee=1)
    assert fee.value.max_fee == 1 and fee.value.fee > OPG // 2
    with pytest.raises(FeeAboveMax):
        bob.infer(digits.id, digits_input(), fast=True, max_fee="0.5")


def test_a_poor_caller_gets_insufficient_balance_and_keeps_its_funds(hub, bob, digits):
    from bittensor_wallet import Keypair

    poor = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    bob.submit("Balances", "transfer_keep_alive", {"dest": poor.ss58_address, "value": OPG // 10})
    with Client(hub.url, poor) as client:
        before = client.balance()
        with pytest.raises(InsufficientBalance):
            client.infer(digits.id, digits_input(), fast=False)
        with pytest.raises(InsufficientBalance):
            client.infer(digits.id, digits_input(), fast=True)
        # Refused before any transaction: not even a transaction fee was paid.
        assert client.balance() == before


def test_a_model_no_worker_can_serve_then_a_paused_model(charlie, bob):
    # The artifact's URI names a file that does not match its hash: no worker declares it.
    model = charlie.publish(
        DIGITS, "0.1", {"//Charlie": 100}, name="unservable", uri=f"file://{SAMPLES / 'linear.onnx'}"
    )
    with pytest.raises(NoWorkerAvailable):
        bob.infer(model.id, digits_input())
    paused = charlie.pause(model.id)
    assert paused.state == "paused"
    with pytest.raises(ModelNotActive) as inactive:
        bob.infer(model.id, digits_input())
    assert inactive.value.state == "paused"
    with pytest.raises(TransactionFailed) as failed:
        bob.set_price(model.id, 1)
    assert failed.value.error == "NotModelOwner"


@pytest.mark.skipif(not hasattr(socket, "AF_INET"), reason="needs sockets")
def test_a_crashing_model_is_refunded_with_its_reason(charlie, bob):
    model = charlie.publish(FIXTURES / "crash.onnx", "0.1", {"//Charlie": 100}, name="crash")
    wait_ready(charlie, model.id)
    before = bob.balance()
    with pytest.raises(Refunded) as refunded:
        bob.infer(model.id, {"x": np.array([1.0], dtype=np.float32)}, fast=False)
    assert refunded.value.reason == "workersFailed" and refunded.value.amount > 0
    # Only the transaction fee of the request is gone; the call's fee came back in full.
    assert before - bob.balance() < OPG // 10


def test_a_short_timeout_is_a_timeout(bob, digits):
    with pytest.raises(Timeout) as timed_out:
        bob.infer(digits.id, digits_input(), fast=False, timeout=1.0)
    assert timed_out.value.seconds == 1.0


class Proxy:
    """A loopback TCP proxy to the node whose connections can be cut."""

    def __init__(self, port: int):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = port
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_a_lost_connection_is_connection_lost(hub, digits):
    proxy = Proxy(hub.rpc_port)

    async def main():
        async with AsyncClient(f"ws://127.0.0.1:{proxy.port}", "//Bob", timeout=120) as client:
            def cut(step):
                if step.event in ("ready", "future"):
                    proxy.cut()

            with pytest.raises(ConnectionLost):
                await client.infer(digits.id, digits_input(), fast=False, progress=cut)

    asyncio.run(main())
    with pytest.raises(ConnectionLost):
        Client(f"ws://127.0.0.1:{proxy.port}", "//Bob")


def test_the_sklearn_example_publishes_calls_and_prints_the_earnings(hub, digits, tmp_path):
    example = ROOT / "python" / "examples" / "publish_sklearn.py"
    run = subprocess.run(
        [sys.executable, str(example), "--url", hub.url, "--uploader", "//Eve", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "published model" in run.stdout and "on the fast path" in run.stdout, run.stdout
    earned = [line for line in run.stdout.splitlines() if line.startswith("uploader ")]
    assert earned and "1 settled call(s)" in earned[0] and "earned 0.25 OPG" in earned[0], run.stdout


def test_a_simulated_market_is_served_settled_and_counted(hub, digits, tmp_path):
    """scripts/simulate-market.py: 20 models (more than one channel's 16 groups), a Zipf
    workload of 200 calls by two payers, every call settled and counted on chain."""
    report = tmp_path / "market.json"
    run = subprocess.run(
        [
            sys.executable, str(ROOT / "scripts" / "simulate-market.py"), "--url", hub.url,
            "--models", "20", "--calls", "200", "--payers", "2", "--uploaders", "2",
            "--exponent", "1.2", "--seed", "7", "--report", str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(report.read_text())
    served = {int(m): c for m, c in figures["served"].items()}
    assert sum(served.values()) == 200 and not figures["refused"] and not figures["failures"], figures
    assert figures["settled"] == figures["served"]
    # The most wanted model got the most calls, and a long tail got few.
    counts = sorted(served.values(), reverse=True)
    assert counts[0] > 5 * counts[len(counts) // 2]
    assert 0 < figures["simulated"]["hhi"] < 1 and figures["simulated"]["gini"] > 0.3
