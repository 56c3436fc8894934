"""The explorer in a real headless Chromium against a real hub: a dev node keeping the hub
index (``--hub-index``) and a worker on loopback ports (``python/tests/hub.py``), the explorer's
built files (``explorer/dist``, ``scripts/setup.sh`` builds them) served over HTTP on loopback.

Charlie publishes two models, Bob pays for calls with the Python client, on a node that keeps
no index; the node is restarted with ``--hub-index`` and its index backfills them from block 1.
The index's totals must equal the chain's counters; the pages must show
what the chain and the index hold, the market page the figures ``hubindex_market`` answers,
and the "try it" form must pay for a call. Each page is saved as a screenshot under
``$MODELHUB_SCREENSHOTS`` (default ``$CARGO_TARGET_DIR/explorer-screenshots``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))

from hub import SAMPLES, Hub, free_port, running_hub, wait_port  # noqa: E402

from modelhub import Client  # noqa: E402
from modelhub.client import account_of  # noqa: E402

DIST = ROOT / "explorer" / "dist"
CHROMIUM = os.environ.get("MODELHUB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("MODELHUB_SCREENSHOTS")
    or Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "modelhub" / "target"))
    / "explorer-screenshots"
)
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def rpc(hub: Hub, method: str, params: list | None = None):
    """One JSON-RPC call over the node's HTTP endpoint."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{hub.rpc_port}", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise AssertionError(f"{method}: {answer['error']}")
    return answer["result"]


def until(what: str, check, within: float = 120):
    """Waits (bounded) until ``check()`` returns something true, and returns it."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        time.sleep(1)


def sample(name: str) -> dict:
    inputs = json.loads((SAMPLES / f"{name}.input.json").read_text())["inputs"]
    return {
        key: np.array(value["data"], dtype=np.float64).reshape(value["shape"])
        for key, value in inputs.items()
    }


@pytest.fixture(scope="module")
def hub():
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"{DIST} is not built: run scripts/setup.sh")
    with running_hub() as hub:
        yield hub


@pytest.fixture(scope="module")
def market(hub):
    """Two models and four paid calls on a node without the index, which is then restarted
    with ``--hub-index`` and backfills them: ``{"digits": id, "linear": id}``."""
    with Client(hub.url, "//Charlie", timeout=180) as charlie:
        digits = charlie.publish(
            SAMPLES / "digits.onnx", "0.5", {"//Charlie": 70, "//Ferdie": 30},
            name="digits", description="8x8 handwritten digits, logistic regression",
        )
        linear = charlie.publish(
            SAMPLES / "linear.onnx", "0.2", {"//Charlie": 100},
            name="linear", description="A linear regression on four features",
        )
    with Client(hub.url, "//Bob", timeout=180) as bob:
        until("both models served", lambda: bob.fast_workers(digits.id) and bob.fast_workers(linear.id), 180)
        for _ in range(3):
            assert bob.infer(digits.id, sample("digits"), fast=False).output_hash
        assert bob.infer(linear.id, sample("linear"), fast=False).output_hash
    hub.restart_node(("--hub-index",))
    until(
        "the calls indexed",
        lambda: (rpc(hub, "hubindex_model", [digits.id, None]) or {}).get("totals", {}).get("calls") == 3
        and rpc(hub, "hubindex_model", [linear.id, None])["totals"]["calls"] == 1,
    )
    return {"digits": digits.id, "linear": linear.id}


@pytest.fixture(scope="module")
def site():
    """The explorer's files over HTTP on loopback."""
    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"explorer-http-{port}.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(DIST), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),
    )
    try:
        wait_port(port, server, log, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {SCREENSHOTS}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, site: str, hub: Hub, route: str, viewport=LAPTOP):
    """A new page at ``route``, once its data is shown; fails on the page's own error."""
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site}/?rpc={hub.url}#{route}")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    assert page.evaluate("document.body.dataset.error") != "1", page.inner_text("body")
    assert not errors, errors
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def shot_on_phone(browser, site: str, hub: Hub, route: str, name: str) -> None:
    """Saves ``route`` as a phone shows it, as ``NAME-phone.png``."""
    page = open_page(browser, site, hub, route, PHONE)
    shot(page, f"{name}-phone")
    page.close()


def test_the_catalog_lists_the_chains_models(hub, market, site, browser):
    page = open_page(browser, site, hub, "/")
    listed = {int(row.get_attribute("data-model-id")) for row in page.query_selector_all("[data-testid='catalog-row']")}
    assert set(market.values()) <= listed
    shot(page, "catalog")
    page.close()
    shot_on_phone(browser, site, hub, "/", "catalog")


def test_a_model_page_shows_the_calls_just_made(hub, market, site, browser):
    page = open_page(browser, site, hub, f"/model/{market['digits']}")
    calls = page.get_attribute("[data-testid='model-calls']", "data-value")
    assert int(calls) == rpc(hub, "hubindex_model", [market["digits"], None])["totals"]["calls"] >= 3
    payers = page.query_selector_all("[data-testid='payer-row']")
    assert [row.get_attribute("data-account") for row in payers] == [account_of("//Bob")]
    shot(page, "model")
    page.close()
    shot_on_phone(browser, site, hub, f"/model/{market['digits']}", "model")


def test_the_market_page_shows_the_rpcs_figures(hub, market, site, browser):
    page = open_page(browser, site, hub, "/market")
    figures = rpc(hub, "hubindex_market", [None, None])
    for testid, key in [
        ("market-calls", "calls"),
        ("market-models-called", "modelsCalled"),
        ("market-top10", "top10Share"),
        ("market-hhi", "hhi"),
        ("market-gini", "gini"),
        ("market-bottom50", "bottom50RoyaltyShare"),
        ("market-bottom80", "bottom80RoyaltyShare"),
    ]:
        shown = page.get_attribute(f"[data-testid='{testid}']", "data-value")
        assert float(shown) == float(figures[key]), (testid, shown, figures[key])
    assert figures["calls"] >= 4 and figures["modelsCalled"] == 2
    shot(page, "market")
    page.close()
    shot_on_phone(browser, site, hub, "/market", "market")


def test_uploader_and_worker_pages_show_their_accounts(hub, market, site, browser):
    charlie = account_of("//Charlie")
    page = open_page(browser, site, hub, f"/uploader/{charlie}")
    assert "digits" in page.inner_text("body") and "linear" in page.inner_text("body")
    shot(page, "uploader")
    page.close()
    dave = account_of("//Dave")
    page = open_page(browser, site, hub, f"/worker/{dave}")
    assert rpc(hub, "hubindex_worker", [dave, None])["totals"]["jobs"] >= 4
    shot(page, "worker")
    page.close()


def test_the_try_it_form_pays_for_a_call(hub, market, site, browser):
    model = market["linear"]
    before = rpc(hub, "modelhub_model", [model])["calls"]
    page = open_page(browser, site, hub, f"/model/{model}")
    form = page.locator("[data-testid='try-it']")
    form.get_by_role("button", name="Quote").click()
    page.wait_for_function(
        "document.querySelector(\"[data-testid='try-quote']\")?.textContent.includes('OPG')", timeout=30_000
    )
    form.get_by_role("button", name="Pay and run").click()
    page.wait_for_function(
        "/settled|refund|error|failed/i.test(document.querySelector(\"[data-testid='try-status']\")?.textContent ?? '')",
        timeout=180_000,
    )
    status = page.inner_text("[data-testid='try-status']")
    assert "settled" in status.lower(), status
    output = page.inner_text("[data-testid='try-output']")
    assert output.strip(), "no output shown"
    shot(page, "try-it")
    page.close()
    assert rpc(hub, "modelhub_model", [model])["calls"] == before + 1


def test_the_index_totals_equal_the_chains_counters(hub, market):
    for model in market.values():
        chain = rpc(hub, "modelhub_model", [model])
        indexed = until(
            "the index at the chain's count",
            lambda: (lambda page: page if page["model"]["calls"] == chain["calls"] else None)(
                rpc(hub, "hubindex_model", [model, None])
            ),
            60,
        )
        assert int(indexed["model"]["royalties"]) == int(chain["revenue"])
        assert indexed["totals"]["calls"] == chain["calls"]
        assert indexed["model"]["payers"] == chain["payers"]
    chain = rpc(hub, "modelhub_marketStats", [None])
    indexed = rpc(hub, "hubindex_market", [None, None])
    assert indexed["calls"] == chain["calls"]
    assert int(indexed["royalties"]) == int(chain["royalties"])
    for key in ("top10Share", "hhi", "gini", "modelsCalled"):
        assert indexed[key] == chain[key], key
    dave = account_of("//Dave")
    worker = rpc(hub, "modelhub_worker", [dave])
    totals = rpc(hub, "hubindex_worker", [dave, None])["totals"]
    assert int(totals["earnings"]) == int(worker["earnings"])
    assert totals["slashes"] == worker["slashes"]
