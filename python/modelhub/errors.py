"""Typed errors: one class per failure a caller can act on.

Every error of the client derives from :class:`HubError`. The node's JSON-RPC error codes
(``docs/rpc.md``) and the workers' fast-path refusals map to these classes in
:func:`from_rpc` and :func:`from_worker`.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Any failure the hub or the client reports."""


class ModelNotFound(HubError):
    """No model has this id."""

    def __init__(self, model: int, message: str | None = None):
        self.model = model
        super().__init__(message or f"model {model} does not exist")


class ModelNotActive(HubError):
    """The model is paused, retired or delisted: it takes no calls now."""

    def __init__(self, model: int, state: str | None = None, message: str | None = None):
        self.model = model
        self.state = state
        super().__init__(message or f"model {model} is {state or 'not active'}")


class InvalidInput(HubError, ValueError):
    """The input does not fit the model's input schema (or is not a canonical tensor set).

    ``tensor`` names the tensor at fault (``None`` when the set as a whole is) and
    ``problem`` says what is wrong with it.
    """

    def __init__(self, tensor: str | None, problem: str):
        self.tensor = tensor
        self.problem = problem
        super().__init__(f"input tensor {tensor!r}: {problem}" if tensor else f"input: {problem}")


class FeeAboveMax(HubError):
    """The call costs more than the caller's ``max_fee``; ``quote`` holds what it costs."""

    def __init__(self, fee: int, max_fee: int, quote: Any = None):
        self.fee = fee
        self.max_fee = max_fee
        self.quote = quote
        super().__init__(f"the fee is {fee} but max_fee is {max_fee}")


class InsufficientBalance(HubError):
    """The signer's free balance cannot cover the fee and the transaction fee."""

    def __init__(self, account: str, message: str | None = None):
        self.account = account
        super().__init__(message or f"{account}'s free balance cannot pay for this")


class NoWorkerAvailable(HubError):
    """Fewer workers hold the model's current version ready than the call asks for."""

    def __init__(self, model: int, message: str | None = None):
        self.model = model
        super().__init__(message or f"no worker is ready to serve model {model}")


class Refunded(HubError):
    """The network failed the call and the fee came back in full.

    ``reason`` is the chain's: ``timeout``, ``noQuorum``, ``noMajority`` or
    ``workersFailed``.
    """

    def __init__(self, request: int, reason: str, amount: int):
        self.request = request
        self.reason = reason
        self.amount = amount
        super().__init__(f"request {request} was refunded ({reason}): {amount} came back")


class Timeout(HubError, TimeoutError):
    """The call did not end within the caller's ``timeout``. A request already paid for goes
    on: ``request`` is its id (``None`` when it was not yet assigned)."""

    def __init__(self, what: str, seconds: float, request: int | None = None):
        self.what = what
        self.seconds = seconds
        self.request = request
        super().__init__(f"timed out after {seconds:g} s {what}")


class ConnectionLost(HubError, ConnectionError):
    """The connection to the node (or to a fast-path worker) failed or closed."""

    def __init__(self, url: str, detail: str = ""):
        self.url = url
        super().__init__(f"connection to {url} lost" + (f": {detail}" if detail else ""))


class TransactionFailed(HubError):
    """A transaction was included but failed; ``error`` names the chain's error
    (``NotModelOwner``), ``pallet`` its pallet when the chain's answer names it (``None`` for a
    module error)."""

    def __init__(self, pallet: str | None, error: str, docs: str = ""):
        self.pallet = pallet
        self.error = error
        self.docs = docs
        name = f"{pallet}.{error}" if pallet else error
        super().__init__(f"{name}: {docs}" if docs else name)


class TransactionRefused(HubError):
    """The transaction pool refused a transaction (bad signature, used nonce, invalid)."""


class AttestationInvalid(HubError):
    """A worker's answer does not carry a valid attestation of its output."""


class RpcError(HubError):
    """A JSON-RPC error no other class describes; ``code``, ``message`` and ``data`` are the
    node's."""

    def __init__(self, code: int, message: str, data: Any = None):
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{message} (code {code})")


def from_rpc(code: int, message: str, data: Any, *, model: int | None, account: str) -> HubError:
    """The typed error of a ``modelhub_*`` JSON-RPC error (``docs/rpc.md``)."""
    if code == 21001:
        return ModelNotFound(model if model is not None else -1, message)
    if code == 21002:
        return ModelNotActive(model if model is not None else -1, None, message)
    if code in (21003, 21004, 21006, 21007):
        return InvalidInput(None, message)
    if code == 21008:
        fee = int((data or {}).get("total", 0))
        return FeeAboveMax(fee, _max_fee_of(message), data)
    if code == 21009:
        return InsufficientBalance(account, message)
    if code in (21010, 21013):
        return NoWorkerAvailable(model if model is not None else -1, message)
    if code in (21011, 21012):
        return TransactionRefused(message)
    return RpcError(code, message, data)


def _max_fee_of(message: str) -> int:
    tail = message.rsplit("max_fee is", 1)[-1].strip()
    return int(tail) if tail.isdigit() else 0


def from_worker(error: str, message: str, data: Any, *, model: int, account: str) -> HubError:
    """The typed error of a worker's ``fast_infer`` refusal (``data.error``)."""
    if error in ("modelNotReady", "notConnected"):
        return NoWorkerAvailable(model, message)
    if error == "invalidInput":
        return InvalidInput(None, message)
    if error == "voucherAboveDeposit":
        return InsufficientBalance(account, message)
    return RpcError(0, f"{error}: {message}", data)
