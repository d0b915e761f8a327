"""Reading a request body the same way in either wire format: its prompt texts, their size, the last user text.

Also the basic shape both services require of a conversation before their own checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def _texts(node: Any) -> Iterable[str]:
    """Every prompt string of a request body: system, message contents and text blocks."""
    if isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "content", "system") and isinstance(value, str):
                yield value
            elif key in ("arguments", "input") and not isinstance(value, list):
                yield value if isinstance(value, str) else json.dumps(value)
            elif isinstance(value, (list, dict)) and key not in ("source", "image_url"):
                yield from _texts(value)


def count_words(body: Mapping[str, Any]) -> int:
    return sum(len(t.split()) for t in _texts({"system": body.get("system"), "messages": body.get("messages")}))


def last_user_text(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            text = " ".join(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text")
            if text:
                return text
    return ""


def shape_problem(body: Any, required: Sequence[str]) -> str | None:
    """The first problem with ``body``'s shape: not an object, a ``required`` field missing, no messages."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    missing = [k for k in required if k not in body]
    if missing:
        return f"{missing[0]}: Field required"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    return None
