"""What the client returns: dataclasses over the node's JSON answers (``docs/rpc.md``).

Balances are ``int`` in the smallest unit (10^-18 OPG); :func:`modelhub.format_opg` prints
them. Accounts are SS58 addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


@dataclass(frozen=True)
class Quote:
    """A call's fee and how settlement splits it: ``total = royalty + execution + chain`` and
    ``execution = validators + treasury + workers``. On the fast path ``chain`` is 0 and the
    execution fee's split is made when the worker settles the channel (``None`` here)."""

    total: int
    royalty: int
    execution: int
    validators: Optional[int]
    treasury: Optional[int]
    workers: Optional[int]
    chain: int

    @classmethod
    def from_json(cls, value: dict) -> "Quote":
        return cls(**{name: _int(value.get(name)) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Payout:
    """One transfer of a settled call."""

    account: str
    amount: int


@dataclass(frozen=True)
class Model:
    """A model's terms and usage (``modelhub_model``)."""

    id: int
    owner: str
    name: str
    price: int
    state: str
    version: int
    parent: Optional[int]
    created: int
    calls: int
    failures: int
    revenue: int
    payers: int
    last_call: Optional[int]

    @classmethod
    def from_json(cls, value: dict) -> "Model":
        return cls(
            id=int(value["id"]),
            owner=value["owner"],
            name=value["name"],
            price=_int(value["price"]),
            state=value["state"],
            version=int(value["version"]),
            parent=value.get("parent"),
            created=int(value["created"]),
            calls=int(value["calls"]),
            failures=int(value["failures"]),
            revenue=_int(value["revenue"]),
            payers=int(value["payers"]),
            last_call=value.get("lastCall"),
        )


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a model's schema: a name, a dtype and a shape (``None`` for a dynamic
    dimension)."""

    name: str
    dtype: str
    shape: tuple[Optional[int], ...]


@dataclass(frozen=True)
class Schema:
    """A model version's inputs and outputs."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class Usage:
    """A model's settled calls and royalties over a window of epochs (``modelhub_modelUsage``):
    its share of the hub's calls and its rank by calls (0 without calls)."""

    model: int
    first_epoch: int
    last_epoch: int
    calls: int
    royalties: int
    share: float
    rank: int

    @classmethod
    def from_json(cls, value: dict) -> "Usage":
        return cls(
            model=int(value["model"]),
            first_epoch=int(value["firstEpoch"]),
            last_epoch=int(value["lastEpoch"]),
            calls=int(value["calls"]),
            royalties=_int(value["royalties"]),
            share=float(value["share"]),
            rank=int(value["rank"]),
        )


@dataclass(frozen=True)
class Market:
    """How demand spreads across the hub's models over a window (``modelhub_marketStats``):
    ``top10_share``, ``hhi`` and ``gini`` of calls; ``fees`` is ``None`` for all time."""

    first_epoch: int
    last_epoch: int
    calls: int
    models_called: int
    fees: Optional[int]
    royalties: int
    top10_share: float
    hhi: float
    gini: float
    unlisted_calls: int

    @classmethod
    def from_json(cls, value: dict) -> "Market":
        return cls(
            first_epoch=int(value["firstEpoch"]),
            last_epoch=int(value["lastEpoch"]),
            calls=int(value["calls"]),
            models_called=int(value["modelsCalled"]),
            fees=None if value.get("fees") is None else int(value["fees"]),
            royalties=_int(value["royalties"]),
            top10_share=float(value["top10Share"]),
            hhi=float(value["hhi"]),
            gini=float(value["gini"]),
            unlisted_calls=int(value["unlistedCalls"]),
        )


@dataclass(frozen=True)
class Worker:
    """A worker's bond and record (``modelhub_worker``); the bond fields are ``None`` once it
    left."""

    account: str
    registered: bool
    bond: Optional[int]
    attestation_key: Optional[str]
    runtime: Optional[str]
    capacity: Optional[int]
    pending_jobs: Optional[int]
    jobs: int
    earnings: int
    slashes: int
    slashed: int
    profile: Optional[dict] = None

    @classmethod
    def from_json(cls, value: dict) -> "Worker":
        return cls(
            account=value["account"],
            registered=bool(value["registered"]),
            bond=None if value.get("bond") is None else int(value["bond"]),
            attestation_key=value.get("attestationKey"),
            runtime=value.get("runtime"),
            capacity=value.get("capacity"),
            pending_jobs=value.get("pendingJobs"),
            jobs=int(value.get("jobs", 0)),
            earnings=_int(value.get("earnings")),
            slashes=int(value.get("slashes", 0)),
            slashed=_int(value.get("slashed")),
            profile=value.get("profile"),
        )


@dataclass(frozen=True)
class Progress:
    """One step of a call, as the progress callback receives it.

    On chain: ``ready``, ``future``, ``inBlock``, ``assigned``, ``settled``, ``refunded``,
    ``failed``, ``retracted``, ``finalized``, … (the node's ``modelhub_inferenceStatus``
    events, with their fields in ``data``). On the fast path: ``channelOpened``,
    ``channelToppedUp``, ``served`` and ``verified``. ``elapsed`` is seconds since the call
    began.
    """

    event: str
    elapsed: float
    data: dict = field(default_factory=dict)


@dataclass
class InferenceResult:
    """A served call: the outputs as NumPy arrays and what the call cost and who served it.

    ``path`` is ``"chain"`` (a request settled on chain: ``request`` is its id and
    ``payouts`` the transfers, which sum to ``paid``) or ``"fast"`` (a worker answered on a
    payment channel: ``channel`` and ``call`` identify the call, the fee is paid when the
    worker settles the channel, so ``payouts`` is empty and ``paid`` the voucher's amount).
    ``output_hash`` is blake2-256 of the canonical output, checked by the client;
    ``attested`` says the worker's signature over it was checked (fast path; on chain the
    runtime checks it). ``timings`` holds, in seconds, the node reads before the call
    (``lookup``: the model's terms, schema and fast workers) and the client's own work
    (``encode``, ``sign``, ``decode``); ``latency`` is the whole call.
    """

    outputs: dict[str, np.ndarray]
    path: str
    model: int
    fee: Quote
    paid: int
    payouts: list[Payout]
    workers: list[str]
    output_hash: bytes
    latency: float
    request: Optional[int] = None
    channel: Optional[int] = None
    call: Optional[int] = None
    block: Optional[int] = None
    attested: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.outputs[name]
