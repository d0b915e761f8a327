"""Markdown to safe HTML for the web page: markdown-it-py with raw HTML off, Pygments for code.

Model output is untrusted, so the renderer only ever emits markup it builds itself:

- raw HTML in the text (``<script>``, ``<img onerror=…>``) is escaped and shows as text;
- a link or image URL must be relative, or use ``http``, ``https`` or ``mailto`` (images
  may also be inline ``data:image/{png,jpeg,gif,webp}``); anything else (``javascript:``,
  ``vbscript:``, ``file:``, other ``data:``) leaves the Markdown as plain text;
- remote images are not loaded: they render as a link, so a reply cannot make the browser
  fetch a URL (a tracking pixel, or data smuggled out in a query string) by itself being shown;
- fenced code is highlighted by Pygments into ``<span class=…>`` (the colours are in
  ``static/pygments.css``); table alignment becomes a class, so the page's CSP needs no inline styles.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
INLINE_IMAGE = re.compile(r"^data:image/(?:png|jpeg|gif|webp);", re.IGNORECASE)
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
# Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]")
LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]{1,40}$")
MAX_HIGHLIGHT_CHARS = 100_000  # longer code blocks are shown unhighlighted
ALIGN_STYLE = re.compile(r"^text-align:(left|right|center)$")

FORMATTER = HtmlFormatter(nowrap=True)
PYGMENTS_STYLE = "default"


def is_safe_url(url: str) -> bool:
    """True for a relative URL, an http(s) or mailto URL, or an inline raster image."""
    compact = IGNORED_IN_URL.sub("", url)
    match = SCHEME.match(compact)
    if match is None:
        return True
    return match.group(1).lower() in SAFE_SCHEMES or INLINE_IMAGE.match(compact) is not None


def _lexer(language: str) -> Lexer | None:
    if not LANGUAGE.match(language):
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def highlight_code(code: str, language: str) -> str:
    """``<pre class="highlight"><code class="language-…">`` with Pygments token classes, or escaped text."""
    lexer = _lexer(language) if language and len(code) <= MAX_HIGHLIGHT_CHARS else None
    body = highlight(code, lexer, FORMATTER) if lexer is not None else html.escape(code)
    label = f' class="language-{html.escape(language)}"' if LANGUAGE.match(language) else ""
    return f'<pre class="highlight"><code{label}>{body}</code></pre>\n'


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    language = html.unescape(token.info).strip().split(maxsplit=1)[0] if token.info.strip() else ""
    return highlight_code(token.content, language)


def _code_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return highlight_code(tokens[idx].content, "")


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if INLINE_IMAGE.match(href):
        token.attrs.pop("href", None)  # a data: URL is for images only; a link to one stays inert text
    elif SCHEME.match(href):
        token.attrSet("rel", "noopener noreferrer nofollow")
        token.attrSet("target", "_blank")
    return str(self.renderToken(tokens, idx, options, env))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    if INLINE_IMAGE.match(src):
        return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}">'
    label = html.escape(f"image: {alt}" if alt else "image")
    attrs = f'class="image-link" href="{html.escape(src)}" rel="noopener noreferrer nofollow" target="_blank"'
    return f"<a {attrs}>{label}</a>"


def _cell(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    align = ALIGN_STYLE.match(str(token.attrGet("style") or ""))
    token.attrs.pop("style", None)
    if align:
        token.attrSet("class", f"align-{align.group(1)}")
    return str(self.renderToken(tokens, idx, options, env))


def build_markdown() -> MarkdownIt:
    """CommonMark with tables and strikethrough, raw HTML off, our link, image, code and cell rules."""
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = is_safe_url  # type: ignore[method-assign]
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    md.add_render_rule("th_open", _cell)
    md.add_render_rule("td_open", _cell)
    return md


MARKDOWN = build_markdown()


def render_markdown(text: str) -> str:
    """One text as HTML that is safe to insert into the page."""
    return str(MARKDOWN.render(text))


def render_all(texts: Sequence[str]) -> list[str]:
    return [render_markdown(text) for text in texts]


def pygments_css(style: str = PYGMENTS_STYLE) -> str:
    """The stylesheet for highlighted code; ``static/pygments.css`` is this, written by ``python -m``."""
    header = f"/* Pygments style {style!r} for .highlight; regenerate with: python -m serve_app.markdown */\n"
    rules = HtmlFormatter(style=style).get_style_defs(".highlight")  # type: ignore[no-untyped-call]
    return f"{header}{rules}\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).parent / "static" / "pygments.css"
    target.write_text(pygments_css())
    print(f"wrote {target}")
