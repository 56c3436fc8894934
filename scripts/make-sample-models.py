#!/usr/bin/env python3
"""Builds the sample ONNX models offline, with their I/O schemas and sample inputs.

- `linear.onnx`: y = x W + b, built with the `onnx` helper API (x: f32 [N, 4] -> y: f32 [N, 2]).
- `digits.onnx`: a logistic-regression classifier of 8x8 handwritten digits, trained with
  scikit-learn on its bundled `digits` data set and converted with `skl2onnx`
  (float_input: f32 [N, 64] -> label: i64 [N], probabilities: f32 [N, 10]).
- `cnn.onnx`: a small residual convolutional network with real (random, seeded) weights:
  convolutions with batch normalization, a residual block, global average pooling and a dense
  layer (image: f32 [N, 3, 32, 32] -> logits: f32 [N, 100]). Its outputs change in the last bits
  with ONNX Runtime's graph optimization level (batch normalization folded into the convolution
  weights, fused and re-laid-out kernels), as any real CNN's do; redundant workers agree on it
  within the model's tolerance, not bit for bit, so it keeps every mantissa bit
  (`output_rounding_bits` 23).

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


def write(out_dir: Path, name: str, model: onnx.ModelProto, sample: dict,
          rounding_bits: int = ROUNDING_BITS):
    onnx.checker.check_model(model)
    (out_dir / f"{name}.onnx").write_bytes(model.SerializeToString())
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    schema = {"opset": opset, "output_rounding_bits": rounding_bits,
              "inputs": specs(model.graph.input), "outputs": specs(model.graph.output)}
    (out_dir / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    inputs = {k: {"dtype": "f32", "shape": list(v.shape), "data": [float(str(x)) for x in v.ravel()]}
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


def cnn_model(seed: int = 2609):
    """A residual CNN with He-initialized random weights and random batch-norm statistics."""
    rng = np.random.default_rng(seed)
    nodes, initializers = [], []

    def constant(name, array):
        initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv_bn(x, name, c_in, c_out, stride, relu=True):
        fan_in = c_in * 9
        w = constant(f"{name}.w", rng.normal(0, np.sqrt(2 / fan_in), (c_out, c_in, 3, 3)))
        b = constant(f"{name}.b", rng.normal(0, 0.05, c_out))
        nodes.append(helper.make_node("Conv", [x, w, b], [f"{name}.conv"], pads=[1, 1, 1, 1],
                                      strides=[stride, stride], kernel_shape=[3, 3]))
        bn = [constant(f"{name}.{k}", v) for k, v in [
            ("gamma", rng.uniform(0.5, 1.5, c_out)), ("beta", rng.normal(0, 0.1, c_out)),
            ("mean", rng.normal(0, 0.1, c_out)), ("var", rng.uniform(0.5, 1.5, c_out))]]
        nodes.append(helper.make_node("BatchNormalization", [f"{name}.conv", *bn], [f"{name}.bn"],
                                      epsilon=1e-5))
        if not relu:
            return f"{name}.bn"
        nodes.append(helper.make_node("Relu", [f"{name}.bn"], [f"{name}.out"]))
        return f"{name}.out"

    x = conv_bn("image", "stem", 3, 16, 1)
    x = conv_bn(x, "down1", 16, 32, 2)
    y = conv_bn(x, "block.a", 32, 32, 1)
    y = conv_bn(y, "block.b", 32, 32, 1, relu=False)
    nodes.append(helper.make_node("Add", [x, y], ["block.sum"]))
    nodes.append(helper.make_node("Relu", ["block.sum"], ["block.out"]))
    x = conv_bn("block.out", "down2", 32, 48, 2)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1))
    w = constant("head.w", rng.normal(0, np.sqrt(1 / 48), (48, 100)))
    b = constant("head.b", rng.normal(0, 0.05, 100))
    nodes.append(helper.make_node("Gemm", ["features", w, b], ["logits"]))
    graph = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 100])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="modelhub-sample")
    model.ir_version = 8
    # One image; four decimals, so the JSON sample is short and exact as f32.
    image = np.round(rng.normal(0, 1, (1, 3, 32, 32)), 4).astype(np.float32)
    return model, image


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
    model, image = cnn_model()
    write(out_dir, "cnn", model, {"image": image}, rounding_bits=23)


if __name__ == "__main__":
    main()
