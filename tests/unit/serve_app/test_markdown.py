"""The Markdown renderer (serve_app/markdown.py) and POST /api/v1/render: safe HTML, highlighted code."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from serve_app.app import STATIC_DIR, create_app
from serve_app.markdown import is_safe_url, pygments_css, render_all, render_markdown
from serve_app.schemas import MAX_RENDER_TEXTS
from tests.support import make_settings


class Elements(HTMLParser):
    """Every start tag with its attributes, to check what the browser would build from the HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def assert_inert(html: str) -> None:
    """No script element, no event-handler or style attribute, no link or image URL but safe ones."""
    for tag, attrs in Elements(html).tags:
        assert tag not in {"script", "iframe", "object", "embed", "style", "svg", "math", "form", "base"}, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in {"href", "src"}:
                assert value is not None and is_safe_url(value), html


XSS_PAYLOADS = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 1">',
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](%6Aavascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2Zy8+)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '[t](https://ok.example "title\\" onmouseover=\\"alert(1)")',
    '```js" onmouseover="alert(1)\ncode\n```',
    "```<script>alert(1)</script>\ncode\n```",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_unsafe_markup_and_urls_render_inert(payload: str) -> None:
    """Raw HTML, event handlers and javascript:/vbscript:/data:/file: URLs never become live markup."""
    assert_inert(render_markdown(payload))


def test_raw_html_shows_as_text() -> None:
    """A <script> in a reply is escaped: the reader sees the tag, the browser builds no element."""
    html = render_markdown('Look: <script>window.__xss = 1</script> and <img src=x onerror="alert(1)">')
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert [tag for tag, _ in Elements(html).tags] == ["p"]


def test_javascript_link_stays_text() -> None:
    """markdown-it's link check refuses javascript: in any spelling; the Markdown stays as written."""
    for url in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "javascript&#58;alert(1)"):
        html = render_markdown(f"[click]({url})")
        assert Elements(html).named("a") == [], html


def test_safe_links_open_in_a_new_tab_without_referrer() -> None:
    """http(s) and mailto links are kept, with rel=noopener noreferrer nofollow; relative links too."""
    links = Elements(render_markdown("[a](https://example.org/x?q=1) [b](mailto:p@example.org) [c](/docs) [d](#top)"))
    hrefs = {attrs["href"]: attrs for attrs in links.named("a")}
    assert set(hrefs) == {"https://example.org/x?q=1", "mailto:p@example.org", "/docs", "#top"}
    assert hrefs["https://example.org/x?q=1"]["rel"] == "noopener noreferrer nofollow"
    assert hrefs["https://example.org/x?q=1"]["target"] == "_blank"
    assert "target" not in hrefs["/docs"]


def test_remote_images_become_links_and_inline_rasters_stay() -> None:
    """A remote image is not fetched by being shown (a link instead); a data:image/png is inlined."""
    remote = Elements(render_markdown("![chart](https://tracker.example/p.png?secret=1)"))
    assert remote.named("img") == []
    assert remote.named("a")[0]["href"] == "https://tracker.example/p.png?secret=1"
    inline = Elements(render_markdown("![dot](data:image/png;base64,iVBORw0KGgo=)"))
    assert inline.named("img") == [{"src": "data:image/png;base64,iVBORw0KGgo=", "alt": "dot"}]
    link_to_data = Elements(render_markdown("[dot](data:image/png;base64,iVBORw0KGgo=)"))
    assert link_to_data.named("a") == [{}]


def test_markdown_structure() -> None:
    """Headings, emphasis, lists, tables (alignment as a class, not a style) and strikethrough render."""
    html = render_markdown(
        "# Title\n\n## Sub\n\n*em* **strong** ~~old~~\n\n- one\n- two\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n"
    )
    tags = [tag for tag, _ in Elements(html).tags]
    for tag in ("h1", "h2", "em", "strong", "s", "ul", "li", "table", "th", "td"):
        assert tag in tags, (tag, html)
    assert '<th class="align-left">a</th>' in html and '<td class="align-right">2</td>' in html


def test_fenced_code_is_highlighted_by_class() -> None:
    """A fenced block with a known language gets Pygments token classes inside pre.highlight."""
    html = render_markdown('```python\ndef greet(name):\n    return f"hi {name}" if name < 1 else None\n```\n')
    assert html.startswith('<pre class="highlight"><code class="language-python">')
    assert '<span class="k">def</span>' in html and '<span class="nf">greet</span>' in html
    assert "&lt;" in html and "style=" not in html


def test_unknown_or_missing_language_is_escaped_text() -> None:
    """Without a known lexer the code is shown escaped, never interpreted."""
    for fence in ("```nosuchlanguage\n<b>x</b>\n```", "```\n<b>x</b>\n```", "    <b>x</b>"):
        html = render_markdown(fence)
        assert "&lt;b&gt;x&lt;/b&gt;" in html and "<span" not in html, html


def test_render_all_keeps_order() -> None:
    assert render_all(["*a*", "", "b"]) == ["<p><em>a</em></p>\n", "", "<p>b</p>\n"]


def test_shipped_pygments_css_is_current() -> None:
    """static/pygments.css is what `python -m serve_app.markdown` writes for the configured style."""
    assert (STATIC_DIR / "pygments.css").read_text() == pygments_css()
    assert re.search(r"\.highlight \.k \{", pygments_css())


# --- POST /api/v1/render ---------------------------------------------------------

KEY = "k-" + "r" * 30


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, **{"limits.max_text_chars": 1000}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_render_route_answers_one_fragment_per_text(http: httpx.AsyncClient) -> None:
    """POST /render {"texts"} answers {"html"} in the same order, each safe."""
    response = await http.post("/api/v1/render", json={"texts": ["# Hi", "<script>x</script>", "```py\nx=1\n```"]})
    assert response.status_code == 200
    html = response.json()["html"]
    assert html[0] == "<h1>Hi</h1>\n"
    assert html[1] == "<p>&lt;script&gt;x&lt;/script&gt;</p>\n"
    assert 'class="language-py"' in html[2]


async def test_render_route_limits(http: httpx.AsyncClient) -> None:
    """Too many texts answer 422; a text over limits.max_text_chars answers 413 naming it."""
    too_many = await http.post("/api/v1/render", json={"texts": ["x"] * (MAX_RENDER_TEXTS + 1)})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "validation_error"
    too_long = await http.post("/api/v1/render", json={"texts": ["ok", "y" * 1001]})
    assert too_long.status_code == 413
    assert "texts[1]" in too_long.json()["error"]["message"]
    wrong_shape = await http.post("/api/v1/render", json={"text": "x"})
    assert wrong_shape.status_code == 422


async def test_render_route_needs_the_api_key(tmp_path: Path) -> None:
    """Like every /api/v1 route, /render answers 401 without the configured key."""
    app = create_app(make_settings(tmp_path, **{"server.api_key": KEY}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.post("/api/v1/render", json={"texts": ["x"]})).status_code == 401
        authorized = await client.post(
            "/api/v1/render", json={"texts": ["x"]}, headers={"Authorization": f"Bearer {KEY}"}
        )
        assert authorized.status_code == 200
