"""Replies render as Markdown with highlighted code, and model output can never run script in the page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.browser.support import open_page, send_and_wait

pytestmark = [pytest.mark.browser, pytest.mark.ray]

HOSTILE_REPLY = """# Heading one

## Heading two

Some **bold** text and a [safe link](https://example.org/docs).

```python
def greet(name):
    return f"hello {name}"
```

<script>window.__xss = 1; document.title = "pwned"</script>

<img src="/nowhere.png" onerror="window.__xss = 2; document.title = 'pwned'">

[click me](javascript:window.__xss=3)

<a href="javascript:window.__xss=4">raw link</a>

![pixel](javascript:window.__xss=5)

<svg onload="window.__xss = 6"></svg>
"""

# After a reply rendered: no script ran, and nothing in the DOM could run one later.
NOTHING_ACTIVE = """() => ({
    xss: window.__xss ?? null,
    title: document.title,
    onAttributes: [...document.querySelectorAll('*')].flatMap(
        (node) => [...node.attributes].map((a) => a.name).filter((name) => name.startsWith('on'))),
    scriptHrefs: [...document.querySelectorAll('[href], [src]')]
        .map((node) => node.getAttribute('href') || node.getAttribute('src'))
        .filter((url) => /^\\s*(javascript|vbscript|data:text)/i.test(url)),
    scripts: [...document.querySelectorAll('#transcript script, #transcript svg, #transcript iframe')].length,
})"""


def assert_inert(page: Page) -> None:
    found = page.evaluate(NOTHING_ACTIVE)
    assert found["xss"] is None, found
    assert "pwned" not in found["title"], found
    assert found["onAttributes"] == [] and found["scriptHrefs"] == [] and found["scripts"] == 0, found


def assert_rendered(page: Page) -> None:
    reply = page.locator("#transcript .msg.assistant .markdown").last
    expect(reply.locator("h1")).to_have_text("Heading one")
    expect(reply.locator("h2")).to_have_text("Heading two")
    expect(reply.locator("pre.highlight code.language-python span.k").first).to_have_text("def")
    expect(reply.locator("a[href='https://example.org/docs']")).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(reply).to_contain_text("<script>window.__xss = 1")  # shown as text
    expect(reply).to_contain_text("[click me](javascript:window.__xss=3)")
    colour = reply.locator("pre.highlight span.k").first.evaluate("node => getComputedStyle(node).color")
    assert colour != reply.locator("pre.highlight").evaluate("node => getComputedStyle(node).color")  # CSS applies


def test_markdown_renders_and_hostile_output_stays_inert(page: Page, llm: FakeLLM) -> None:
    """Headings and highlighted code render; <script>, onerror and javascript: links neither run nor survive."""
    llm.script(Reply(text=HOSTILE_REPLY, words_per_chunk=5))
    open_page(page)
    title = page.title()
    page.select_option("#model-picker", "fake-openai")
    send_and_wait(page, "show me everything")
    assert_rendered(page)
    assert_inert(page)
    assert page.title() != "pwned" and "pwned" not in title
    page.reload()  # history is rendered in one batch by POST /render: the same safety
    page.wait_for_selector("html[data-ready=true]")
    page.wait_for_selector("#transcript .markdown h1")
    assert_rendered(page)
    assert_inert(page)


def test_tool_calls_show_as_collapsible_blocks(page: Page, llm: FakeLLM) -> None:
    """A tool call shows as a closed <details> with its name and status; opened, its arguments and result."""
    llm.script(Reply.tool("read_file", {"path": "notes/plan.md"}, text="Let me look."), Reply(text="Done looking."))
    open_page(page)
    page.select_option("#model-picker", "fake-openai")
    send_and_wait(page, "read my plan")
    for attempt in ("streamed", "history"):
        tool = page.locator("#transcript details.tool").last
        expect(tool.locator(".tool-name")).to_have_text("read_file")
        expect(tool.locator(".tool-status")).to_have_text(re.compile("completed|error"))
        expect(tool.locator(".tool-arguments")).to_be_hidden()  # collapsed until opened
        tool.locator("summary").click()
        expect(tool.locator(".tool-arguments")).to_contain_text('"path": "notes/plan.md"', ignore_case=False)
        expect(tool.locator(".tool-result")).not_to_be_empty()
        if attempt == "streamed":
            page.reload()
            page.wait_for_selector("html[data-ready=true]")


SCREENSHOT_REPLY = """## Reading a file, safely

Use a **context manager**, so the file is closed even when an error is raised:

```python
from pathlib import Path


def count_lines(path: Path) -> int:
    \"\"\"The number of lines in a text file.\"\"\"
    with path.open(encoding="utf-8") as file:
        return sum(1 for _ in file)
```

| approach | closes the file | memory |
|:--|:-:|--:|
| `with open(...)` | always | one line |
| `read().splitlines()` | always | whole file |

See the [pathlib docs](https://docs.python.org/3/library/pathlib.html) for more.
"""


@pytest.mark.skipif(not os.environ.get("PENGUIN_SCREENSHOT"), reason="set PENGUIN_SCREENSHOT=docs/screenshot.png")
def test_screenshot_of_the_main_screen(page: Page, llm: FakeLLM, client: httpx.Client) -> None:
    """Writes the README's screenshot: a conversation with a rendered Markdown reply with code."""
    llm.script(Reply(text=SCREENSHOT_REPLY, words_per_chunk=4))
    for title in ("Plan the storage migration", "Why is the CI job flaky?"):
        client.post("/api/v1/chat/message", json={"text": title}).raise_for_status()
    open_page(page)
    page.click("#new-conversation")
    page.wait_for_url("**/#/c/*")
    page.select_option("#model-picker", "fake-openai")
    send_and_wait(page, "How do I count the lines of a file in Python?")
    page.fill("#checkpoint-name", "Before refactoring")
    page.click("#create-checkpoint")
    page.wait_for_selector("#checkpoint-list .checkpoint.manual")
    page.wait_for_selector("#toast", state="hidden", timeout=5000)
    target = Path(os.environ["PENGUIN_SCREENSHOT"])
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
