"""Turns as the store holds them: a finished turn's result rebuilt from its messages, and the user messages
clients sent with an id of their own.

Every message a turn commits carries its ``turn_id``; a user message may carry the client's
``client_message_id``. So a turn that is no longer in memory (its conversation was passivated
or its host lost) still answers what it said, and a send repeated with the same id is known
after any restart, from the history alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from penguin_actors.types import Message

IDEMPOTENCY_WINDOW_S = 24 * 3600  # a repeated client_message_id within this is the same send


@dataclass(frozen=True)
class Sent:
    """A user message a client sent with its own id: the turn it started, its text, when."""

    turn_id: str
    text: str
    at: float


def sent_messages(history: list[Message], since: float) -> dict[str, Sent]:
    """The user messages of ``history`` sent with a client id after ``since``, by that id."""
    return {
        m.client_message_id: Sent(m.turn_id, m.text(), m.created_at)
        for m in history
        if m.role == "user" and m.client_message_id and m.turn_id and m.created_at >= since
    }


def stored_result(history: list[Message], turn_id: str) -> dict[str, Any] | None:
    """The ``complete`` data of a turn, from the messages it committed; None if it committed none.

    A turn whose last message is a reply without tool calls ended (``end_turn``); one that
    stopped before that (its process was lost, it was cancelled between steps) is ``interrupted``.
    Token counts and timings are not stored per turn: they are left out (``usage`` zero).
    """
    said = [m for m in history if m.turn_id == turn_id]
    if not said:
        return None
    replies = [m for m in said if m.role == "assistant"]
    results = {m.tool_call_id: m for m in said if m.role == "tool"}
    actions = []
    for reply in replies:
        for call in reply.tool_calls:
            answer = results.get(call.id)
            actions.append(
                {
                    "id": call.id,
                    "action": call.name,
                    "status": "error" if answer is None or answer.is_error else "completed",
                    "arguments": call.arguments,
                    "result": answer.text() if answer is not None else "",
                }
            )
    ended = said[-1].role == "assistant" and not said[-1].tool_calls
    stop_reason = "end_turn" if ended else "interrupted"
    return {
        "response": "".join(m.text() for m in replies),
        "action_results": actions,
        "usage": {"input": 0, "output": 0},
        "model": None,
        "iterations": len(replies),
        "stop_reason": stop_reason,
        "cancelled": not ended,
        "restored": True,
    }
