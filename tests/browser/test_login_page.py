"""Logging in as the original Penguin page does, against a server with an API key, in Chromium: the
#local_token link, the session cookie for HTTP and the WebSocket, logging out, and the close codes
a browser sees for a refused socket (1008) and a rate-limited one (1013)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from penguin_actors.testing.ports import free_port
from tests.browser.conftest import DESKTOP, TIMEOUT_MS
from tests.browser.support import send_and_wait
from tests.support import RunningProcess, wait_for_http

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEY = "pk-browser-login-" + "z" * 20

# A socket opened by page script: resolves with the close code (and the first frame it got).
SOCKET_CLOSE = """async ({url, frames}) => {
    const socket = new WebSocket(url);
    const first = [];
    return await new Promise((resolve) => {
        socket.onopen = () => { for (let i = 0; i < frames; i++) socket.send("not json"); };
        socket.onmessage = (event) => first.push(JSON.parse(event.data).data.code);
        socket.onclose = (event) => resolve({code: event.code, codes: first});
    });
}"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with an API key and a tight WebSocket message rate; its base URL."""
    root = tmp_path_factory.mktemp("keyed")
    ray_dir = Path(tempfile.mkdtemp(prefix="pl-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    config = {
        "limits": {"ws_messages_per_minute": 6, "ws_messages_burst": 3},
        "models": {
            "default": "sim",
            "catalog": [{"id": "sim", "name": "sim/sim", "provider": "sim", "reply_tokens": 8}],
        },
    }
    (root / "penguin.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [sys.executable, "-m", "serve_app", "serve", "--port", str(port), "--no-dashboard", "--num-cpus", "2"]
    command += ["--workspace", str(root / "workspace"), "--config", str(root / "penguin.yaml")]
    env = {"PENGUIN_API_KEY": KEY, "RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": str(ray_dir)}
    try:
        with RunningProcess(command, env=env) as process:
            process.wait_for("Press Ctrl-C to stop.", timeout=180)
            base_url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base_url}/", timeout=60, process=process)
            yield base_url
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)


@pytest.fixture
def page(browser: Browser, keyed: str, page_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=keyed)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda message: page_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page_errors.append(f"uncaught: {error}"))
    yield page
    context.close()
    assert page_errors == [], "the page logged errors"


def test_a_local_token_link_logs_the_page_in_with_a_cookie(page: Page, keyed: str, page_errors: list[str]) -> None:
    """/authorize#local_token=<key> logs in: no dialog, the key leaves the URL and the browser's storage, and
    an HttpOnly cookie authenticates the page's calls and its WebSocket, also after a reload."""
    page.goto(f"/authorize#local_token={KEY}")
    page.wait_for_selector("html[data-ready=true]")
    assert KEY not in page.url and "local_token" not in page.url
    expect(page.locator("#dialog")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('penguin.apiKey')") is None
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "penguin_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and KEY not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # out of the page script's reach
    send_and_wait(page, "hello over a cookie")  # the WebSocket carries no token: the cookie authenticates it
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    send_and_wait(page, "still logged in")
    status = page.evaluate("async () => (await fetch('/api/v1/capabilities')).status")
    assert status == 200
    page.evaluate("async () => fetch('/api/v1/auth/session', {method: 'DELETE'})")
    assert page.evaluate("async () => (await fetch('/api/v1/capabilities')).status") == 401
    page_errors[:] = [e for e in page_errors if "401" not in e]  # the browser logs the refused call


def test_a_refused_socket_closes_with_1008_and_a_rate_limited_one_with_1013(
    page: Page, keyed: str, page_errors: list[str]
) -> None:
    """What a browser sees: a socket without the key is told why and closed with 1008 (not 1006); a socket that
    keeps sending over its rate is closed with 1013, never 1008."""
    page.goto("/static/style.css")  # any page of the server's origin, without logging in
    url = keyed.replace("http://", "ws://") + "/api/v1/chat/stream"
    refused = page.evaluate(SOCKET_CLOSE, {"url": url, "frames": 0})
    assert refused == {"code": 1008, "codes": ["unauthorized"]}
    limited = page.evaluate(SOCKET_CLOSE, {"url": f"{url}?token={KEY}", "frames": 30})
    assert limited["code"] == 1013 and limited["codes"][-1] == "rate_limited"
    page_errors[:] = []  # the browser logs the refused handshake's close
