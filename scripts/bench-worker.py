#!/usr/bin/env python3
"""Compares the worker's per-call execution with raw ONNX Runtime on the same models.

For each model, one run measures, at batch 1 and the same intra-op thread count:
- Python `onnxruntime.InferenceSession.run` on NumPy arrays (the raw runtime), and
- `modelhub-worker exec --repeat` (a loaded session; per call: inputs converted from the
  canonical tensor set, run, outputs converted back, floats rounded, output hashed),
both with the worker's session settings (graph optimizations all, sequential, one inter-op
thread, deterministic compute, CPU provider). Rounds alternate between the two; each side's
best median over the rounds is kept, and the ratio worker/raw is printed.

Models: the samples (`linear`, `digits`) and `resnet50`, a ResNet-50 (bottleneck blocks
3-4-6-3, batch norm folded into the convolutions, 25.6 M parameters, 1x3x224x224 -> 1000)
with seeded random weights, built here with the `onnx` helper API.

Usage: bench-worker.py WORKER_BIN [--threads N] [--rounds N] [--models a,b] [--work-dir DIR]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
NUMPY = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i8": np.int8,
         "i16": np.int16, "i32": np.int32, "i64": np.int64, "u8": np.uint8, "u16": np.uint16,
         "u32": np.uint32, "u64": np.uint64, "bool": np.bool_}


def resnet50(path):
    """Writes a ResNet-50 inference graph with seeded random weights to `path`."""
    rng = np.random.default_rng(50)
    nodes, weights = [], []
    count = [0]

    def fresh(prefix):
        count[0] += 1
        return f"{prefix}{count[0]}"

    def conv(x, cin, cout, kernel, stride=1, relu=True, scale=1.0):
        w, b, y = fresh("w"), fresh("b"), fresh("conv")
        std = scale * np.sqrt(2.0 / (cin * kernel * kernel))
        weights.append(numpy_helper.from_array(
            (rng.standard_normal((cout, cin, kernel, kernel)) * std).astype(np.float32), w))
        weights.append(numpy_helper.from_array(np.zeros(cout, np.float32), b))
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[kernel, kernel],
                                      strides=[stride, stride], pads=[kernel // 2] * 4))
        if not relu:
            return y
        r = fresh("relu")
        nodes.append(helper.make_node("Relu", [y], [r]))
        return r

    x = conv("input", 3, 64, 7, 2)
    pooled = fresh("pool")
    nodes.append(helper.make_node("MaxPool", [x], [pooled], kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    x, cin = pooled, 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for block in range(blocks):
            step = stride if block == 0 else 1
            y = conv(x, cin, width, 1)
            y = conv(y, width, width, 3, step)
            y = conv(y, width, width * 4, 1, relu=False, scale=0.2)
            shortcut = conv(x, cin, width * 4, 1, step, relu=False) if block == 0 else x
            added, out = fresh("add"), fresh("relu")
            nodes.append(helper.make_node("Add", [y, shortcut], [added]))
            nodes.append(helper.make_node("Relu", [added], [out]))
            x, cin = out, width * 4
    gap, flat = fresh("gap"), fresh("flat")
    nodes.append(helper.make_node("GlobalAveragePool", [x], [gap]))
    nodes.append(helper.make_node("Flatten", [gap], [flat]))
    weights.append(numpy_helper.from_array(
        (rng.standard_normal((2048, 1000)) * np.sqrt(1.0 / 2048)).astype(np.float32), "fc_w"))
    weights.append(numpy_helper.from_array(np.zeros(1000, np.float32), "fc_b"))
    nodes.append(helper.make_node("Gemm", [flat, "fc_w", "fc_b"], ["logits"]))
    graph = helper.make_graph(
        nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    image = np.random.default_rng(7).random((1, 3, 224, 224), dtype=np.float32)
    return {"inputs": {"input": {"dtype": "f32", "shape": [1, 3, 224, 224],
                                 "data": image.ravel().tolist()}}}


def raw_runtime(model, inputs, threads, repeat, warmup):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.use_deterministic_compute = True
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    feeds = {name: np.array(t["data"], dtype=NUMPY[t["dtype"]]).reshape(t["shape"])
             for name, t in inputs["inputs"].items()}
    for _ in range(warmup):
        session.run(None, feeds)
    latencies = []
    started = time.perf_counter()
    for _ in range(repeat):
        run = time.perf_counter()
        session.run(None, feeds)
        latencies.append((time.perf_counter() - run) * 1e3)
    total = time.perf_counter() - started
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2], "mean_ms": sum(latencies) / len(latencies),
            "throughput_per_s": repeat / total}


def worker(binary, model, input_file, threads, repeat, warmup):
    output = subprocess.run(
        [binary, "exec", "--model", str(model), "--input-json", str(input_file),
         "--threads", str(threads), "--repeat", str(repeat), "--warmup", str(warmup)],
        check=True, capture_output=True, text=True, timeout=1800)
    return json.loads(output.stdout)["timing"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("worker")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="linear,digits,resnet50")
    parser.add_argument("--work-dir", default=os.path.join(os.environ.get("MODELHUB_CACHE", str(Path.home() / ".cache/modelhub")), "bench"))
    args = parser.parse_args()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)

    plans = {"linear": 5000, "digits": 5000, "resnet50": 30}
    rows = []
    for name in args.models.split(","):
        if name == "resnet50":
            model, input_file = work / "resnet50.onnx", work / "resnet50.input.json"
            if not model.exists() or not input_file.exists():
                print(f"building {model}", file=sys.stderr)
                input_file.write_text(json.dumps(resnet50(model)))
        else:
            model = HERE / "sample-models" / f"{name}.onnx"
            input_file = HERE / "sample-models" / f"{name}.input.json"
        inputs = json.loads(input_file.read_text())
        repeat = plans.get(name, 100)
        warmup = max(3, repeat // 50)
        raw, ours = [], []
        for _ in range(args.rounds):
            raw.append(raw_runtime(model, inputs, args.threads, repeat, warmup))
            ours.append(worker(args.worker, model, input_file, args.threads, repeat, warmup))
        best_raw = min(raw, key=lambda r: r["p50_ms"])
        best_ours = min(ours, key=lambda r: r["p50_ms"])
        rows.append((name, model.stat().st_size, repeat, best_raw, best_ours))

    print(f"threads={args.threads} rounds={args.rounds} onnxruntime={ort.__version__}")
    print(f"{'model':<10} {'MB':>6} {'runs':>5} {'raw p50 ms':>11} {'worker p50 ms':>14} "
          f"{'raw /s':>9} {'worker /s':>10} {'ratio':>6}")
    for name, size, repeat, raw, ours in rows:
        print(f"{name:<10} {size / 1e6:6.2f} {repeat:5d} {raw['p50_ms']:11.4f} "
              f"{ours['p50_ms']:14.4f} {raw['throughput_per_s']:9.1f} "
              f"{ours['throughput_per_s']:10.1f} {ours['p50_ms'] / raw['p50_ms']:6.3f}")


if __name__ == "__main__":
    main()
