"""The details panel (checkpoints, token usage), image upload, and the API key prompt."""

from __future__ import annotations

import base64

import httpx
import pytest
from playwright.sync_api import Page, Route, WebSocketRoute, expect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.browser.support import open_conversation_id, open_page, send_and_wait

pytestmark = [pytest.mark.browser, pytest.mark.ray]

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_checkpoint_create_and_roll_back(page: Page, client: httpx.Client) -> None:
    """A checkpoint made in the panel is listed; rolling back to it shows the messages as they were then."""
    open_page(page)
    send_and_wait(page, "the first question")
    conversation_id = open_conversation_id(page)
    page.fill("#checkpoint-name", "after one answer")
    page.click("#create-checkpoint")
    checkpoint = page.locator("#checkpoint-list .checkpoint.manual", has_text="after one answer")
    expect(checkpoint).to_contain_text("2 messages")
    send_and_wait(page, "the second question")
    expect(page.locator("#transcript .msg.user")).to_have_count(2)
    expect(page.locator("#usage")).to_contain_text("This conversation")
    checkpoint.get_by_role("button", name="Roll back").click()
    page.click("#dialog-ok")
    expect(page.locator("#transcript .msg.user")).to_have_count(1)
    expect(page.locator("#transcript .msg.user")).to_have_text("the first question")
    expect(page.locator(f"#conversation-list a[data-id='{conversation_id}']")).to_contain_text("2 messages")
    assert client.get(f"/api/v1/conversations/{conversation_id}").json()["message_count"] == 2


def test_branch_opens_the_branch(page: Page) -> None:
    """Branch from a checkpoint creates a conversation from it and opens it in the URL."""
    open_page(page)
    send_and_wait(page, "a root to branch from")
    source = open_conversation_id(page)
    page.click("#create-checkpoint")
    page.locator("#checkpoint-list .checkpoint.manual").get_by_role("button", name="Branch").click()
    page.wait_for_url(lambda url: "#/c/" in url and not url.endswith(source))
    expect(page.locator("#transcript .msg.user")).to_have_text("a root to branch from")
    expect(page.locator("#chat-title")).to_contain_text("Branch of")
    expect(page.locator("#conversation-list a.active")).to_have_attribute("data-id", open_conversation_id(page))


def test_upload_an_image_and_send_it(page: Page, client: httpx.Client, llm: FakeLLM) -> None:
    """With a vision model and POST /upload, an attached image is uploaded and sent as the message's image_path."""
    if not client.get("/api/v1/capabilities").json()["capabilities"]["file_upload"]:
        pytest.skip("POST /api/v1/upload is not part of this build yet (capabilities.file_upload is false)")
    llm.script(Reply(text="A single pixel."))
    open_page(page)
    page.select_option("#model-picker", "fake-openai")
    expect(page.locator("#attach")).to_be_visible()
    page.set_input_files("#attach-input", files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}])
    expect(page.locator("#attachment")).to_be_visible()
    expect(page.locator("#attachment-name")).to_have_text("dot.png")
    send_and_wait(page, "what is in this image?")
    expect(page.locator("#transcript .msg.user img.attached-image")).to_be_visible()
    expect(page.locator("#attachment")).to_be_hidden()
    sent = llm.requests[-1].body["messages"][-1]["content"]
    assert any(part.get("type") == "image_url" for part in sent), sent
    page.select_option("#model-picker", "blind")  # a model without vision: no attach button
    expect(page.locator("#attach")).to_be_hidden()


COUNT_DIALOGS = """
window.__dialogs = 0;
const showModal = HTMLDialogElement.prototype.showModal;
HTMLDialogElement.prototype.showModal = function () { window.__dialogs += 1; return showModal.call(this); };
"""


def test_api_key_is_asked_for_once_and_sent(page: Page, page_errors: list[str]) -> None:
    """On 401 the page asks for the key once, keeps it, and sends it as a bearer header and ?token= on the socket."""
    key = "k-browser-test-key"
    sockets: list[str] = []

    def guard(route: Route) -> None:  # plays a server with an API key in front of the real one
        if route.request.headers.get("authorization") == f"Bearer {key}":
            route.continue_()
        else:
            body = '{"error": {"code": "unauthorized", "message": "API key required"}}'
            route.fulfill(status=401, body=body, content_type="application/json")

    def guard_socket(ws: WebSocketRoute) -> None:
        sockets.append(ws.url)
        if f"token={key}" not in ws.url:
            ws.close(code=1008, reason="API key required")
            return
        ws.connect_to_server()

    page.route("**/api/v1/**", guard)
    page.route_web_socket("**/api/v1/chat/stream*", guard_socket)
    page.add_init_script(COUNT_DIALOGS)
    page.goto("/")
    dialog = page.locator("#dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#dialog-title")).to_have_text("API key")
    page.fill("#dialog-input", key)
    page.press("#dialog-input", "Enter")
    page.wait_for_selector("html[data-ready=true]")
    expect(dialog).to_be_hidden()
    assert page.evaluate("localStorage.getItem('penguin.apiKey')") == key
    send_and_wait(page, "hello with a key")
    assert sockets and all(f"token={key}" in url for url in sockets)
    assert page.evaluate("window.__dialogs") == 1  # three calls were refused at start; one question
    page_errors[:] = [e for e in page_errors if "401" not in e]  # the refused calls are logged by the browser
