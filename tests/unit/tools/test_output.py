"""Output caps: UTF-8-safe cuts, the head-and-tail buffer of process output."""

from __future__ import annotations

import pytest

from penguin_actors.tools.output import HeadTailBuffer, cap_text, cut_head, cut_tail

TEXT = "aé€😀" * 50


@pytest.mark.parametrize("limit", range(0, 30))
def test_cuts_never_split_a_character(limit: int) -> None:
    """Cutting UTF-8 at any byte count keeps whole characters and stays within the limit."""
    data = TEXT.encode()
    for cut in (cut_head(data, limit), cut_tail(data, limit)):
        assert len(cut) <= limit
        cut.decode("utf-8")  # raises if a character was split


def test_cap_text_leaves_short_text_alone() -> None:
    """Text under the cap comes back unchanged and not truncated."""
    assert cap_text("short", 1024) == ("short", False)


def test_head_tail_buffer_keeps_both_ends_in_bounded_memory() -> None:
    """A long stream keeps its first and last bytes; the middle is counted, not stored."""
    buffer = HeadTailBuffer(1000)
    buffer.feed(b"START")
    for _ in range(10_000):
        buffer.feed("€".encode() * 100)
        assert len(buffer.head) + len(buffer.tail) <= 1000
    buffer.feed(b"END")
    text = buffer.text()
    assert text.startswith("START€") and text.endswith("€END")
    assert buffer.dropped > 0 and f"{buffer.total} bytes in all" in text and "\ufffd" not in text


def test_head_tail_buffer_small_output_is_whole() -> None:
    """Output under the limit comes back whole, in order, with no note."""
    buffer = HeadTailBuffer(100)
    for chunk in (b"one ", b"two ", "thré".encode()):
        buffer.feed(chunk)
    assert buffer.text() == "one two thré" and buffer.dropped == 0
