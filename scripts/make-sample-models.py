#!/usr/bin/env python3
"""Builds the sample ONNX models offline, with their I/O schemas and sample inputs.

- `linear.onnx`: y = x W + b, built with the `onnx` helper API (x: f32 [N, 4] -> y: f32 [N, 2]).
- `digits.onnx`: a logistic-regression classifier of 8x8 handwritten digits, trained with
  scikit-learn on its bundled `digits` data set and converted with `skl2onnx`
  (float_input: f32 [N, 64] -> label: i64 [N], probabilities: f32 [N, 10]).

Each model gets `NAME.schema.json` (what `publish-model.mjs` declares on chain) and
`NAME.input.json` (one sample input in the worker's JSON tensor format).

Usage: make-sample-models.py [OUT_DIR]   (default: scripts/sample-models)
Needs: onnx, scikit-learn, skl2onnx (scripts/setup.sh installs them in the project venv).
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
ROUNDING_BITS = 16
DTYPES = {
    TensorProto.FLOAT: "f32", TensorProto.DOUBLE: "f64", TensorProto.FLOAT16: "f16",
    TensorProto.INT8: "i8", TensorProto.INT16: "i16", TensorProto.INT32: "i32",
    TensorProto.INT64: "i64", TensorProto.UINT8: "u8", TensorProto.UINT16: "u16",
    TensorProto.UINT32: "u32", TensorProto.UINT64: "u64", TensorProto.BOOL: "bool",
}


def specs(values):
    """The schema entries of graph inputs or outputs: name, dtype, shape (None = dynamic)."""
    out = []
    for value in values:
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
                 for d in tensor.shape.dim]
        out.append({"name": value.name, "dtype": DTYPES[tensor.elem_type], "shape": shape})
    return out


def write(out_dir: Path, name: str, model: onnx.ModelProto, sample: dict):
    onnx.checker.check_model(model)
    (out_dir / f"{name}.onnx").write_bytes(model.SerializeToString())
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    schema = {"opset": opset, "output_rounding_bits": ROUNDING_BITS,
              "inputs": specs(model.graph.input), "outputs": specs(model.graph.output)}
    (out_dir / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    inputs = {k: {"dtype": "f32", "shape": list(v.shape), "data": [float(x) for x in v.ravel()]}
              for k, v in sample.items()}
    (out_dir / f"{name}.input.json").write_text(json.dumps({"inputs": inputs}) + "\n")
    print(f"{name}.onnx: {len((out_dir / f'{name}.onnx').read_bytes())} bytes")


def linear_model() -> onnx.ModelProto:
    w = np.array([[1.0, -1.0], [0.5, 0.25], [-2.0, 0.0], [0.0, 3.0]], dtype=np.float32)
    b = np.array([0.1, -0.2], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="modelhub-sample")
    model.ir_version = 8
    return model


def digits_model():
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target
    # Train on all but the last 100 images; the first held-out image is the sample input.
    classifier = LogisticRegression(max_iter=2000, random_state=0).fit(x[:-100], y[:-100])
    accuracy = classifier.score(x[-100:], y[-100:])
    model = to_onnx(classifier, initial_types=[("float_input", FloatTensorType([None, 64]))],
                    target_opset=OPSET, options={id(classifier): {"zipmap": False}})
    return model, x[-100:-99], int(y[-100]), accuracy


def main():
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "sample-models"
    out_dir.mkdir(parents=True, exist_ok=True)
    write(out_dir, "linear", linear_model(), {"x": np.array([[1, 2, 3, 4]], dtype=np.float32)})
    model, sample, label, accuracy = digits_model()
    write(out_dir, "digits", model, {"float_input": sample})
    print(f"digits: held-out accuracy {accuracy:.2f}, sample label {label}")


if __name__ == "__main__":
    main()
