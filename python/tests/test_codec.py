"""The client's codecs against the vectors ``modelhub-primitives``' tests write
(``tests/vectors/tensors.json``): tensor sets of every dtype, every refusal of a
non-canonical encoding, float rounding, vouchers and fast-path attestations, bit for bit."""

import json
from pathlib import Path

import numpy as np
import pytest

from modelhub import InvalidInput, Schema, TensorSpec, fit_inputs, format_opg, parse_opg, tensors
from modelhub.fastpath import Voucher, attestation_message

VECTORS = json.loads((Path(__file__).parent / "vectors" / "tensors.json").read_text())


def unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def arrays_of(vector: dict) -> dict:
    return {
        t["name"]: np.frombuffer(unhex(t["data"]), dtype=tensors.NUMPY_DTYPES[t["dtype"]]).reshape(t["shape"])
        for t in vector["tensors"]
    }


@pytest.mark.parametrize("vector", VECTORS["encoding"], ids=lambda v: v["name"])
def test_encoding_matches_the_chain_bit_for_bit(vector):
    encoded = tensors.encode(arrays_of(vector))
    assert encoded.hex() == vector["encoded"][2:]
    assert "0x" + tensors.content_hash(encoded).hex() == vector["hash"]
    decoded = tensors.decode(encoded)
    for tensor in vector["tensors"]:
        array = decoded[tensor["name"]]
        assert tensors.dtype_name(array.dtype) == tensor["dtype"]
        assert list(array.shape) == tensor["shape"]
        assert array.tobytes() == unhex(tensor["data"])


def test_every_dtype_has_a_vector():
    dtypes = {t["dtype"] for v in VECTORS["encoding"] for t in v["tensors"]}
    assert dtypes == set(tensors.DTYPES)


@pytest.mark.parametrize("vector", VECTORS["rejected"], ids=lambda v: v["name"])
def test_decoding_refuses_what_the_chain_refuses(vector):
    limits = tensors.Limits(vector["limits"]["maxTensors"], vector["limits"]["maxDataBytes"])
    with pytest.raises(tensors.TensorError) as refused:
        tensors.decode(unhex(vector["bytes"]), limits)
    assert refused.value.kind == vector["error"]


@pytest.mark.parametrize(
    "vector", VECTORS["rounding"], ids=lambda v: f"{v['dtype']}-{v['bits']}"
)
def test_float_rounding_matches_the_chain(vector):
    dtype = tensors.NUMPY_DTYPES[vector["dtype"]]
    values = np.frombuffer(unhex(vector["input"]), dtype=dtype)
    rounded = tensors.canonicalize_floats(values, vector["bits"])
    assert rounded.tobytes().hex() == vector["output"][2:]


def test_vouchers_and_attestations_sign_the_chains_bytes():
    channels = VECTORS["channels"]
    genesis = unhex(channels["genesis"])
    voucher = Voucher(channels["channel"])
    for step in channels["vouchers"]:
        after = step["after"]
        voucher = voucher.next(after["model"], int(after["price"]), int(after["execution"]))
        assert voucher.calls == step["calls"] and voucher.total == int(step["total"])
        assert voucher.encode().hex() == step["encoded"][2:]
        assert Voucher.decode(voucher.encode()) == voucher
        assert (b"opg:voucher:v1" + genesis + voucher.encode()).hex() == step["message"][2:]
    attestation = channels["attestation"]
    assert attestation_message(genesis, attestation).hex() == attestation["message"][2:]


def test_a_voucher_holds_sixteen_groups_of_calls():
    voucher = Voucher(1)
    for model in range(16):
        assert voucher.fits(model)
        voucher = voucher.next(model, 5, 1)
    assert voucher.fits(3) and voucher.fits(3, 5, 1)
    assert not voucher.fits(16) and not voucher.fits(3, 6, 1)


def test_encoding_checks_names_and_sorts_them():
    encoded = tensors.encode({"b": np.uint8(1), "a": np.array([1.5], dtype=np.float32)})
    assert list(tensors.decode(encoded)) == ["a", "b"]
    assert tensors.decode(encoded)["b"].shape == ()
    with pytest.raises(tensors.TensorError) as bad:
        tensors.encode({"a b": np.zeros(1)})
    assert bad.value.kind == "InvalidName"
    with pytest.raises(tensors.TensorError) as bad:
        tensors.encode({"x": np.zeros(1, dtype=np.complex64)})
    assert bad.value.kind == "UnsupportedDtype"


SCHEMA = Schema(
    inputs=(TensorSpec("pixels", "f32", (None, 64)), TensorSpec("mask", "bool", (2,))),
    outputs=(TensorSpec("label", "i64", (None,)),),
)


def test_inputs_convert_to_the_schema_or_name_what_is_wrong():
    encoded = fit_inputs({"pixels": [[0.5] * 64], "mask": [True, False]}, SCHEMA)
    decoded = tensors.decode(encoded)
    assert decoded["pixels"].dtype == np.float32 and decoded["pixels"].shape == (1, 64)
    cases = [
        ({"pixels": np.zeros((1, 64)), "mask": [True, False], "extra": [1]}, "extra", "no such input"),
        ({"pixels": np.zeros((1, 64))}, "mask", "missing"),
        ({"pixels": np.zeros((1, 63)), "mask": [True, False]}, "pixels", "does not fit [?, 64]"),
        ({"pixels": np.zeros(64), "mask": [True, False]}, "pixels", "1 dimensions"),
        ({"pixels": np.zeros((1, 64)), "mask": [1, 0]}, "mask", "does not convert to bool"),
        ({"pixels": np.array([["a"] * 64]), "mask": [True, False]}, "pixels", "does not convert to f32"),
    ]
    for inputs, tensor, problem in cases:
        with pytest.raises(InvalidInput) as refused:
            fit_inputs(inputs, SCHEMA)
        assert refused.value.tensor == tensor and problem in refused.value.problem, refused.value
    integers = Schema(inputs=(TensorSpec("ids", "i32", (2,)),), outputs=())
    with pytest.raises(InvalidInput, match="outside the range of i32"):
        fit_inputs({"ids": np.array([1, 1 << 40])}, integers)
    with pytest.raises(InvalidInput, match="does not convert to i32"):
        fit_inputs({"ids": np.array([1.5, 2.0])}, integers)


def test_opg_amounts_round_trip():
    assert parse_opg("0.5") == 5 * 10**17
    assert parse_opg(2) == 2 * 10**18
    assert format_opg(598708535811000000) == "0.598708535811 OPG"
    assert format_opg(10**18) == "1 OPG"
    for bad in ["-1", "1e-19", "x", "0.0000000000000000001"]:
        with pytest.raises(ValueError):
            parse_opg(bad)
