"""Output caps: every tool output fits ``output_cap_bytes`` of UTF-8, and says when it was cut.

Two strategies. Text a tool builds itself (file lines, matches, listings) is cut at
the head: it keeps the first part and its note says how to ask for the rest. A
process's output is kept head and tail while it is read (``HeadTailBuffer``), so
the start and the end (where errors and summaries usually are) survive and the
middle is counted, not stored: memory stays bounded however much a command prints.
"""

from __future__ import annotations

# Room left under the cap for the notes tools append (truncation, exit code, timeout).
NOTE_RESERVE = 512


def cut_head(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes from the start of ``data``, never ending inside a UTF-8 character."""
    return data if len(data) <= limit else complete_end(data[: max(0, limit)])


def cut_tail(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes from the end of ``data``, never starting inside a UTF-8 character."""
    return data if len(data) <= limit else complete_start(data[len(data) - max(0, limit) :])


def complete_end(data: bytes) -> bytes:
    """``data`` without a UTF-8 character cut off at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: the character starts further back
            continue
        if byte < 0x80:
            return data
        need = 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
        return data if back >= need else data[:-back]
    return data


def complete_start(data: bytes) -> bytes:
    """``data`` without the continuation bytes of a character cut off at its start."""
    start = 0
    while start < min(3, len(data)) and data[start] & 0xC0 == 0x80:
        start += 1
    return data[start:]


def cap_text(text: str, cap: int) -> tuple[str, bool]:
    """``text`` cut to at most ``cap`` UTF-8 bytes including a note saying so; and whether it was cut."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= cap:
        return text, False
    note = f"\n[output truncated: {len(data)} bytes cut to the first {cap}]"
    kept = cut_head(data, max(0, cap - len(note.encode("utf-8"))))
    return kept.decode("utf-8", errors="replace") + note, True


class TextBudget:
    """Collects lines of text up to a byte budget; ``add`` says False once a line would not fit."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.lines: list[str] = []
        self.full = False

    def add(self, line: str) -> bool:
        size = len(line.encode("utf-8", errors="replace")) + 1
        if self.full or self.used + size > self.budget:
            self.full = True
            return False
        self.lines.append(line)
        self.used += size
        return True

    def text(self) -> str:
        return "\n".join(self.lines)


class HeadTailBuffer:
    """Keeps the first ``limit/2`` and last ``limit/2`` bytes of a stream; the middle is only counted."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            excess = len(self.tail) - self.tail_limit
            if excess > 0:
                del self.tail[:excess]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        """The output decoded (invalid UTF-8 replaced), with a note where the middle was left out."""
        if not self.dropped:
            return bytes(self.head + self.tail).decode("utf-8", errors="replace")
        head = complete_end(bytes(self.head))
        tail = complete_start(bytes(self.tail))
        omitted = self.total - len(head) - len(tail)
        return (
            head.decode("utf-8", errors="replace")
            + f"\n[... {omitted} bytes of output left out: {self.total} bytes in all, the start and end shown ...]\n"
            + tail.decode("utf-8", errors="replace")
        )
