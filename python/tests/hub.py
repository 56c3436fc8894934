"""A local hub for the client's end-to-end tests and benchmark: the real ``modelhub-node --dev``
and ``modelhub-worker`` binaries on free loopback ports, with their logs in a temporary
directory. ``scripts/test.sh`` builds the binaries and exports ``ORT_DYLIB_PATH``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "scripts" / "sample-models"
FIXTURES = ROOT / "inference-worker" / "tests" / "fixtures"


def binary(name: str) -> Path:
    """A release binary of the workspace: ``$MODELHUB_NODE_BIN`` / ``$MODELHUB_WORKER_BIN``,
    else ``$CARGO_TARGET_DIR/release/NAME``."""
    variable = {"modelhub-node": "MODELHUB_NODE_BIN", "modelhub-worker": "MODELHUB_WORKER_BIN"}[name]
    if os.environ.get(variable):
        path = Path(os.environ[variable])
    else:
        target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache" / "modelhub" / "target"))
        path = Path(target) / "release" / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run scripts/build.sh (scripts/test.sh does)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, log: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"nothing listens on {port}; log ends:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Hub:
    """A dev node and workers; :meth:`stop` ends them."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="modelhub-python-"))
        self.processes: list[subprocess.Popen] = []
        self.rpc_port = free_port()
        self.url = f"ws://127.0.0.1:{self.rpc_port}"
        self.fast_endpoints: dict[str, str] = {}
        self.node: subprocess.Popen | None = None
        self.node_starts = 0

    def start_node(self, extra: tuple[str, ...] = ()) -> None:
        """Runs ``modelhub-node --dev`` (with ``extra`` arguments) until its RPC port listens."""
        self.node_starts += 1
        log = self.dir / ("node.log" if self.node_starts == 1 else f"node-{self.node_starts}.log")
        command = [
            str(binary("modelhub-node")),
            "--dev",
            "--base-path", str(self.dir / "chain"),
            "--rpc-port", str(self.rpc_port),
            "--prometheus-port", str(free_port()),
            "--listen-addr", f"/ip4/127.0.0.1/tcp/{free_port()}",
            "--no-mdns",
            "--no-telemetry",
            *extra,
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
        self.processes.append(process)
        self.node = process
        wait_port(self.rpc_port, process, log, 120)

    def restart_node(self, extra: tuple[str, ...] = ()) -> None:
        """Stops the node and runs it again on the same chain and RPC port with ``extra``
        arguments; the workers reconnect by themselves."""
        assert self.node is not None
        self.node.send_signal(signal.SIGINT)
        self.node.wait(timeout=60)
        self.processes.remove(self.node)
        self.start_node(extra)

    def start_worker(self, suri: str = "//Dave", capacity: int = 4, extra: tuple[str, ...] = ()) -> str:
        """Registers ``suri`` as a worker (100 OPG bond) and runs it serving fast calls (with
        ``extra`` arguments); returns its fast-path endpoint."""
        name = suri.strip("/")
        worker = str(binary("modelhub-worker"))
        register = [worker, "register", "--url", self.url, "--suri", suri, "--bond", "100", "--capacity", str(capacity)]
        # A node just started may not take transactions yet: a few tries, a few seconds apart.
        for attempt in range(5):
            run = subprocess.run(register, capture_output=True, text=True, timeout=120)
            if run.returncode == 0:
                break
            if attempt == 4:
                raise RuntimeError(f"registering {suri} failed:\n{run.stderr}\n{self.logs()}")
            time.sleep(3)
        fast = f"127.0.0.1:{free_port()}"
        log = self.dir / f"worker-{name}.log"
        command = [
            worker, "run",
            "--url", self.url,
            "--suri", suri,
            "--models-dir", str(self.dir / f"models-{name}"),
            "--allow-file-artifacts",
            "--allow-private-artifacts",
            "--fast-listen", fast,
            "--fast-state-dir", str(self.dir / f"fast-{name}"),
            "--drain-timeout", "1",
            "--fast-settle-secs", "5",
            *extra,
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
        self.processes.append(process)
        wait_port(int(fast.rsplit(":", 1)[1]), process, log, 120)
        self.fast_endpoints[suri] = f"http://{fast}"
        return self.fast_endpoints[suri]

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{tail(log)}" for log in sorted(self.dir.glob("*.log")))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def running_hub(node: tuple[str, ...] = (), worker: tuple[str, ...] = ()):
    """A hub with a dev node (``node``: its extra arguments) and the worker Dave (``worker``:
    its extra arguments); prints the logs if starting or using it fails, and stops it."""
    hub = Hub()
    try:
        hub.start_node(node)
        hub.start_worker("//Dave", extra=worker)
        yield hub
    except BaseException:
        print(hub.logs())
        raise
    finally:
        hub.stop()
