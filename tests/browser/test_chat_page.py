"""The chat page: conversations in the sidebar and the URL, streaming, Stop, reconnect, errors, narrow screens."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, WebSocketRoute, expect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.browser.support import REPLY_DONE, open_conversation_id, open_page, send, send_and_wait

pytestmark = [pytest.mark.browser, pytest.mark.ray]


def conversation_with_message(client: httpx.Client, text: str) -> str:
    response = client.post("/api/v1/chat/message", json={"text": text})
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])


def test_page_loads_with_models_and_conversations(page: Page, client: httpx.Client) -> None:
    """`/` draws the sidebar, the model picker (current model chosen) and no errors."""
    conversation_with_message(client, "hello from the API")
    open_page(page)
    expect(page.locator("#conversation-list a.conversation").first).to_be_visible()
    expect(page.locator("#model-picker")).to_have_value("sim")
    assert page.locator("#model-picker option").count() >= 3
    expect(page.locator(".empty h2")).to_have_text("Penguin")


def test_new_conversation_opens_in_the_url(page: Page, client: httpx.Client) -> None:
    """New creates a conversation, names it in the URL, lists it first, marks it active; its first message titles it."""
    open_page(page)
    page.click("#new-conversation")
    page.wait_for_url("**/#/c/*")
    conversation_id = open_conversation_id(page)
    active = page.locator("#conversation-list a.conversation.active")
    expect(active).to_have_attribute("data-id", conversation_id)
    expect(page.locator("#conversation-list a.conversation").first).to_have_attribute("data-id", conversation_id)
    expect(page.locator("#chat-title")).to_have_text("New conversation")
    assert client.get(f"/api/v1/conversations/{conversation_id}").status_code == 200
    send_and_wait(page, "What is a penguin?")
    expect(page.locator("#chat-title")).to_have_text("What is a penguin?")
    expect(active).to_contain_text("2 messages")
    assert client.get(f"/api/v1/conversations/{conversation_id}").json()["title"] == "What is a penguin?"


def test_a_message_sent_while_a_conversation_loads_is_kept(page: Page) -> None:
    """A message sent before the opened conversation's history arrived is not wiped out by that history."""
    held: list[Route] = []

    def hold_history(route: Route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    open_page(page)
    page.route(re.compile(r".*/api/v1/conversations/conv_[^/?]+$"), hold_history)
    page.click("#new-conversation")
    page.wait_for_url("**/#/c/*")
    send(page, "sent while loading")
    page.wait_for_timeout(200)
    for route in held:
        route.continue_()
    page.wait_for_function(REPLY_DONE, arg=0)
    expect(page.locator("#transcript .msg.user")).to_have_text("sent while loading")
    expect(page.locator("#chat-title")).to_have_text("sent while loading")


def test_reply_streams_as_text_before_it_completes(page: Page, client: httpx.Client) -> None:
    """Tokens show as plain text while the turn runs; on complete the rendered reply replaces them."""
    open_page(page)
    page.select_option("#model-picker", "sim-slow")
    send(page, "tell me a long story")
    streaming = page.locator("#transcript .msg.assistant.streaming .body.plain")
    expect(streaming).not_to_have_text("")
    first_text = streaming.text_content() or ""
    assert page.locator("#transcript .markdown").count() == 0  # not complete yet: no rendered HTML
    expect(page.locator("#stop")).to_be_visible()
    page.wait_for_selector("#transcript .msg.assistant[data-state=done] .markdown")
    rendered = page.locator("#transcript .msg.assistant .markdown").inner_text()
    assert rendered.startswith(first_text.strip()[:20])
    assert len(rendered) > len(first_text)
    expect(page.locator("#send")).to_be_visible()
    stored = client.get(f"/api/v1/conversations/{open_conversation_id(page)}").json()
    assert stored["title"] == "tell me a long story"  # titled by the first message
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]


def test_switching_and_reloading_keep_the_open_conversation(page: Page, client: httpx.Client) -> None:
    """A sidebar click opens a conversation in the URL; a reload opens the same one again."""
    first = conversation_with_message(client, "first conversation says apples")
    second = conversation_with_message(client, "second conversation says pears")
    open_page(page, f"/#/c/{first}")
    expect(page.locator("#transcript .msg.user")).to_have_text("first conversation says apples")
    page.click(f"#conversation-list a[data-id='{second}']")
    page.wait_for_url(f"**/#/c/{second}")
    expect(page.locator("#transcript .msg.user")).to_have_text("second conversation says pears")
    expect(page.locator("#chat-title")).to_have_text("second conversation says pears")
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    expect(page.locator("#transcript .msg.user")).to_have_text("second conversation says pears")
    expect(page.locator("#conversation-list a.active")).to_have_attribute("data-id", second)
    page.go_back()
    expect(page.locator("#transcript .msg.user")).to_have_text("first conversation says apples")


def test_rename_and_delete(page: Page, client: httpx.Client) -> None:
    """Rename (PATCH) changes the title everywhere; Delete removes the conversation and clears the URL."""
    conversation_id = conversation_with_message(client, "to be renamed")
    open_page(page, f"/#/c/{conversation_id}")
    page.click("#rename-conversation")
    page.fill("#dialog-input", "Renamed by the page")
    page.press("#dialog-input", "Enter")
    expect(page.locator("#chat-title")).to_have_text("Renamed by the page")
    expect(page.locator(f"#conversation-list a[data-id='{conversation_id}']")).to_contain_text("Renamed by the page")
    page.click("#delete-conversation")
    page.click("#dialog-ok")
    expect(page.locator(f"#conversation-list a[data-id='{conversation_id}']")).to_have_count(0)
    assert "#/c/" not in page.url
    assert client.get(f"/api/v1/conversations/{conversation_id}").status_code == 404


def test_stop_button_stops_a_streaming_reply(page: Page, client: httpx.Client) -> None:
    """Stop sends cancel: the reply ends at once, marked stopped, and the composer is usable again."""
    open_page(page)
    page.select_option("#model-picker", "sim-slow")
    send(page, "talk for a while")
    expect(page.locator("#transcript .msg.streaming .body.plain")).not_to_have_text("")
    page.click("#stop")
    expect(page.locator("#transcript .msg.assistant .note")).to_have_text("Stopped.", timeout=5000)
    expect(page.locator("#send")).to_be_visible()
    expect(page.locator("#stop")).to_be_hidden()
    stored = client.get(f"/api/v1/conversations/{open_conversation_id(page)}").json()
    partial = stored["messages"][-1]["content"]
    assert 0 < len(partial.split()) < 300  # what streamed before the stop is kept, not the whole reply
    page.select_option("#model-picker", "sim")
    send_and_wait(page, "are you still there?")


def test_reconnects_and_resumes_after_a_dropped_connection(page: Page, client: httpx.Client) -> None:
    """When the socket drops mid-reply the page reconnects, sends resume after the last seq, and misses nothing."""
    sent: list[dict[str, Any]] = []
    connections: list[WebSocketRoute] = []

    def relay(ws: WebSocketRoute) -> None:
        connections.append(ws)
        server = ws.connect_to_server()
        first = len(connections) == 1
        tokens = 0

        def from_page(message: str | bytes) -> None:
            sent.append(json.loads(message))
            server.send(message)

        def from_server(message: str | bytes) -> None:
            nonlocal tokens
            ws.send(message)
            tokens += json.loads(message)["event"] == "token"
            if first and tokens == 3:
                ws.close(code=4000, reason="dropped by the test")  # the page sees its socket die mid-turn
                server.close()

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket("**/api/v1/chat/stream", relay)
    open_page(page)
    page.select_option("#model-picker", "sim-slow")
    send(page, "a reply that survives a drop")
    page.wait_for_selector("#transcript .msg.assistant[data-state=done]")
    assert len(connections) == 2
    resume = sent[-1]
    assert resume["type"] == "resume" and resume["after_seq"] >= 3
    assert resume["conversation_id"] == open_conversation_id(page)
    stored = client.get(f"/api/v1/conversations/{open_conversation_id(page)}").json()
    shown = page.locator("#transcript .msg.assistant .markdown").inner_text()
    assert " ".join(shown.split()) == " ".join(stored["messages"][-1]["content"].split())


def test_error_event_shows_and_the_input_stays_usable(page: Page, llm: FakeLLM) -> None:
    """A turn that ends in an error event shows the message; the next message works."""
    llm.script(Reply.error(400, "the fake model refuses this request"))
    open_page(page)
    page.select_option("#model-picker", "fake-openai")
    send_and_wait(page, "this one fails")
    expect(page.locator("#transcript .msg.assistant .error-text")).to_contain_text("refuses")
    llm.script(Reply(text="Back to normal."))
    send_and_wait(page, "and this one works")
    expect(page.locator("#transcript .msg.assistant .markdown").last).to_have_text("Back to normal.")


def test_shift_enter_makes_a_new_line(page: Page) -> None:
    """Shift+Enter adds a line to the message instead of sending it."""
    open_page(page)
    page.click("#message-input")
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    expect(page.locator("#message-input")).to_have_value("line one\nline two")
    assert page.locator("#transcript .msg.user").count() == 0


def test_narrow_layout_has_no_horizontal_scroll(page: Page, llm: FakeLLM) -> None:
    """At 375 px nothing scrolls sideways (wide code and tables scroll in their own box); the sidebar is a drawer."""
    page.set_viewport_size({"width": 375, "height": 740})
    long_line = "x = " + " + ".join(f"value_{i}" for i in range(60))
    table = "| " + " | ".join(f"column {i}" for i in range(12)) + " |\n|" + "---|" * 12
    llm.script(Reply(text=f"# A wide reply\n\n```python\n{long_line}\n```\n\n{table}\n\n{'unbroken' * 40}"))
    open_page(page)
    expect(page.locator("#sidebar")).to_be_hidden()
    page.select_option("#model-picker", "fake-openai")
    send_and_wait(page, "something wide please")
    page.wait_for_selector("#transcript .markdown pre.highlight")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 375
    assert page.evaluate("document.querySelector('.chat').scrollWidth") <= 375
    page.click("#toggle-sidebar")
    expect(page.locator("#sidebar")).to_be_visible()
    page.locator("#conversation-list a.conversation").first.click()
    expect(page.locator("#sidebar")).to_be_hidden()
    page.click("#toggle-panel")
    expect(page.locator("#panel")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
