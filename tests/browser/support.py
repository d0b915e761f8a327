"""Helpers for the browser tests: drive the page as a user would (fixtures live in conftest.py)."""

from __future__ import annotations

from playwright.sync_api import Page

# The reply after `before` others ended (rendered, or failed) and the composer is free again.
REPLY_DONE = """(before) => {
    const replies = document.querySelectorAll('#transcript .msg.assistant');
    return replies.length > before && replies[replies.length - 1].dataset.state !== undefined
        && !document.querySelector('#send').disabled;
}"""


def open_page(page: Page, path: str = "/") -> Page:
    """Load the page and wait until its first view is drawn."""
    page.goto(path)
    page.wait_for_selector("html[data-ready=true]")
    return page


def send(page: Page, text: str) -> None:
    """Type a message and press Enter, as a user would."""
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")


def replies(page: Page) -> int:
    return page.locator("#transcript .msg.assistant").count()


def send_and_wait(page: Page, text: str) -> None:
    """Send a message and wait until its reply is complete and the composer is free again."""
    before = replies(page)
    send(page, text)
    page.wait_for_function(REPLY_DONE, arg=before)


def open_conversation_id(page: Page) -> str:
    """The conversation named in the URL (#/c/<id>)."""
    url = page.url
    assert "#/c/" in url, url
    return url.split("#/c/", 1)[1]
