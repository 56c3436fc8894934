"""Train a scikit-learn model, publish it on the OPG Model Hub, pay for a call, and print what
its uploader earned.

    python examples/publish_sklearn.py [--url ws://127.0.0.1:9944] [--uploader //Charlie] [--caller //Bob]

Runs against the dev chain of ``./scripts/dev.sh`` (a node and a worker on this machine; the
model's artifact is a local file, which that worker is allowed to read). Needs scikit-learn and
skl2onnx (``pip install ./python[examples]``; ``scripts/setup.sh`` installs them).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelhub import Client, NoWorkerAvailable, format_opg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9944")
    parser.add_argument("--uploader", default="//Charlie", help="secret URI or mnemonic of the publisher")
    parser.add_argument("--caller", default="//Bob", help="secret URI or mnemonic of who pays for the call")
    parser.add_argument("--price", default="0.25", help="OPG per call")
    parser.add_argument("--dir", type=Path, default=None, help="where the .onnx file is kept")
    args = parser.parse_args()

    # 1. Train: a scaled random forest on the wine data set bundled with scikit-learn.
    features, labels = load_wine(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(features, labels, test_size=0.2, random_state=0)
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0))
    model.fit(train_x, train_y)
    print(f"trained: accuracy {model.score(test_x, test_y):.3f} on {len(test_y)} held-out wines")

    # 2. Convert to ONNX: f32 input [N, 13]; outputs the label (i64 [N]) and the class
    #    probabilities as a plain tensor (f32 [N, 3]) rather than a list of maps.
    onnx_model = to_onnx(
        model, train_x[:1].astype(np.float32), target_opset=17, options={"zipmap": False}
    )
    folder = args.dir or Path(tempfile.mkdtemp(prefix="wine-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wine.onnx"
    path.write_bytes(onnx_model.SerializeToString())

    # 3. Publish: the schema is read from the ONNX graph; royalties go 100% to the uploader.
    uploader = Client(args.url, args.uploader)
    caller = Client(args.url, args.caller)
    published = uploader.publish(
        path, args.price, {uploader.address: 100}, name="wine-forest",
        description="scikit-learn random forest on the UCI wine data set",
    )
    print(f"published model {published.id} '{published.name}' at {format_opg(published.price)} per call")
    before = uploader.balance()

    # 4. Call it once a worker has fetched the model and declared it ready.
    sample = test_x[:1].astype(np.float32)
    deadline = time.monotonic() + 180
    while True:
        try:
            result = caller.infer(published.id, {"X": sample})
            break
        except NoWorkerAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    print(
        f"prediction {result['label'].tolist()} (true {test_y[:1].tolist()}), "
        f"probabilities {np.round(result['probabilities'], 3).tolist()}"
    )
    print(
        f"paid {format_opg(result.paid)} on the {result.path} path to {', '.join(result.workers)} "
        f"in {result.latency * 1000:.1f} ms (attested: {result.attested})"
    )

    # 5. The uploader's earnings: on the fast path they arrive when the worker settles its
    #    channel (a few seconds later, in one batch).
    deadline = time.monotonic() + 120
    while uploader.usage(published.id).calls < 1 and time.monotonic() < deadline:
        time.sleep(1)
    usage = uploader.usage(published.id)
    print(
        f"uploader {uploader.address} earned {format_opg(uploader.balance() - before)} "
        f"({usage.calls} settled call(s), {format_opg(usage.royalties)} in royalties, rank {usage.rank})"
    )
    uploader.close()
    caller.close()


if __name__ == "__main__":
    main()
