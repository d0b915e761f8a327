"""Prompt fitting: the oldest dialog goes first, whole exchanges, context and system stay."""

from __future__ import annotations

from penguin_actors.models.prompt import estimate_tokens, fit_to_window
from penguin_actors.types import Message, ToolCall


def user(text: str, **kw: object) -> Message:
    return Message(role="user", content=text, **kw)  # type: ignore[arg-type]


def assistant(text: str, **kw: object) -> Message:
    return Message(role="assistant", content=text, **kw)  # type: ignore[arg-type]


def test_a_prompt_that_fits_is_sent_whole() -> None:
    """Nothing is dropped when the history fits."""
    history = [user("hi"), assistant("hello")]
    assert fit_to_window(history, system="sys", context_window=1000, reserve=100) == history


def test_oldest_exchanges_go_first_and_the_latest_stays() -> None:
    """Over the window, whole exchanges are dropped oldest first until it fits."""
    history = [user("a" * 400), assistant("b" * 400), user("c" * 400), assistant("d" * 400), user("latest")]
    fitted = fit_to_window(history, system=None, context_window=260, reserve=0)
    assert fitted == history[2:]
    assert sum(estimate_tokens(m) for m in fitted) <= 260


def test_context_and_system_messages_are_kept() -> None:
    """Pinned context and system messages stay even when older dialog goes."""
    context = user("context file " + "x" * 200, pinned=True)
    history = [Message(role="system", content="rules"), context, user("a" * 800), assistant("b" * 800), user("now")]
    fitted = fit_to_window(history, system=None, context_window=150, reserve=0)
    assert fitted[:2] == history[:2]
    assert fitted[-1].text() == "now"
    assert all("a" * 10 not in m.text() for m in fitted)


def test_tool_results_never_lose_their_call() -> None:
    """A tool call and its result are dropped together: the prompt never starts with an orphaned result."""
    call = ToolCall(id="t1", name="read_file", arguments={"path": "x"})
    history = [
        user("read x"),
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="tool", content="y" * 2000, tool_call_id="t1"),
        assistant("done"),
        user("next"),
    ]
    fitted = fit_to_window(history, system=None, context_window=100, reserve=0)
    assert fitted == [history[-1]]
    assert not any(m.role == "tool" for m in fitted)


def test_the_latest_exchange_stays_even_if_too_long() -> None:
    """If the newest message alone is over the window it is still sent: the provider gives the error."""
    history = [user("old"), user("z" * 10_000)]
    assert fit_to_window(history, system=None, context_window=100, reserve=0) == [history[-1]]
