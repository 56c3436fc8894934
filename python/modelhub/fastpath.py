"""The fast path's client side (``docs/fast-path.md``): a payment channel per worker, a
signed voucher per call, and the worker's attested answer, checked here.

A *lane* is the client's state for one worker: a WebSocket to the worker's endpoint, the
channel that pays it, the latest voucher the worker accepted and the worker's attestation
key. Calls on one lane go one at a time (each voucher extends the one before); calls to
different workers run side by side.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Optional

from bittensor_wallet import Keypair

from . import errors, tensors
from .errors import AttestationInvalid, FeeAboveMax, HubError, NoWorkerAvailable, Timeout
from .rpc import CallError, JsonRpc
from .types import InferenceResult, Model, Progress, Quote

if TYPE_CHECKING:
    from .client import AsyncClient

VOUCHER_CONTEXT = b"opg:voucher:v1"
ATTESTATION_CONTEXT = b"opg:fast-attestation:v1"
#: A channel is reused while it has at least this many blocks left.
MIN_BLOCKS_LEFT = 10
#: How often a refused voucher is rebuilt from the worker's answer before the call fails.
ATTEMPTS = 4
#: The most entries a voucher holds (``MAX_VOUCHER_ENTRIES``): distinct (model, price,
#: execution fee) groups a channel can ever pay for. Calls beyond go on another channel.
MAX_ENTRIES = 16


@dataclass(frozen=True)
class Entry:
    """``calls`` calls of ``model`` that each paid ``price`` and ``execution``."""

    model: int
    price: int
    execution: int
    calls: int

    def key(self) -> tuple[int, int, int]:
        return (self.model, self.price, self.execution)


@dataclass(frozen=True)
class Voucher:
    """Everything a channel has paid so far (``modelhub_primitives::channel::Voucher``)."""

    channel: int
    calls: int = 0
    total: int = 0
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        """The SCALE encoding: u64, u64, u128, then the entries."""
        parts = [struct.pack("<QQ", self.channel, self.calls), self.total.to_bytes(16, "little")]
        parts.append(tensors.compact(len(self.entries)))
        for entry in self.entries:
            parts += [
                struct.pack("<Q", entry.model),
                entry.price.to_bytes(16, "little"),
                entry.execution.to_bytes(16, "little"),
                struct.pack("<Q", entry.calls),
            ]
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> "Voucher":
        channel, calls = struct.unpack_from("<QQ", data, 0)
        total = int.from_bytes(data[16:32], "little")
        count = data[32] >> 2  # at most 16 entries: one-byte compact
        entries = []
        at = 33
        for _ in range(count):
            (model,) = struct.unpack_from("<Q", data, at)
            price = int.from_bytes(data[at + 8 : at + 24], "little")
            execution = int.from_bytes(data[at + 24 : at + 40], "little")
            (entry_calls,) = struct.unpack_from("<Q", data, at + 40)
            entries.append(Entry(model, price, execution, entry_calls))
            at += 48
        if at != len(data):
            raise HubError("the worker's latest voucher does not decode")
        return cls(channel, calls, total, tuple(entries))

    def fits(self, model: int, price: Optional[int] = None, execution: Optional[int] = None) -> bool:
        """Whether a call of ``model`` (at ``price`` and ``execution``, when known) can be
        added: its entry exists, or there is room for one."""
        if len(self.entries) < MAX_ENTRIES:
            return True
        return any(
            e.model == model and price in (None, e.price) and execution in (None, e.execution) for e in self.entries
        )

    def next(self, model: int, price: int, execution: int) -> "Voucher":
        """This voucher plus one call of ``model`` at ``price`` and ``execution``; entries
        stay ordered by (model, price, execution)."""
        key = (model, price, execution)
        entries = list(self.entries)
        for i, entry in enumerate(entries):
            if entry.key() == key:
                entries[i] = replace(entry, calls=entry.calls + 1)
                break
        else:
            entries.append(Entry(model, price, execution, 1))
            entries.sort(key=Entry.key)
        return Voucher(self.channel, self.calls + 1, self.total + price + execution, tuple(entries))

    def signed(self, keypair: Keypair, genesis_hash: bytes) -> tuple[str, str]:
        """The voucher's encoding and the payer's ``MultiSignature`` (sr25519) over
        ``VOUCHER_CONTEXT ‖ genesis ‖ voucher``, both ``0x`` hex."""
        encoded = self.encode()
        signature = keypair.sign(VOUCHER_CONTEXT + genesis_hash + encoded)
        return "0x" + encoded.hex(), "0x01" + bytes(signature).hex()


def attestation_message(genesis_hash: bytes, answer: dict) -> bytes:
    """What a worker signs for a fast call: ``FastAttestation``'s SCALE after its context."""
    return b"".join(
        [
            ATTESTATION_CONTEXT,
            genesis_hash,
            struct.pack("<QQI", int(answer["channel"]), int(answer["call"]), int(answer["block"])),
            _bytes(answer["artifactHash"]),
            _bytes(answer["inputHash"]),
            _bytes(answer["outputHash"]),
            _bytes(answer["worker"]),
        ]
    )


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


class Lane:
    """The client's channel to one worker."""

    def __init__(self, account: str, endpoint: str):
        self.account = account
        self.endpoint = endpoint
        self.rpc: Optional[JsonRpc] = None
        self.channel: Optional[int] = None
        self.voucher: Optional[Voucher] = None
        self.attestation_key: Optional[Keypair] = None
        self.quotes: dict[tuple[int, int], tuple[int, int]] = {}
        self.lock = asyncio.Lock()
        #: All the channel's deposits so far: the most its vouchers may total.
        self.capacity = 0
        #: A top-up on its way to the chain, started before the deposit runs out.
        self.topping: Optional[asyncio.Task] = None

    def fits(self, model: int) -> bool:
        return self.voucher is None or self.voucher.fits(model)


class _LaneFull(Exception):
    """The lane's voucher has no room for the call's entry: another channel takes it."""


class Lanes:
    """The lanes of one client: a list per worker account (one channel pays for at most
    ``MAX_ENTRIES`` groups of calls, so calls of many models take several)."""

    def __init__(self, client: "AsyncClient"):
        self.client = client
        self.lanes: dict[str, list[Lane]] = {}
        self.turn = 0

    def all(self) -> list[Lane]:
        return [lane for lanes in self.lanes.values() for lane in lanes]

    async def close(self) -> None:
        for lane in self.all():
            if lane.topping is not None:
                await asyncio.gather(lane.topping, return_exceptions=True)
            if lane.rpc is not None:
                await lane.rpc.close()
        self.lanes.clear()

    def _pick(self, workers: list[dict], model: int) -> Lane:
        """A free lane with room for ``model`` on one of ``workers``; else a busy one of the
        next worker in turn (the call waits for it), or a new lane to it."""
        offered = {worker["account"]: worker for worker in workers}
        for account in offered:
            for lane in self.lanes.get(account, []):
                if lane.channel is not None and not lane.lock.locked() and lane.fits(model):
                    return lane
        self.turn += 1
        worker = workers[self.turn % len(workers)]
        lanes = self.lanes.setdefault(worker["account"], [])
        for lane in lanes:
            if lane.fits(model):
                return lane
        lane = Lane(worker["account"], worker["endpoint"])
        lanes.append(lane)
        return lane

    async def infer(
        self,
        record: Model,
        encoded: bytes,
        workers: list[dict],
        max_fee: Optional[int],
        started: float,
        timeout: float,
        progress,
        timings: dict,
    ) -> InferenceResult:
        deadline = Deadline(started, timeout)
        for _ in range(MAX_ENTRIES + 1):
            lane = self._pick(workers, record.id)
            try:
                async with lane.lock:
                    return await self._call(lane, record, encoded, max_fee, deadline, progress, started, timings)
            except _LaneFull:
                continue
        raise HubError(f"no channel has room for a call of model {record.id}")

    async def _call(
        self,
        lane: Lane,
        record: Model,
        encoded: bytes,
        max_fee: Optional[int],
        deadline: Deadline,
        progress,
        started: float,
        timings: dict,
    ) -> InferenceResult:
        """One call on ``lane``, whose lock the caller holds."""
        from .client import _report

        await self._ready(lane, record.id, len(encoded), deadline, progress, started)
        assert lane.rpc is not None and lane.voucher is not None
        refusals = 0
        while True:
            price, execution = await self._quote(lane, record.id, len(encoded), deadline)
            if max_fee is not None and price + execution > max_fee:
                fee = Quote(price + execution, price, execution, None, None, None, 0)
                raise FeeAboveMax(price + execution, max_fee, fee)
            if not lane.voucher.fits(record.id, price, execution):
                raise _LaneFull()
            signing = time.perf_counter()
            voucher = lane.voucher.next(record.id, price, execution)
            voucher_hex, signature = voucher.signed(self.client._signer(), self.client.genesis_hash)
            timings["sign"] = time.perf_counter() - signing
            params = {"model": record.id, "input": "0x" + encoded.hex(), "voucher": voucher_hex, "signature": signature}
            try:
                answer = await lane.rpc.call("fast_infer", params, deadline.left("the worker's answer"))
            except CallError as error:
                refusals += await self._recover(lane, record, len(encoded), voucher, error, deadline, progress, started, refusals)
                continue
            lane.voucher = voucher
            self._top_up_soon(lane, record.id, price + execution)
            await _report(progress, Progress("served", time.perf_counter() - started, answer))
            result = await self._check(lane, record, encoded, answer, voucher, price, execution, started, timings)
            await _report(progress, Progress("verified", time.perf_counter() - started, {"outputHash": answer["outputHash"]}))
            return result

    async def _quote(self, lane: Lane, model: int, length: int, deadline: Deadline) -> tuple[int, int]:
        key = (model, length)
        if key not in lane.quotes:
            quote = await self._worker_call(lane, "fast_quote", [model, length], deadline, model)
            lane.quotes[key] = (int(quote["price"]), int(quote["execution"]))
        return lane.quotes[key]

    async def _worker_call(self, lane: Lane, method: str, params: Any, deadline: Deadline, model: int) -> Any:
        assert lane.rpc is not None
        try:
            return await lane.rpc.call(method, params, deadline.left(f"{method} at {lane.endpoint}"))
        except CallError as error:
            raise self._refusal(error, model) from error

    def _refusal(self, error: CallError, model: int) -> HubError:
        data = error.data if isinstance(error.data, dict) else {}
        return errors.from_worker(data.get("error", ""), error.message, error.data, model=model, account=self.client.address)

    async def _ready(self, lane: Lane, model: int, length: int, deadline: Deadline, progress, started: float) -> None:
        """Connects the lane and finds or opens its channel, once."""
        from .client import _report

        if lane.rpc is None or lane.rpc.closed:
            lane.rpc = await JsonRpc(lane.endpoint).connect(timeout=deadline.left("connecting to the worker"))
        if lane.attestation_key is None:
            worker = await self.client.worker(lane.account)
            if worker is None or not worker.attestation_key:
                raise NoWorkerAvailable(model, f"{lane.account} is not a registered worker")
            lane.attestation_key = Keypair(public_key=worker.attestation_key)
        if lane.channel is None:
            for channel, capacity in await self._find_channels(lane):
                if channel in {other.channel for other in self.all()}:
                    continue  # another lane took it meanwhile
                lane.channel, lane.capacity = channel, capacity
                lane.voucher = await self._latest(lane, model, deadline)
                if lane.fits(model):
                    return
                lane.channel, lane.voucher = None, None
            if lane.channel is None:
                price, execution = await self._quote(lane, model, length, deadline)
                deposit = await self._deposit(price + execution, model)
                events = await self.client.submit(
                    "Channels",
                    "open_channel",
                    {"worker": lane.account, "deposit": deposit, "lifetime": self.client.channel_lifetime},
                    timeout=deadline.left("opening a channel"),
                )
                opened = self.client._find(events, "Channels", "ChannelOpened")
                lane.channel, lane.capacity = int(opened["channel"]), deposit
                await _report(progress, Progress("channelOpened", time.perf_counter() - started, {"channel": lane.channel, "deposit": deposit}))
            lane.voucher = await self._latest(lane, model, deadline)

    async def _deposit(self, per_call: int, model: int) -> int:
        """What a new channel (or a top-up) holds: ``channel_calls`` calls' worth, or as many
        calls as nine tenths of the signer's free balance pay for; at least the chain's
        minimum. Raises :class:`InsufficientBalance` before any transaction when the signer
        cannot pay for one call."""
        assert self.client.substrate is not None
        minimum = int((await self.client.substrate.get_constant("Channels", "MinDeposit")).value)
        free = await self.client.balance()
        affordable = free * 9 // 10
        deposit = max(per_call * max(self.client.channel_calls, 1), minimum)
        if deposit > affordable:
            deposit = max(affordable // per_call * per_call, minimum) if per_call else minimum
        if deposit > affordable or deposit < per_call:
            raise errors.InsufficientBalance(
                self.client.address,
                f"{self.client.address} has {free} free; a channel for one call of model {model} holds {max(per_call, minimum)}",
            )
        return deposit

    async def _latest(self, lane: Lane, model: int, deadline: Deadline) -> Voucher:
        """The channel's latest voucher as the worker holds it, once the worker has seen the
        channel (it reads channels at the blocks it imports)."""
        assert lane.rpc is not None
        while True:
            try:
                latest = await lane.rpc.call("fast_latest", [lane.channel], deadline.left("fast_latest"))
                return Voucher.decode(_bytes(latest["voucher"]))
            except CallError as error:
                if not isinstance(error.data, dict) or error.data.get("error") != "channelNotFound":
                    raise self._refusal(error, model) from error
            deadline.left("waiting for the worker to see the channel")
            await asyncio.sleep(0.5)

    async def _find_channels(self, lane: Lane) -> list[tuple[int, int]]:
        """The open channels from the signer to the lane's worker with blocks to spare that no
        other lane uses, each with all it was ever given (what it holds plus what it paid)."""
        substrate = self.client.substrate
        assert substrate is not None
        now = await self.client.block_number()
        payer = self.client.address
        in_use = {other.channel for other in self.all()}
        found = []
        channels = await substrate.query_map("Channels", "Channels", page_size=200)
        async for key, value in channels:
            channel = value.value if hasattr(value, "value") else value
            if (
                channel["payer"] == payer
                and channel["worker"] == lane.account
                and channel["closing"] is None
                and int(channel["expires_at"]) > now + MIN_BLOCKS_LEFT
            ):
                channel_id = int(key.value if hasattr(key, "value") else key)
                if channel_id not in in_use:
                    found.append((channel_id, int(channel["deposit"]) + int(channel["paid"])))
        return sorted(found)

    def _top_up_soon(self, lane: Lane, model: int, per_call: int) -> None:
        """Starts a top-up in the background once less than a quarter of a refill is left, so
        calls never wait for one while the balance lasts."""
        assert lane.voucher is not None
        refill = per_call * max(self.client.channel_calls, 1)
        if lane.capacity - lane.voucher.total >= max(refill // 4, per_call):
            return
        if lane.topping is not None and not lane.topping.done():
            return
        lane.topping = asyncio.get_running_loop().create_task(self._top_up(lane, model, per_call, None))

    async def _top_up(self, lane: Lane, model: int, per_call: int, deadline: Optional[Deadline]) -> int:
        """Adds a refill to the lane's channel; returns the amount."""
        amount = await self._deposit(per_call, model)
        timeout = deadline.left("topping up the channel") if deadline else None
        await self.client.submit(
            "Channels",
            "top_up",
            {"channel": lane.channel, "amount": amount, "lifetime": self.client.channel_lifetime},
            timeout=timeout,
        )
        lane.capacity += amount
        return amount

    async def _recover(
        self,
        lane: Lane,
        record: Model,
        length: int,
        voucher: Voucher,
        error: CallError,
        deadline: Deadline,
        progress,
        started: float,
        refusals: int,
    ) -> int:
        """Mends what a refused voucher says is stale and returns how many refusals that
        counts for (0 while a top-up reaches the worker), or raises the refusal as a typed
        error."""
        from .client import _report

        data = error.data if isinstance(error.data, dict) else {}
        kind = data.get("error", "")
        if refusals + 1 >= ATTEMPTS:
            raise self._refusal(error, record.id) from error
        if kind in ("voucherNotNext", "voucherStale"):
            lane.quotes.clear()
            lane.voucher = await self._latest(lane, record.id, deadline)
            return 1
        if kind == "voucherAboveDeposit":
            if lane.topping is not None:
                topping, lane.topping = lane.topping, None
                await asyncio.gather(topping, return_exceptions=True)
            if lane.capacity < voucher.total:
                per_call = voucher.total - (lane.voucher.total if lane.voucher else 0)
                amount = await self._top_up(lane, record.id, per_call, deadline)
                await _report(progress, Progress("channelToppedUp", time.perf_counter() - started, {"channel": lane.channel, "amount": amount}))
                return 1
            # The deposit is on chain; the worker sees it at the next block it imports.
            deadline.left("waiting for the worker to see the top-up")
            await asyncio.sleep(0.5)
            return 0
        if kind == "channelNotOpen":
            lane.channel = None
            await self._ready(lane, record.id, length, deadline, progress, started)
            return 1
        raise self._refusal(error, record.id) from error

    async def _check(
        self,
        lane: Lane,
        record: Model,
        encoded: bytes,
        answer: dict,
        voucher: Voucher,
        price: int,
        execution: int,
        started: float,
        timings: dict,
    ) -> InferenceResult:
        """The answer's outputs once its hashes and the worker's attestation check out."""
        decoding = time.perf_counter()
        output = _bytes(answer["output"])
        output_hash = tensors.content_hash(output)
        expected_artifact = self.client._artifacts.get((record.id, record.version))
        problems = []
        if _bytes(answer["outputHash"]) != output_hash:
            problems.append("the output does not match its hash")
        if _bytes(answer["inputHash"]) != tensors.content_hash(encoded):
            problems.append("the attested input is not the input sent")
        if expected_artifact is not None and _bytes(answer["artifactHash"]) != expected_artifact:
            problems.append("the attested artifact is not the model's current version")
        if int(answer["channel"]) != voucher.channel or int(answer["call"]) != voucher.calls:
            problems.append("the attestation names another call")
        assert lane.attestation_key is not None
        message = attestation_message(self.client.genesis_hash, answer)
        if not lane.attestation_key.verify(message, _bytes(answer["signature"])):
            problems.append("the worker's signature does not verify")
        if problems:
            raise AttestationInvalid(f"{lane.account}: " + "; ".join(problems))
        outputs = tensors.decode(output)
        timings["decode"] = time.perf_counter() - decoding
        return InferenceResult(
            outputs=outputs,
            path="fast",
            model=record.id,
            fee=Quote(price + execution, price, execution, None, None, None, 0),
            paid=price + execution,
            payouts=[],
            workers=[lane.account],
            output_hash=output_hash,
            latency=time.perf_counter() - started,
            channel=voucher.channel,
            call=voucher.calls,
            block=int(answer["block"]),
            attested=True,
            timings=timings,
        )


class Deadline:
    """When a call must end, and the timeout it came from."""

    def __init__(self, started: float, timeout: float):
        self.at = started + timeout
        self.timeout = timeout

    def left(self, what: str) -> float:
        """Seconds left; raises :class:`Timeout` naming ``what`` when none are."""
        left = self.at - time.perf_counter()
        if left <= 0:
            raise Timeout(what, self.timeout)
        return left
