"""The tensor protocol (``docs/protocol.md``) over NumPy arrays.

A request's input and a call's output are *canonical tensor sets*: named tensors sorted by
name, each a dtype index, a shape and its little-endian elements, SCALE-encoded. One set of
tensors has one encoding and so one content hash (blake2-256). This module encodes NumPy
arrays into that form, decodes it with every check ``modelhub_primitives::tensor`` makes (the
same errors, in the same order), and rounds floats exactly as the chain does before hashing.
The test vectors in ``tests/vectors/tensors.json`` are written by the Rust tests of
``modelhub-primitives``; the client's tests check this module against them bit for bit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

#: Dtype names in SCALE index order: the index of a name is its byte in the encoding.
DTYPES = ("f32", "f64", "f16", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "bool")

#: The NumPy dtype (little-endian) of each protocol dtype.
NUMPY_DTYPES = {
    "f32": np.dtype("<f4"),
    "f64": np.dtype("<f8"),
    "f16": np.dtype("<f2"),
    "i8": np.dtype("i1"),
    "i16": np.dtype("<i2"),
    "i32": np.dtype("<i4"),
    "i64": np.dtype("<i8"),
    "u8": np.dtype("u1"),
    "u16": np.dtype("<u2"),
    "u32": np.dtype("<u4"),
    "u64": np.dtype("<u8"),
    "bool": np.dtype("bool"),
}

#: Explicit mantissa bits of the float dtypes.
MANTISSA_BITS = {"f16": 10, "f32": 23, "f64": 52}

MAX_RANK = 8
MAX_NAME_LEN = 64
MAX_TENSORS = 16
#: The most element bytes a set may hold by default (the chain accepts inputs up to 1 MiB).
MAX_DATA_BYTES = 1 << 20

_NAME = re.compile(rb"[A-Za-z0-9_.:/\-]{1,64}")


class TensorError(ValueError):
    """Bytes or arrays that are not a canonical tensor set.

    ``kind`` is the name of ``modelhub_primitives::tensor::TensorError``'s variant
    (``Malformed``, ``Empty``, ``TooManyTensors``, ``InvalidName``, ``NamesNotSorted``,
    ``RankTooHigh``, ``ShapeOverflow``, ``DataLengthMismatch``, ``InvalidBool``, ``TooLarge``)
    or ``UnsupportedDtype`` for an array NumPy holds in a dtype the protocol lacks.
    """

    def __init__(self, kind: str, detail: str = ""):
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}" if detail else kind)


@dataclass(frozen=True)
class Limits:
    """Bounds a decoder enforces."""

    max_tensors: int = MAX_TENSORS
    max_data_bytes: int = MAX_DATA_BYTES


def dtype_name(dtype: np.dtype) -> str:
    """The protocol's name of a NumPy dtype (``float32`` is ``"f32"``)."""
    dtype = np.dtype(dtype)
    for name, candidate in NUMPY_DTYPES.items():
        if dtype.kind == candidate.kind and dtype.itemsize == candidate.itemsize:
            return name
    raise TensorError("UnsupportedDtype", f"NumPy dtype {dtype} has no protocol dtype")


def is_valid_name(name: bytes) -> bool:
    """Whether ``name`` is a valid tensor name: 1 to 64 ASCII letters, digits and ``_.:/-``."""
    return _NAME.fullmatch(name) is not None


# ---- SCALE compact integers ------------------------------------------------------------------


def compact(value: int) -> bytes:
    """SCALE's compact encoding of a non-negative integer, in its shortest form."""
    if value < 1 << 6:
        return bytes([value << 2])
    if value < 1 << 14:
        return ((value << 2) | 1).to_bytes(2, "little")
    if value < 1 << 30:
        return ((value << 2) | 2).to_bytes(4, "little")
    body = value.to_bytes((value.bit_length() + 7) // 8, "little")
    return bytes([((len(body) - 4) << 2) | 3]) + body


class _Reader:
    """Reads SCALE from bytes; running out, or a non-canonical compact, is ``Malformed``."""

    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.at = 0

    def take(self, count: int) -> memoryview:
        end = self.at + count
        if count < 0 or end > len(self.data):
            raise TensorError("Malformed", "the bytes end early")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def compact_u32(self) -> int:
        """A `Compact<u32>` in its shortest form, as parity-scale-codec accepts it."""
        first = self.data[self.at] if self.at < len(self.data) else None
        if first is None:
            raise TensorError("Malformed", "the bytes end early")
        mode = first & 3
        if mode == 0:
            return self.byte() >> 2
        if mode == 1:
            value = int.from_bytes(self.take(2), "little") >> 2
            if value < 1 << 6:
                raise TensorError("Malformed", "a compact length is not in its shortest form")
            return value
        if mode == 2:
            value = int.from_bytes(self.take(4), "little") >> 2
            if value < 1 << 14:
                raise TensorError("Malformed", "a compact length is not in its shortest form")
            return value
        length = (self.byte() >> 2) + 4
        if length != 4:
            raise TensorError("Malformed", "a compact length does not fit 32 bits")
        value = int.from_bytes(self.take(4), "little")
        if value < 1 << 30:
            raise TensorError("Malformed", "a compact length is not in its shortest form")
        return value


# ---- Encoding ----------------------------------------------------------------------------------


def _as_array(name: str, value, dtype: str | None) -> np.ndarray:
    array = np.asarray(value)
    if dtype is None:
        target = NUMPY_DTYPES[dtype_name(array.dtype)]
    else:
        target = NUMPY_DTYPES[dtype]
    return np.asarray(array, dtype=target, order="C")


def encode(tensors: Mapping[str, object], dtypes: Mapping[str, str] | None = None) -> bytes:
    """The canonical encoding of ``{name: array}``.

    Each value is a NumPy array (or anything ``np.asarray`` takes); its dtype names the
    tensor's dtype unless ``dtypes`` gives one (``{"x": "f32"}``), to which the values are
    converted. Names are sorted; the set is checked as the chain checks it.
    """
    if not tensors:
        raise TensorError("Empty", "a tensor set holds at least one tensor")
    items = []
    for name, value in tensors.items():
        name_bytes = name.encode("utf-8")
        if not is_valid_name(name_bytes):
            raise TensorError("InvalidName", f"{name!r} is not a valid tensor name")
        array = _as_array(name, value, (dtypes or {}).get(name))
        if array.ndim > MAX_RANK:
            raise TensorError("RankTooHigh", f"{name}: {array.ndim} dimensions, at most {MAX_RANK}")
        items.append((name_bytes, array))
    items.sort(key=lambda item: item[0])
    if len(items) > MAX_TENSORS:
        raise TensorError("TooManyTensors", f"{len(items)} tensors, at most {MAX_TENSORS}")
    parts = [compact(len(items))]
    for name_bytes, array in items:
        kind = dtype_name(array.dtype)
        data = array.view(np.uint8).tobytes() if array.dtype == np.bool_ else array.tobytes()
        parts += [
            compact(len(name_bytes)),
            name_bytes,
            bytes([DTYPES.index(kind)]),
            compact(array.ndim),
            np.asarray(array.shape, dtype="<u8").tobytes(),
            compact(len(data)),
            data,
        ]
    return b"".join(parts)


def content_hash(encoded: bytes) -> bytes:
    """blake2-256 of an encoded set: the hash the chain and the workers attest."""
    return hashlib.blake2b(encoded, digest_size=32).digest()


# ---- Decoding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTensor:
    """One decoded tensor before it becomes an array: its name, dtype, shape and bytes."""

    name: bytes
    dtype: str
    shape: tuple[int, ...]
    data: bytes


def decode_raw(encoded: bytes, limits: Limits = Limits()) -> list[RawTensor]:
    """The tensors of ``encoded``, accepting only a canonical encoding within ``limits``.

    Raises ``TensorError`` with the kind ``modelhub_primitives`` names for the same bytes.
    """
    reader = _Reader(bytes(encoded))
    count = reader.compact_u32()
    tensors = []
    for _ in range(count):
        name = bytes(reader.take(reader.compact_u32()))
        index = reader.byte()
        if index >= len(DTYPES):
            raise TensorError("Malformed", f"dtype index {index} is unknown")
        rank = reader.compact_u32()
        shape = tuple(int(d) for d in np.frombuffer(reader.take(8 * rank), dtype="<u8"))
        data = bytes(reader.take(reader.compact_u32()))
        tensors.append(RawTensor(name, DTYPES[index], shape, data))
    if reader.at != len(reader.data):
        raise TensorError("Malformed", "bytes trail the tensor set")
    _validate(tensors, limits)
    return tensors


def _validate(tensors: list[RawTensor], limits: Limits) -> None:
    if not tensors:
        raise TensorError("Empty", "the set holds no tensor")
    if len(tensors) > limits.max_tensors:
        raise TensorError("TooManyTensors", f"{len(tensors)} tensors, at most {limits.max_tensors}")
    total = 0
    for tensor in tensors:
        label = tensor.name.decode("utf-8", "replace")
        if not is_valid_name(tensor.name):
            raise TensorError("InvalidName", f"{label!r} is not a valid tensor name")
        if len(tensor.shape) > MAX_RANK:
            raise TensorError("RankTooHigh", f"{label}: {len(tensor.shape)} dimensions")
        # Checked u64 arithmetic, as the chain counts: an overflow on the way is an overflow.
        expected = 1
        for factor in (*tensor.shape, NUMPY_DTYPES[tensor.dtype].itemsize):
            expected *= factor
            if expected >= 1 << 64:
                raise TensorError("ShapeOverflow", f"{label}: shape {list(tensor.shape)} overflows")
        if expected != len(tensor.data):
            raise TensorError(
                "DataLengthMismatch",
                f"{label}: {len(tensor.data)} bytes for shape {list(tensor.shape)} of {tensor.dtype}",
            )
        if tensor.dtype == "bool" and tensor.data and np.frombuffer(tensor.data, np.uint8).max() > 1:
            raise TensorError("InvalidBool", f"{label}: a boolean byte is neither 0 nor 1")
        total += len(tensor.data)
    if total > limits.max_data_bytes:
        raise TensorError("TooLarge", f"{total} element bytes, at most {limits.max_data_bytes}")
    for first, second in zip(tensors, tensors[1:]):
        if first.name >= second.name:
            raise TensorError("NamesNotSorted", f"{second.name!r} follows {first.name!r}")


def decode(encoded: bytes, limits: Limits = Limits()) -> dict[str, np.ndarray]:
    """``{name: array}`` of a canonical encoding (arrays are read-only views of copies)."""
    return {
        tensor.name.decode("ascii"): np.frombuffer(tensor.data, dtype=NUMPY_DTYPES[tensor.dtype])
        .reshape(tensor.shape)
        for tensor in decode_raw(encoded, limits)
    }


# ---- Float canonicalisation -------------------------------------------------------------------

_UINT = {"f16": np.dtype("<u2"), "f32": np.dtype("<u4"), "f64": np.dtype("<u8")}


def round_float_bits(bits: np.ndarray, dtype: str, keep: int) -> np.ndarray:
    """Rounds float bit patterns (unsigned integers of the dtype's width) to ``keep`` mantissa
    bits, round half to even; ``-0`` becomes ``+0`` and every NaN the canonical quiet NaN;
    infinities stay. The same arithmetic as ``TensorSet::canonicalize_floats``."""
    mantissa = MANTISSA_BITS[dtype]
    width = NUMPY_DTYPES[dtype].itemsize * 8
    value = np.asarray(bits).astype(np.uint64)
    one = np.uint64(1)

    def mask(n: int) -> np.uint64:
        return np.uint64((1 << n) - 1) if n < 64 else np.uint64((1 << 64) - 1)

    sign = np.uint64(1 << (width - 1))
    exponent_mask = np.uint64(((1 << (width - 1)) - 1) & ~((1 << mantissa) - 1))
    mantissa_mask = mask(mantissa)
    magnitude = value & ~sign
    is_special = (magnitude & exponent_mask) == exponent_mask
    is_nan = is_special & ((magnitude & mantissa_mask) != 0)
    quiet_nan = exponent_mask | np.uint64(1 << (mantissa - 1))
    if keep >= mantissa:
        rounded_value = value
    else:
        drop = mantissa - keep
        below = mask(drop)
        unit = np.uint64(1 << drop)
        half = np.uint64(1 << (drop - 1))
        remainder = magnitude & below
        truncated = magnitude & ~below
        kept_is_odd = np.full(value.shape, True) if keep == 0 else (truncated & unit) != 0
        round_up = (remainder > half) | ((remainder == half) & kept_is_odd)
        rounded = np.where(round_up, truncated + unit, truncated)
        rounded_value = np.where(rounded == 0, np.uint64(0), (value & sign) | rounded)
    out = np.where(magnitude == 0, np.uint64(0), rounded_value)
    out = np.where(is_special, value, out)
    out = np.where(is_nan, quiet_nan, out)
    return out.astype(_UINT[dtype])


def canonicalize_floats(array: np.ndarray, keep: int) -> np.ndarray:
    """A copy of a float array rounded as the chain rounds outputs before hashing; integer and
    boolean arrays are returned unchanged."""
    array = np.asarray(array)
    name = dtype_name(array.dtype)
    if name not in MANTISSA_BITS:
        return array
    bits = np.ascontiguousarray(array, dtype=NUMPY_DTYPES[name]).view(_UINT[name])
    return round_float_bits(bits, name, keep).view(NUMPY_DTYPES[name]).reshape(array.shape)
