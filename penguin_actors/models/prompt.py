"""Fit a conversation into a model's context window for one call; the stored history is never trimmed."""

from __future__ import annotations

import math

from penguin_actors.types import ImagePart, Message

IMAGE_TOKENS = 1600  # an upper estimate of one image's cost at the providers' default resolutions
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(message: Message) -> int:
    """A cheap, conservative token estimate: a quarter of the characters, images at a flat cost."""
    chars = len(message.text()) + sum(len(c.name) + len(str(c.arguments)) for c in message.tool_calls)
    images = 0 if isinstance(message.content, str) else sum(isinstance(p, ImagePart) for p in message.content)
    return math.ceil(chars / 4) + images * IMAGE_TOKENS + MESSAGE_OVERHEAD_TOKENS


def fit_to_window(messages: list[Message], *, system: str | None, context_window: int, reserve: int) -> list[Message]:
    """The messages to send so the prompt fits ``context_window`` minus ``reserve`` (the reply's room).

    System and pinned (context) messages always stay. Dialog is dropped oldest first, a
    whole exchange at a time (a user message and the replies and tool results after it),
    so what is sent never starts with an orphaned tool result. The latest exchange always
    stays, even if it alone is too long: the provider then answers with its own error.
    """
    budget = context_window - reserve - math.ceil(len(system or "") / 4)
    total = sum(estimate_tokens(m) for m in messages)
    if total <= budget:
        return messages
    exchanges = _exchanges(messages)
    dropped: set[int] = set()
    for exchange in exchanges[:-1]:
        if total <= budget:
            break
        for index in exchange:
            if not _kept(messages[index]):
                dropped.add(index)
                total -= estimate_tokens(messages[index])
    return [m for i, m in enumerate(messages) if i not in dropped]


def _kept(message: Message) -> bool:
    return message.role == "system" or message.pinned


def _exchanges(messages: list[Message]) -> list[list[int]]:
    """Indexes of the dialog grouped by exchange: each group starts at a user message that is not a tool result."""
    groups: list[list[int]] = []
    for index, message in enumerate(messages):
        starts = message.role == "user" and not _kept(message)
        if starts or not groups:
            groups.append([])
        groups[-1].append(index)
    return groups
