"""The hub's client: :class:`AsyncClient` for ``asyncio`` code, :class:`Client` for the rest.

One client holds two connections to the node: ``async-substrate-interface`` for the chain's
metadata, storage and signed transactions, and a JSON-RPC WebSocket of its own for the
``modelhub_*`` methods, whose errors carry codes the client turns into typed exceptions.
Fast-path calls go straight to a worker's endpoint over a third WebSocket per worker.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Optional, Sequence

import numpy as np
from async_substrate_interface import AsyncSubstrateInterface
from async_substrate_interface.async_substrate import AsyncExtrinsicReceipt
from async_substrate_interface.errors import SubstrateRequestException
from bittensor_wallet import Keypair

from . import errors, fastpath, tensors
from .errors import (
    ConnectionLost,
    FeeAboveMax,
    HubError,
    InsufficientBalance,
    InvalidInput,
    ModelNotActive,
    ModelNotFound,
    NoWorkerAvailable,
    Refunded,
    Timeout,
    TransactionFailed,
    TransactionRefused,
)
from .rpc import CallError, JsonRpc
from .types import (
    InferenceResult,
    Market,
    Model,
    Payout,
    Progress,
    Quote,
    Schema,
    TensorSpec,
    Usage,
    Worker,
)
from .units import parse_opg

ProgressCallback = Callable[[Progress], Any]

#: Blocks a signed transaction stays valid for.
MORTALITY = 64


def keypair_of(signer: "str | Keypair | None") -> Optional[Keypair]:
    """A signer from a secret URI (``//Bob``, ``MNEMONIC//hard/soft``), a mnemonic, or a
    keypair (any object with ``sign``, ``public_key`` and ``ss58_address``)."""
    if signer is None or not isinstance(signer, str):
        return signer
    return Keypair.create_from_uri(signer.strip())


def account_of(who: "str | Keypair") -> str:
    """An SS58 address from an address, a dev secret URI (``//Bob``) or a keypair."""
    if isinstance(who, str):
        return keypair_of(who).ss58_address if who.startswith("//") or " " in who.strip() else who
    return who.ss58_address


def _price(value: "int | str") -> int:
    """Balances: an ``int`` counts the smallest unit, a string is decimal OPG (``"0.5"``)."""
    return value if isinstance(value, int) else parse_opg(value)


def _permill(percent: float) -> int:
    parts = round(float(percent) * 10_000)
    if not 0 <= parts <= 1_000_000:
        raise ValueError(f"not a percentage: {percent}")
    return parts


def _text(value: Any) -> str:
    """A decoded ``Vec<u8>`` as text (the decoder hands back text or ``0x`` hex)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:]).decode("utf-8")
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _spec_of(value: dict) -> TensorSpec:
    shape = []
    for dim in _unbounded(value["shape"]):
        if isinstance(dim, dict) and "Fixed" in dim:
            shape.append(int(dim["Fixed"]))
        else:
            shape.append(None)
    return TensorSpec(_text(value["name"]), str(value["dtype"]).lower(), tuple(shape))


def _bounded(items: list) -> list:
    """A ``BoundedVec`` of anything but bytes as the SCALE encoder takes it: the metadata
    describes it as a composite of one field (the ``Vec``), so its value is a one-element
    list."""
    return [list(items)]


def _unbounded(value: Any) -> list:
    """The elements of a decoded ``BoundedVec`` (a one-element list around them, or them)."""
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (list, tuple)):
        return list(value[0])
    return list(value)


def _schema_entry(entry: Mapping) -> dict:
    """A ``.schema.json`` tensor (``{name, dtype, shape: [n | null]}``) as the chain's type."""
    if entry["dtype"] not in tensors.DTYPES:
        raise ValueError(f"unknown dtype {entry['dtype']}")
    return {
        "name": entry["name"],
        "dtype": entry["dtype"].upper(),
        "shape": _bounded(["Dynamic" if d in (None, "?") else {"Fixed": int(d)} for d in entry["shape"]]),
    }


def fit_inputs(inputs: Mapping[str, Any], schema: Schema) -> bytes:
    """Converts ``inputs`` to the schema's dtypes and checks names, ranks and dimensions;
    returns the canonical encoding. Raises :class:`InvalidInput` naming the tensor at fault.

    A value converts when NumPy can cast it without changing its kind (``float64`` to
    ``f32``, Python ints to ``i64``) and integers stay in range; anything else is refused.
    """
    specs = {spec.name: spec for spec in schema.inputs}
    for name in inputs:
        if name not in specs:
            raise InvalidInput(name, f"the model takes no such input; it takes {', '.join(sorted(specs))}")
    arrays = {}
    for name, spec in specs.items():
        if name not in inputs:
            raise InvalidInput(name, f"missing: the model takes {spec.dtype} of shape {_shape_text(spec.shape)}")
        array = np.asarray(inputs[name])
        target = tensors.NUMPY_DTYPES[spec.dtype]
        if array.dtype != target:
            if not np.can_cast(array.dtype, target, "same_kind"):
                raise InvalidInput(name, f"dtype {array.dtype} does not convert to {spec.dtype}")
            if array.dtype.kind in "iu" and target.kind in "iu" and array.size:
                info = np.iinfo(target)
                if array.min() < info.min or array.max() > info.max:
                    raise InvalidInput(name, f"values outside the range of {spec.dtype}")
            array = array.astype(target)
        if array.ndim != len(spec.shape):
            raise InvalidInput(
                name, f"shape {tuple(array.shape)} has {array.ndim} dimensions; the model takes {_shape_text(spec.shape)}"
            )
        for axis, (actual, declared) in enumerate(zip(array.shape, spec.shape)):
            if declared is not None and actual != declared:
                raise InvalidInput(
                    name, f"shape {tuple(array.shape)} does not fit {_shape_text(spec.shape)} (dimension {axis})"
                )
        arrays[name] = array
    try:
        return tensors.encode(arrays)
    except tensors.TensorError as error:
        raise InvalidInput(None, str(error)) from error


def _shape_text(shape: Sequence[Optional[int]]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


_ONNX_DTYPES = {1: "f32", 11: "f64", 10: "f16", 3: "i8", 5: "i16", 6: "i32", 7: "i64", 2: "u8", 4: "u16", 12: "u32", 13: "u64", 9: "bool"}


def schema_of_onnx(model: bytes, rounding_bits: int = 16) -> dict:
    """A ``.schema.json`` document read from an ONNX model's graph (needs the ``onnx``
    package): its opset, and each graph input and output with its dtype and shape (a named
    or unknown dimension is dynamic)."""
    try:
        import onnx
    except ImportError as error:
        raise HubError("no schema given and the onnx package is not installed to read one") from error
    proto = onnx.load_from_string(model)

    def specs(values) -> list:
        out = []
        for value in values:
            tensor = value.type.tensor_type
            if tensor.elem_type not in _ONNX_DTYPES:
                raise HubError(f"{value.name}: ONNX element type {tensor.elem_type} has no protocol dtype")
            shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor.shape.dim]
            out.append({"name": value.name, "dtype": _ONNX_DTYPES[tensor.elem_type], "shape": shape})
        return out

    opset = max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    return {
        "opset": opset,
        "output_rounding_bits": rounding_bits,
        "inputs": specs(proto.graph.input),
        "outputs": specs(proto.graph.output),
    }


def read_model_file(path: "str | Path", schema: "str | Path | Mapping | None" = None) -> dict:
    """An ONNX file and its schema as the registry takes them: the artifact (blake2-256,
    size, opset), the I/O schema, the output rounding bits and the agreement rule.

    ``schema`` is a ``.schema.json`` path or its content; by default the file beside the
    model (``model.schema.json`` for ``model.onnx``), else what :func:`schema_of_onnx` reads
    from the model's graph.
    """
    path = Path(path).resolve()
    data = path.read_bytes()
    if schema is None and path.with_suffix(".schema.json").is_file():
        schema = path.with_suffix(".schema.json")
    if schema is None:
        schema = schema_of_onnx(data)
    elif not isinstance(schema, Mapping):
        schema = json.loads(Path(schema).read_text())
    agreement = None
    if schema.get("agreement"):
        entry = schema["agreement"]
        agreement = {
            "tolerance": {
                "absolute_ppb": round(float(entry.get("absolute", 0)) * 1e9),
                "relative_ppb": round(float(entry.get("relative", 0)) * 1e9),
            },
            "fraud_margin": int(entry.get("fraud_margin", 100)),
        }
    return {
        "hash": tensors.content_hash(data),
        "size": len(data),
        "path": path,
        "opset": int(schema["opset"]),
        "schema": {
            "inputs": _bounded([_schema_entry(e) for e in schema["inputs"]]),
            "outputs": _bounded([_schema_entry(e) for e in schema["outputs"]]),
        },
        "rounding_bits": int(schema.get("output_rounding_bits", 16)),
        "agreement": agreement,
    }


class AsyncClient:
    """The hub for ``asyncio`` code::

        async with AsyncClient("ws://127.0.0.1:9944", "//Bob") as hub:
            result = await hub.infer(0, {"pixels": x})

    ``signer`` (a secret URI, a mnemonic or a keypair) pays for calls and signs transactions;
    without one the client only reads. ``fast`` makes :meth:`infer` use the fast path
    whenever a worker offers it for the model (a payment channel is opened, and topped up,
    with ``channel_calls`` calls' worth of deposit). ``timeout`` bounds every call that does
    not name its own.
    """

    def __init__(
        self,
        url: str = "ws://127.0.0.1:9944",
        signer: "str | Keypair | None" = None,
        *,
        fast: bool = True,
        channel_calls: int = 100,
        channel_lifetime: int = 14_400,
        timeout: float = 120.0,
    ):
        self.url = url
        self.keypair = keypair_of(signer)
        self.fast = fast
        self.channel_calls = channel_calls
        self.channel_lifetime = channel_lifetime
        self.timeout = timeout
        self.substrate: AsyncSubstrateInterface | None = None
        self.rpc: JsonRpc | None = None
        self.genesis_hash: bytes = b""
        self._schemas: dict[tuple[int, int], Schema] = {}
        self._artifacts: dict[tuple[int, int], bytes] = {}
        self._nonce_lock = asyncio.Lock()
        self._lanes = fastpath.Lanes(self)

    # ---- connection ---------------------------------------------------------------------------

    async def connect(self) -> "AsyncClient":
        """Connects to the node and reads its metadata; raises :class:`ConnectionLost`."""
        self.rpc = await JsonRpc(self.url).connect(timeout=min(self.timeout, 30))
        try:
            self.genesis_hash = bytes.fromhex((await self.rpc.call("chain_getBlockHash", [0]))[2:])
            self.substrate = AsyncSubstrateInterface(self.url, ss58_format=42)
            await asyncio.wait_for(self.substrate.initialize(), min(self.timeout, 60))
        except (OSError, asyncio.TimeoutError, SubstrateRequestException) as error:
            await self.close()
            raise ConnectionLost(self.url, str(error) or type(error).__name__) from error
        return self

    async def close(self) -> None:
        """Closes every connection."""
        await self._lanes.close()
        if self.substrate is not None:
            try:
                await self.substrate.close()
            except Exception:  # closing a connection that already failed
                pass
            self.substrate = None
        if self.rpc is not None:
            await self.rpc.close()

    async def __aenter__(self) -> "AsyncClient":
        return await self.connect()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def address(self) -> str:
        """The signer's SS58 address."""
        return self._signer().ss58_address

    def _signer(self) -> Keypair:
        if self.keypair is None:
            raise HubError("this client has no signer: pass one to Client(url, signer)")
        return self.keypair

    async def _call(self, method: str, params: list, *, model: Optional[int] = None, timeout: float | None = None):
        assert self.rpc is not None, "connect() first"
        try:
            return await self.rpc.call(method, params, timeout or self.timeout)
        except CallError as error:
            account = self.keypair.ss58_address if self.keypair else ""
            raise errors.from_rpc(error.code, error.message, error.data, model=model, account=account) from error

    # ---- reads --------------------------------------------------------------------------------

    async def model(self, model: int) -> Model:
        """A model's terms and usage; raises :class:`ModelNotFound`."""
        value = await self._call("modelhub_model", [int(model)], model=model)
        if value is None:
            raise ModelNotFound(model)
        return Model.from_json(value)

    async def models(self, order: str = "calls", offset: int = 0, limit: int = 100) -> list[Model]:
        """A page of models: ``order`` is ``calls``, ``revenue`` or ``newest``."""
        return [Model.from_json(v) for v in await self._call("modelhub_models", [order, offset, limit])]

    async def schema(self, model: int, version: Optional[int] = None) -> Schema:
        """A model version's input and output schema (the current version by default)."""
        if version is None:
            version = (await self.model(model)).version
        key = (int(model), int(version))
        if key not in self._schemas:
            await self._read_version(*key)
        return self._schemas[key]

    async def _read_version(self, model: int, version: int) -> None:
        assert self.substrate is not None
        record = await self.substrate.query("ModelRegistry", "Versions", [model, version])
        value = record.value if record is not None else None
        if not value:
            raise ModelNotFound(model, f"model {model} has no version {version}")
        schema = value["schema"]
        self._schemas[(model, version)] = Schema(
            tuple(_spec_of(s) for s in _unbounded(schema["inputs"])),
            tuple(_spec_of(s) for s in _unbounded(schema["outputs"])),
        )
        artifact_hash = value["artifact"]["hash"]
        self._artifacts[(model, version)] = (
            bytes.fromhex(artifact_hash[2:]) if isinstance(artifact_hash, str) else bytes(artifact_hash)
        )

    async def quote(self, model: int, inputs: "Mapping[str, Any] | int", redundancy: int = 1) -> Quote:
        """The fee of one on-chain call of ``model`` on ``inputs`` (arrays, or the length of
        the encoded input) by ``redundancy`` workers, split as settlement pays it."""
        if not isinstance(inputs, int):
            inputs = len(fit_inputs(inputs, await self.schema(model)))
        return Quote.from_json(await self._call("modelhub_quote", [int(model), inputs, redundancy], model=model))

    async def usage(self, model: int, window: Optional[int] = None) -> Usage:
        """A model's calls, royalties, share and rank over the last ``window`` epochs (days),
        or all time when ``window`` is ``None``."""
        value = await self._call("modelhub_modelUsage", [int(model), window], model=model)
        if value is None:
            raise ModelNotFound(model)
        return Usage.from_json(value)

    async def market(self, window: Optional[int] = None) -> Market:
        """How concentrated demand is over the last ``window`` epochs, or all time."""
        return Market.from_json(await self._call("modelhub_marketStats", [window]))

    async def worker(self, account: "str | Keypair") -> Optional[Worker]:
        """A worker's bond, jobs, earnings and slashes; ``None`` for an account that never
        registered."""
        value = await self._call("modelhub_worker", [account_of(account)])
        return None if value is None else Worker.from_json(value)

    async def fast_workers(self, model: int) -> list[dict]:
        """The workers serving fast calls of ``model``: ``account``, ``endpoint``, ``bond``,
        ``capacity``."""
        return list(await self._call("modelhub_fastWorkers", [int(model)], model=model) or [])

    async def balance(self, account: "str | Keypair | None" = None) -> int:
        """An account's free balance (the signer's by default)."""
        assert self.substrate is not None
        who = account_of(account) if account is not None else self.address
        record = await self.substrate.query("System", "Account", [who])
        return int(record.value["data"]["free"])

    async def block_number(self) -> int:
        """The best block's number."""
        header = await self._call("chain_getHeader", [])
        return int(header["number"], 16)

    # ---- transactions -------------------------------------------------------------------------

    async def _signed(self, module: str, function: str, params: dict):
        """A signed extrinsic of the signer with the next nonce (the caller holds the lock)."""
        assert self.substrate is not None
        call = await self.substrate.compose_call(module, function, params)
        nonce = int(await self._call("system_accountNextIndex", [self.address]))
        return await self.substrate.create_signed_extrinsic(
            call, self._signer(), era={"period": MORTALITY}, nonce=nonce, _skip_cache_update=True
        )

    async def submit(self, module: str, function: str, params: dict, timeout: float | None = None) -> list[dict]:
        """Signs ``module.function(params)`` (names as in the metadata), submits it and waits
        until it is in a block; returns its events. Raises :class:`TransactionFailed` with the
        chain's error, :class:`TransactionRefused` or :class:`InsufficientBalance` when the
        pool refuses it, :class:`Timeout`. Transactions of one client are signed and handed to
        the pool one at a time (each takes the next nonce) and then wait side by side."""
        assert self.substrate is not None and self.rpc is not None
        timeout = timeout or self.timeout
        started = time.perf_counter()
        async with self._nonce_lock:
            extrinsic = await self._signed(module, function, params)
            try:
                watch = await self.rpc.subscribe(
                    "author_submitAndWatchExtrinsic", [str(extrinsic.data)], "author_unwatchExtrinsic", timeout
                )
            except CallError as error:
                raise self._pool_error(error) from error
        block = None
        try:
            while block is None:
                left = timeout - (time.perf_counter() - started)
                try:
                    status = await watch.next(max(left, 0.001))
                except asyncio.TimeoutError as error:
                    raise Timeout(f"waiting for {module}.{function} to be included", timeout) from error
                if isinstance(status, dict) and "inBlock" in status:
                    block = status["inBlock"]
                elif (status if isinstance(status, str) else next(iter(status), "")) in ("dropped", "invalid", "usurped"):
                    raise TransactionRefused(f"{module}.{function}: the transaction pool reports it {status}")
        finally:
            await watch.close()
        receipt = AsyncExtrinsicReceipt(
            substrate=self.substrate, extrinsic_hash="0x" + extrinsic.extrinsic_hash.hex(), block_hash=block
        )
        if not await receipt.is_success:
            raise self._dispatch_error(await receipt.error_message)
        return [self._event(e) for e in await receipt.triggered_events]

    def _pool_error(self, error: CallError) -> HubError:
        """The transaction pool's refusal (codes 1010-1099) as a typed error."""
        detail = f"{error.message}: {error.data}" if error.data else error.message
        if "Inability to pay" in detail or "balance too low" in detail:
            return InsufficientBalance(self.address, detail)
        return TransactionRefused(detail)

    def _dispatch_error(self, error: Optional[dict]) -> HubError:
        error = error or {}
        name = str(error.get("name", "Unknown"))
        pallet = error.get("type") if error.get("type") not in (None, "Module") else None
        docs = error.get("docs") or ""
        if isinstance(docs, list):
            docs = " ".join(docs)
        if name in ("InsufficientBalance", "FundsUnavailable", "BalanceLow"):
            return InsufficientBalance(self.address, f"{name}: {docs}")
        return TransactionFailed(pallet, name, docs)

    @staticmethod
    def _event(record: Any) -> dict:
        value = record.value if hasattr(record, "value") else record
        event = value.get("event", value)
        return {
            "module": event.get("module_id"),
            "event": event.get("event_id"),
            "attributes": event.get("attributes"),
        }

    @staticmethod
    def _find(events: list[dict], module: str, name: str) -> dict:
        for event in events:
            if event["module"] == module and event["event"] == name:
                return event["attributes"]
        raise HubError(f"no {module}.{name} event")

    # ---- the registry -------------------------------------------------------------------------

    async def publish(
        self,
        path: "str | Path",
        price: "int | str",
        royalties: Mapping[str, float],
        *,
        name: Optional[str] = None,
        description: str = "",
        parent: Optional[tuple[int, float]] = None,
        schema: "str | Path | Mapping | None" = None,
        uri: Optional[str] = None,
    ) -> Model:
        """Publishes the ONNX model at ``path`` and returns it as read back from chain.

        ``price`` per call (an ``int`` in the smallest unit, or decimal OPG as a string);
        ``royalties`` maps accounts (SS58 or dev URIs) to percentages summing to 100;
        ``parent`` is ``(model, percent)`` for a fine-tune sharing its royalties with the
        model it came from; ``schema`` as in :func:`read_model_file`; ``uri`` where workers
        fetch the file (``file://`` + its path by default, which only a local hub serves).
        """
        file = read_model_file(path, schema)
        params = {
            "name": name or file["path"].stem,
            "description": description,
            "artifact": self._artifact(file, uri),
            "schema": file["schema"],
            "output_rounding_bits": file["rounding_bits"],
            "agreement": file["agreement"],
            "price": _price(price),
            "royalties": _bounded([[account_of(who), _permill(share)] for who, share in royalties.items()]),
            "parent": None if parent is None else {"model": int(parent[0]), "share": _permill(parent[1])},
        }
        events = await self.submit("ModelRegistry", "publish_model", params)
        published = self._find(events, "ModelRegistry", "ModelPublished")
        return await self.model(int(published["model"]))

    @staticmethod
    def _artifact(file: dict, uri: Optional[str]) -> dict:
        return {
            "hash": "0x" + file["hash"].hex(),
            "size": file["size"],
            "uri": uri or f"file://{file['path']}",
            "opset": file["opset"],
        }

    async def publish_version(
        self, model: int, path: "str | Path", *, schema: "str | Path | Mapping | None" = None, uri: Optional[str] = None
    ) -> Model:
        """Publishes a new artifact of ``model``: calls from then on run it."""
        file = read_model_file(path, schema)
        params = {
            "model": int(model),
            "artifact": self._artifact(file, uri),
            "schema": file["schema"],
            "output_rounding_bits": file["rounding_bits"],
            "agreement": file["agreement"],
        }
        await self.submit("ModelRegistry", "publish_version", params)
        return await self.model(model)

    async def set_price(self, model: int, price: "int | str") -> Model:
        """A new price per call for requests made from now on."""
        await self.submit("ModelRegistry", "set_price", {"model": int(model), "price": _price(price)})
        return await self.model(model)

    async def set_royalties(self, model: int, royalties: Mapping[str, float]) -> Model:
        """A new royalty split (percentages summing to 100)."""
        split = _bounded([[account_of(who), _permill(share)] for who, share in royalties.items()])
        await self.submit("ModelRegistry", "set_royalties", {"model": int(model), "royalties": split})
        return await self.model(model)

    async def _set_status(self, model: int, status: str) -> Model:
        await self.submit("ModelRegistry", "set_status", {"model": int(model), "status": status})
        return await self.model(model)

    async def pause(self, model: int) -> Model:
        """Stops taking calls until :meth:`resume`."""
        return await self._set_status(model, "Paused")

    async def resume(self, model: int) -> Model:
        """Takes calls again."""
        return await self._set_status(model, "Active")

    async def retire(self, model: int) -> Model:
        """Stops taking calls for good (the deposits stay held until :meth:`remove`)."""
        return await self._set_status(model, "Retired")

    async def transfer(self, model: int, to: "str | Keypair") -> Model:
        """Hands the model to another account."""
        await self.submit("ModelRegistry", "transfer_ownership", {"model": int(model), "new_owner": account_of(to)})
        return await self.model(model)

    async def remove(self, model: int) -> None:
        """Deletes a retired model's records once its retirement period ended."""
        await self.submit("ModelRegistry", "remove_model", {"model": int(model)})

    # ---- inference ----------------------------------------------------------------------------

    async def infer(
        self,
        model: int,
        inputs: Mapping[str, Any],
        *,
        redundancy: int = 1,
        max_fee: "int | str | None" = None,
        timeout: float | None = None,
        fast: Optional[bool] = None,
        progress: Optional[ProgressCallback] = None,
        finalized: bool = False,
    ) -> InferenceResult:
        """Pays for one call of ``model`` on ``inputs`` (``{name: array}``) and returns its
        outputs as NumPy arrays.

        The fast path serves it when ``fast`` (default: the client's) allows, ``redundancy``
        is 1 and a worker offers the model; otherwise a request on chain, run by
        ``redundancy`` workers, settles it. ``max_fee`` caps the fee (default: the quote);
        ``timeout`` bounds the whole call; ``progress`` receives each :class:`Progress` step;
        ``finalized`` waits for the on-chain outcome to be final.

        Raises :class:`ModelNotFound`, :class:`ModelNotActive`, :class:`InvalidInput`,
        :class:`FeeAboveMax`, :class:`InsufficientBalance`, :class:`NoWorkerAvailable`,
        :class:`Refunded`, :class:`Timeout` or :class:`ConnectionLost`.
        """
        started = time.perf_counter()
        timeout = timeout or self.timeout
        limit = None if max_fee is None else _price(max_fee)
        use_fast = (self.fast if fast is None else fast) and redundancy == 1
        # The model's terms (and the workers serving it fast) from the node, side by side.
        reads = [self.model(model)] + ([self.fast_workers(model)] if use_fast else [])
        record, *offers = await asyncio.gather(*reads)
        if record.state != "active":
            raise ModelNotActive(model, record.state)
        schema = await self.schema(model, record.version)
        encoding = time.perf_counter()
        encoded = fit_inputs(inputs, schema)
        timings = {"lookup": encoding - started, "encode": time.perf_counter() - encoding}
        if use_fast:
            workers = offers[0]
            if workers:
                return await self._lanes.infer(
                    record, encoded, workers, limit, started, timeout, progress, timings
                )
            if fast:
                raise NoWorkerAvailable(model, f"no worker serves fast calls of model {model}")
        return await self._infer_on_chain(
            record, encoded, redundancy, limit, started, timeout, progress, finalized, timings
        )

    async def _infer_on_chain(
        self,
        record: Model,
        encoded: bytes,
        redundancy: int,
        max_fee: Optional[int],
        started: float,
        timeout: float,
        progress: Optional[ProgressCallback],
        finalized: bool,
        timings: dict,
    ) -> InferenceResult:
        assert self.rpc is not None
        model = record.id
        quote = await self.quote(model, len(encoded), redundancy)
        if max_fee is not None and quote.total > max_fee:
            raise FeeAboveMax(quote.total, max_fee, quote)
        params = {
            "model": model,
            "input": "0x" + encoded.hex(),
            "max_fee": quote.total if max_fee is None else max_fee,
            "redundancy": redundancy,
        }
        async with self._nonce_lock:
            signing = time.perf_counter()
            extrinsic = await self._signed("Inference", "request_inference", params)
            timings["sign"] = time.perf_counter() - signing
            try:
                watch = await self.rpc.subscribe(
                    "modelhub_submitAndWatchInference",
                    [str(extrinsic.data)],
                    "modelhub_unwatchInference",
                    timeout=timeout,
                )
            except CallError as error:
                raise errors.from_rpc(
                    error.code, error.message, error.data, model=model, account=self.address
                ) from error
        request: Optional[int] = None
        fee = quote
        outcome: Optional[InferenceResult] = None
        try:
            while True:
                remaining = timeout - (time.perf_counter() - started)
                try:
                    event = await watch.next(max(remaining, 0.001))
                except asyncio.TimeoutError as error:
                    raise Timeout(
                        f"waiting for request {request}" if request is not None else "waiting for inclusion",
                        timeout,
                        request,
                    ) from error
                name = event.get("event")
                await _report(progress, Progress(name, time.perf_counter() - started, event))
                if name == "assigned":
                    request = int(event["request"])
                    fee = Quote.from_json(event["fee"])
                elif name == "settled":
                    decoding = time.perf_counter()
                    output = bytes.fromhex(event["output"][2:])
                    output_hash = tensors.content_hash(output)
                    if "0x" + output_hash.hex() != event["outputHash"]:
                        raise errors.AttestationInvalid("the settled output does not match its hash")
                    outputs = tensors.decode(output)
                    timings["decode"] = time.perf_counter() - decoding
                    payouts = [Payout(p["account"], int(p["amount"])) for p in event["payouts"]]
                    outcome = InferenceResult(
                        outputs=outputs,
                        path="chain",
                        model=model,
                        fee=fee,
                        paid=sum(p.amount for p in payouts),
                        payouts=payouts,
                        workers=list(event["workers"]),
                        output_hash=output_hash,
                        latency=time.perf_counter() - started,
                        request=int(event["request"]),
                        block=int(event["number"]),
                        attested=True,
                        timings=timings,
                    )
                    if not finalized:
                        return outcome
                elif name == "refunded":
                    raise Refunded(int(event["request"]), str(event["reason"]), int(event["amount"]))
                elif name == "failed":
                    pallet, _, error = str(event.get("error", "")).partition("(")
                    raise TransactionFailed(pallet or None, error.rstrip(")") or str(event.get("error")))
                elif name == "dropped":
                    raise TransactionRefused(f"the transaction pool dropped the request ({event.get('reason')})")
                elif name == "timedOut":
                    raise Timeout("waiting for the chain to include the request", timeout, request)
                elif name == "outcomeRetracted":
                    outcome = None
                elif name == "finalized" and outcome is not None:
                    outcome.latency = time.perf_counter() - started
                    return outcome
        finally:
            await watch.close()


async def _report(progress: Optional[ProgressCallback], step: Progress) -> None:
    if progress is None:
        return
    answer = progress(step)
    if inspect.isawaitable(answer):
        await answer


class Client:
    """The hub for code without an event loop: every method of :class:`AsyncClient`, run on
    a private event loop in a background thread and waited for::

        hub = Client("ws://127.0.0.1:9944", "//Bob")
        result = hub.infer(0, {"pixels": x})
        print(result["label"], result.fee.total)

    Progress callbacks run on that thread. ``close()`` (or a ``with`` block) ends it.
    """

    def __init__(self, url: str = "ws://127.0.0.1:9944", signer: "str | Keypair | None" = None, **options):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="modelhub-client", daemon=True)
        self._thread.start()
        self._async = AsyncClient(url, signer, **options)
        try:
            self._run(self._async.connect())
        except BaseException:
            self._stop()
            raise

    def _run(self, coroutine: Awaitable) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def close(self) -> None:
        """Closes the connections and stops the client's thread."""
        if self._thread.is_alive():
            self._run(self._async.close())
            self._stop()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def address(self) -> str:
        return self._async.address

    @property
    def genesis_hash(self) -> bytes:
        return self._async.genesis_hash

    @property
    def aio(self) -> AsyncClient:
        """The :class:`AsyncClient` underneath (its coroutines run on the client's thread)."""
        return self._async


def _sync(name: str) -> Callable:
    method = getattr(AsyncClient, name)

    def wrapper(self: Client, *args, **kwargs):
        return self._run(method(self._async, *args, **kwargs))

    wrapper.__name__ = name
    wrapper.__qualname__ = f"Client.{name}"
    wrapper.__doc__ = method.__doc__
    wrapper.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    return wrapper


for _name in (
    "model",
    "models",
    "schema",
    "quote",
    "usage",
    "market",
    "worker",
    "fast_workers",
    "balance",
    "block_number",
    "submit",
    "publish",
    "publish_version",
    "set_price",
    "set_royalties",
    "pause",
    "resume",
    "retire",
    "transfer",
    "remove",
    "infer",
):
    setattr(Client, _name, _sync(_name))
