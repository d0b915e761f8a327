"""CommitJournal: appends made durable in a local file, applied to the backend later in batches.

A group commit of messages is acknowledged once its entry is written here (one
``write`` of a few KB), not once LanceDB has written a new version of three
tables; the store applies the entries it holds to the backend in the background,
a batch of many commits at a time, and then drops them. A store that stopped
before applying them replays them when it opens (``recover``).

The files are ``commits.<generation>.log`` in one directory. A record is a 4-byte
big-endian length, the payload's 4-byte CRC-32 and the payload (msgpack). A record
cut short or corrupted (a crash during its write, whose commit was therefore never
acknowledged) ends the reading of its file. Written with ``write`` and no
``fsync``: an entry survives the store's process dying, as LanceDB's own local
writes do, but not the machine losing power before the OS writes it out.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import IO, Any

import msgpack

from penguin_actors.store.records import CheckpointRecord, ConversationRecord
from penguin_actors.store.rows import MessageRow

log = logging.getLogger(__name__)

HEADER = struct.Struct(">II")  # payload length, CRC-32 of the payload
FILE_PATTERN = re.compile(r"commits\.(\d+)\.log")


@dataclass
class JournalEntry:
    """What one commit adds: message rows, the conversation records they advance, automatic checkpoints."""

    messages: list[MessageRow] = field(default_factory=list)
    conversations: list[ConversationRecord] = field(default_factory=list)
    checkpoints: list[CheckpointRecord] = field(default_factory=list)

    def encode(self) -> bytes:
        payload: bytes = msgpack.packb(
            {
                "messages": [astuple(r) for r in self.messages],  # MessageRow(*row) reads them back
                "conversations": [c.model_dump(mode="json") for c in self.conversations],
                "checkpoints": [c.model_dump(mode="json") for c in self.checkpoints],
            },
            use_bin_type=True,
        )
        return payload

    @classmethod
    def decode(cls, payload: bytes) -> JournalEntry:
        data: dict[str, Any] = msgpack.unpackb(payload, raw=False)
        return cls(
            messages=[MessageRow(*row) for row in data["messages"]],
            conversations=[ConversationRecord.model_validate(c) for c in data["conversations"]],
            checkpoints=[CheckpointRecord.model_validate(c) for c in data["checkpoints"]],
        )


def merge(entries: Iterable[JournalEntry]) -> JournalEntry:
    """One entry doing what ``entries`` do in order: every row and checkpoint, each conversation's last record."""
    merged = JournalEntry()
    latest: dict[str, ConversationRecord] = {}
    for entry in entries:
        merged.messages += entry.messages
        merged.checkpoints += entry.checkpoints
        for record in entry.conversations:
            latest[record.id] = record
    merged.conversations = list(latest.values())
    return merged


class CommitJournal:
    """The journal files in ``directory``: ``append`` to the current one, ``seal`` it, ``drop`` what is applied."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._generation = 0
        self._file: IO[bytes] | None = None

    def recover(self) -> list[JournalEntry]:
        """The entries a previous run left, oldest first; appends go to a newer file from now on."""
        self.directory.mkdir(parents=True, exist_ok=True)
        entries: list[JournalEntry] = []
        for generation, path in self._files():
            entries += self._read(path)
            self._generation = max(self._generation, generation + 1)
        return entries

    def append(self, entry: JournalEntry) -> None:
        """Write ``entry``; when this returns, it survives the process (OSError if it could not be written)."""
        payload = entry.encode()
        if self._file is None:
            self._file = open(self._path(self._generation), "ab", buffering=0)  # noqa: SIM115 (kept open)
        record = memoryview(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        while record:  # an unbuffered write may take part of it
            written = self._file.write(record)
            if not written:
                raise OSError(f"writing the commit journal {self._path(self._generation)} made no progress")
            record = record[written:]

    def seal(self) -> int:
        """Close the current file (later appends start a new one); its generation, for ``drop``."""
        self.close()
        sealed = self._generation
        self._generation += 1
        return sealed

    def drop(self, through: int) -> None:
        """Delete the files of generation ``through`` and older: their entries are in the backend."""
        for generation, path in self._files():
            if generation <= through:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _path(self, generation: int) -> Path:
        return self.directory / f"commits.{generation}.log"

    def _files(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            match = FILE_PATTERN.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def _read(self, path: Path) -> list[JournalEntry]:
        data = path.read_bytes()
        entries = []
        for payload in _records(data):
            try:
                entries.append(JournalEntry.decode(payload))
            except Exception as exc:  # a checksummed record that does not decode: stop, as for a torn one
                log.error("journal %s: a record could not be read (%r); the rest of the file is skipped", path, exc)
                break
        return entries


def _records(data: bytes) -> Iterator[bytes]:
    """The payloads of ``data``'s intact records, up to the first torn or corrupted one."""
    offset = 0
    while offset + HEADER.size <= len(data):
        length, checksum = HEADER.unpack_from(data, offset)
        start, end = offset + HEADER.size, offset + HEADER.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != checksum:
            log.warning("a journal record at byte %d is torn or corrupted: it and what follows are skipped", offset)
            return
        yield data[start:end]
        offset = end
    if offset != len(data):
        log.warning("a journal ends with %d bytes of a torn record: skipped", len(data) - offset)
