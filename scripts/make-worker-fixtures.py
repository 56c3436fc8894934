#!/usr/bin/env python3
"""Builds the fixtures of the worker's tests, and computes the outputs the `onnxruntime` Python
package gives (the reference the worker must match).

- `identity.onnx`: one Identity node per protocol dtype, input `in_<dtype>` to output
  `out_<dtype>`: twelve inputs and outputs of every dtype in one model, and
  `identity.expected.json`, its outputs for `identity.input.json` (exact: nothing is computed).
- Models that misbehave, for the worker's isolation tests, each taking `x` f32[1] to `y` f32[1]
  (with `NAME.schema.json` and the input `hostile.input.json`): `hang.onnx` loops 2^62 times
  (it never ends), `hog.onnx` asks for a buffer of x * 2^31 floats (8 GiB for x = 1),
  `crash.onnx` divides INT32_MIN by -1 at run time, which ONNX Runtime does not check and the
  x86 divide instruction traps (SIGFPE, the process dies); `slow.onnx` behaves, slowly (a
  million loop iterations, about two seconds), for the soak test.
- `--expected MODEL INPUT [--threads N]` prints the outputs ONNX Runtime gives for a model and an
  input file on this machine, as JSON. Floating-point outputs differ in their last bits from one
  CPU to another, so the worker's tests compute them at test time instead of storing them.

Usage: make-worker-fixtures.py                     (writes inference-worker/tests/fixtures)
       make-worker-fixtures.py --expected MODEL INPUT [--threads N]
Needs: onnx, onnxruntime (scripts/setup.sh installs them in the project venv).
"""
import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "inference-worker" / "tests" / "fixtures"
TYPES = {
    "f32": (TensorProto.FLOAT, np.float32), "f64": (TensorProto.DOUBLE, np.float64),
    "f16": (TensorProto.FLOAT16, np.float16), "i8": (TensorProto.INT8, np.int8),
    "i16": (TensorProto.INT16, np.int16), "i32": (TensorProto.INT32, np.int32),
    "i64": (TensorProto.INT64, np.int64), "u8": (TensorProto.UINT8, np.uint8),
    "u16": (TensorProto.UINT16, np.uint16), "u32": (TensorProto.UINT32, np.uint32),
    "u64": (TensorProto.UINT64, np.uint64), "bool": (TensorProto.BOOL, np.bool_),
}
ORT_TYPES = {
    "tensor(float)": "f32", "tensor(double)": "f64", "tensor(float16)": "f16",
    "tensor(int8)": "i8", "tensor(int16)": "i16", "tensor(int32)": "i32", "tensor(int64)": "i64",
    "tensor(uint8)": "u8", "tensor(uint16)": "u16", "tensor(uint32)": "u32",
    "tensor(uint64)": "u64", "tensor(bool)": "bool",
}
SAMPLE_VALUES = {
    "f32": [1.5, -2.25, 0.375, 65504.0], "f64": [1.0 / 3.0, -1e300, 5e-324, 2.0],
    "f16": [0.5, -65504.0, 6.103515625e-05, 1.0], "i8": [-128, 127, 0, -1],
    "i16": [-32768, 32767, 1, -2], "i32": [-2147483648, 2147483647, 7, -7],
    "i64": [-9223372036854775808, 9223372036854775807, 3, -3],
    "u8": [0, 255, 1, 128], "u16": [0, 65535, 2, 1000], "u32": [0, 4294967295, 3, 70000],
    "u64": [0, 18446744073709551615, 4, 1 << 40], "bool": [True, False, True, True],
}


def identity_model() -> onnx.ModelProto:
    nodes, inputs, outputs = [], [], []
    for name, (proto, _) in TYPES.items():
        nodes.append(helper.make_node("Identity", [f"in_{name}"], [f"out_{name}"]))
        inputs.append(helper.make_tensor_value_info(f"in_{name}", proto, [2, 2]))
        outputs.append(helper.make_tensor_value_info(f"out_{name}", proto, [2, 2]))
    graph = helper.make_graph(nodes, "identity", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="modelhub-fixture")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def scalar_io():
    return ([helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])


def finish(graph) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="modelhub-fixture")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def loop_model(trips: int, name: str) -> onnx.ModelProto:
    """A Loop of `trips` iterations adding one to `x`."""
    body = helper.make_graph(
        [helper.make_node("Add", ["v_in", "one"], ["v_out"]),
         helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])],
        [helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])])
    inputs, outputs = scalar_io()
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)], name, inputs,
        outputs, [helper.make_tensor("trips", TensorProto.INT64, [], [trips]),
                  helper.make_tensor("cond", TensorProto.BOOL, [], [True])])
    return finish(graph)


def hog_model() -> onnx.ModelProto:
    """Fills a buffer of x * 2^31 floats (sized at run time, so nothing folds it at load)."""
    nodes = [
        helper.make_node("Mul", ["x", "scale"], ["n"]),
        helper.make_node("Cast", ["n"], ["n64"], to=TensorProto.INT64),
        helper.make_node("ConstantOfShape", ["n64"], ["big"],
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
        helper.make_node("ReduceSum", ["big"], ["s"], keepdims=1),
        helper.make_node("Add", ["x", "s"], ["y"]),
    ]
    inputs, outputs = scalar_io()
    graph = helper.make_graph(nodes, "hog", inputs, outputs,
                              [helper.make_tensor("scale", TensorProto.FLOAT, [1], [2.0**31])])
    return finish(graph)


def crash_model() -> onnx.ModelProto:
    """INT32_MIN / -1 on a value computed from `x` (so constant folding cannot run it at load):
    the integer division overflows and the CPU traps."""
    nodes = [
        helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT32),
        helper.make_node("Sub", ["xi", "xi"], ["zero"]),
        helper.make_node("Add", ["zero", "min"], ["a"]),
        helper.make_node("Div", ["a", "minus_one"], ["q"]),
        helper.make_node("Cast", ["q"], ["y"], to=TensorProto.FLOAT),
    ]
    inputs, outputs = scalar_io()
    graph = helper.make_graph(nodes, "crash", inputs, outputs,
                              [helper.make_tensor("min", TensorProto.INT32, [1], [-2**31]),
                               helper.make_tensor("minus_one", TensorProto.INT32, [1], [-1])])
    return finish(graph)


def hang_model() -> onnx.ModelProto:
    """2^62 iterations: it never ends."""
    return loop_model(2**62, "hang")


def slow_model() -> onnx.ModelProto:
    """A million iterations: about two seconds, and `y` = x + 10^6."""
    return loop_model(1_000_000, "slow")


HOSTILE = {"hang": hang_model, "hog": hog_model, "crash": crash_model, "slow": slow_model}


def to_json(array: np.ndarray, dtype: str) -> dict:
    values = array.ravel().tolist()
    if dtype in ("f32", "f64", "f16"):
        values = [float(v) for v in values]
    return {"dtype": dtype, "shape": list(array.shape), "data": values}


def expected(model_path: Path, inputs: dict, threads: int = 0) -> dict:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(model_path), options,
                                           providers=["CPUExecutionProvider"])
    feeds = {}
    for name, tensor in inputs.items():
        numpy_type = TYPES[tensor["dtype"]][1]
        feeds[name] = np.array(tensor["data"], dtype=numpy_type).reshape(tensor["shape"])
    names = [o.name for o in session.get_outputs()]
    dtypes = {o.name: ORT_TYPES[o.type] for o in session.get_outputs()}
    results = session.run(names, feeds)
    return {"outputs": {n: to_json(r, dtypes[n]) for n, r in zip(names, results)}}


def write_fixtures():
    OUT.mkdir(parents=True, exist_ok=True)
    model = identity_model()
    (OUT / "identity.onnx").write_bytes(model.SerializeToString())
    inputs = {f"in_{name}": {"dtype": name, "shape": [2, 2], "data": values}
              for name, values in SAMPLE_VALUES.items()}
    (OUT / "identity.input.json").write_text(json.dumps({"inputs": inputs}) + "\n")
    result = expected(OUT / "identity.onnx", inputs)
    (OUT / "identity.expected.json").write_text(json.dumps(result) + "\n")
    print(f"identity: {', '.join(result['outputs'])}")
    schema = {"opset": 17, "output_rounding_bits": 52,
              "inputs": [{"name": "x", "dtype": "f32", "shape": [1]}],
              "outputs": [{"name": "y", "dtype": "f32", "shape": [1]}]}
    for name, build in HOSTILE.items():
        (OUT / f"{name}.onnx").write_bytes(build().SerializeToString())
        (OUT / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    hostile_input = {"inputs": {"x": {"dtype": "f32", "shape": [1], "data": [1.0]}}}
    (OUT / "hostile.input.json").write_text(json.dumps(hostile_input) + "\n")
    print(f"hostile: {', '.join(HOSTILE)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expected", nargs=2, metavar=("MODEL", "INPUT"),
                        help="print ONNX Runtime's outputs for MODEL on the INPUT file")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads (0: ONNX Runtime's default)")
    args = parser.parse_args()
    if args.expected:
        model, input_file = args.expected
        inputs = json.loads(Path(input_file).read_text())["inputs"]
        print(json.dumps(expected(Path(model), inputs, args.threads)))
    else:
        write_fixtures()


if __name__ == "__main__":
    main()
