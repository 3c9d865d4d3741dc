"""Helpers for tests in Debian's Chromium: a live server, screenshots, axe-core."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from gennation.platform.settings import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update"]


@contextmanager
def serve(app):
    """`app` served by uvicorn on a free local port, in a thread; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (from the npm package) in the page; return serious and critical violations."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make setup` (npm ci in frontend/)")
    # Evaluated through the DevTools protocol: a <script> tag would be (rightly) refused by the page's CSP.
    page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]


def audit(page, lang: str, name: str, found: dict) -> None:
    """Check the open page is in `lang`, screenshot it, and record its serious axe violations under `name`."""
    from playwright.sync_api import expect
    expect(page.locator("html")).to_have_attribute("lang", lang)
    screenshot(page, f"{lang}-{name}")
    violations = axe_violations(page)
    if violations:
        found[name] = violations
