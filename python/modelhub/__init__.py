"""The OPG Model Hub's Python client: NumPy in, NumPy out, one line per call.

    from modelhub import Client
    hub = Client("ws://127.0.0.1:9944", "//Bob")
    result = hub.infer(0, {"pixels": image})
    print(result["label"], format_opg(result.paid))

See ``python/README.md``.
"""

from .client import AsyncClient, Client, account_of, fit_inputs, keypair_of, read_model_file
from .errors import (
    AttestationInvalid,
    ConnectionLost,
    FeeAboveMax,
    HubError,
    InsufficientBalance,
    InvalidInput,
    ModelNotActive,
    ModelNotFound,
    NoWorkerAvailable,
    Refunded,
    RpcError,
    Timeout,
    TransactionFailed,
    TransactionRefused,
)
from .types import InferenceResult, Market, Model, Payout, Progress, Quote, Schema, TensorSpec, Usage, Worker
from .units import OPG, format_opg, parse_opg

__all__ = [
    "AsyncClient",
    "AttestationInvalid",
    "Client",
    "ConnectionLost",
    "FeeAboveMax",
    "HubError",
    "InferenceResult",
    "InsufficientBalance",
    "InvalidInput",
    "Market",
    "Model",
    "ModelNotActive",
    "ModelNotFound",
    "NoWorkerAvailable",
    "OPG",
    "Payout",
    "Progress",
    "Quote",
    "Refunded",
    "RpcError",
    "Schema",
    "TensorSpec",
    "Timeout",
    "TransactionFailed",
    "TransactionRefused",
    "Usage",
    "Worker",
    "account_of",
    "fit_inputs",
    "format_opg",
    "keypair_of",
    "parse_opg",
    "read_model_file",
]
