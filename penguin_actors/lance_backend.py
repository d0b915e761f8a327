"""The LanceDB backend of the checkpoint store: the only module that imports lancedb.

Tables (created when missing):

- ``messages``: one row per message, ``(lineage_id, seq)`` → msgpack bytes, plus
  ``version``, a number that grows with every write. Rows are never updated; if a
  write was lost half way (messages stored, the conversation's count not), the
  same ``(lineage_id, seq)`` may be written again later and the highest
  ``version`` wins on read. A BTREE index on ``lineage_id`` serves the reads.
- ``conversations``: append-only too. An upsert appends a new version of the row
  and a read keeps the newest per id, so the hot path never rewrites rows;
  ``optimize`` deletes the superseded versions.
- ``lineages`` and ``checkpoints``: rows added and deleted, never changed.

Versions come from the wall clock in nanoseconds, kept above every version
already stored (read at open), so they keep growing even if the clock steps back.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import lancedb
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.index import BTree

from penguin_actors.records import BranchOrigin, CheckpointRecord, ConversationRecord, LineageRecord
from penguin_actors.storage import MessageRange, MessageRow

log = logging.getLogger(__name__)


MESSAGES = "messages"
CONVERSATIONS = "conversations"
LINEAGES = "lineages"
CHECKPOINTS = "checkpoints"

SCHEMAS: dict[str, pa.Schema] = {
    MESSAGES: pa.schema(
        [
            ("lineage_id", pa.string()),
            ("seq", pa.int64()),
            ("version", pa.int64()),
            ("conversation_id", pa.string()),
            ("role", pa.string()),
            ("created_at", pa.float64()),
            ("data", pa.large_binary()),
            ("text", pa.large_string()),
        ]
    ),
    CONVERSATIONS: pa.schema(
        [
            ("id", pa.string()),
            ("version", pa.int64()),
            ("title", pa.string()),
            ("created_at", pa.float64()),
            ("last_active", pa.float64()),
            ("message_count", pa.int64()),
            ("lineage_id", pa.string()),
            ("model_id", pa.string()),
            ("branch_conversation_id", pa.string()),
            ("branch_checkpoint_id", pa.string()),
        ]
    ),
    LINEAGES: pa.schema(
        [
            ("id", pa.string()),
            ("conversation_id", pa.string()),
            ("parent_lineage", pa.string()),
            ("fork_seq", pa.int64()),
            ("created_at", pa.float64()),
        ]
    ),
    CHECKPOINTS: pa.schema(
        [
            ("id", pa.string()),
            ("conversation_id", pa.string()),
            ("lineage_id", pa.string()),
            ("seq", pa.int64()),
            ("kind", pa.string()),
            ("name", pa.string()),
            ("description", pa.string()),
            ("created_at", pa.float64()),
        ]
    ),
}

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_IN_CHUNK = 500  # ids per IN (...) predicate
_OPTIMIZE_ATTEMPTS = 4


def _wall_ns() -> int:
    return time.time_ns()


def _lit(value: str) -> str:
    """``value`` as a SQL string literal; only id-shaped strings are accepted, so nothing needs escaping."""
    if not _ID.match(value):
        raise ValueError(f"not a valid id: {value!r}")
    return f"'{value}'"


def _in(column: str, values: Iterable[str]) -> list[str]:
    """``column IN (...)`` predicates, one per chunk of values."""
    unique = sorted(set(values))
    return [
        f"{column} IN ({', '.join(_lit(v) for v in unique[i : i + _IN_CHUNK])})"
        for i in range(0, len(unique), _IN_CHUNK)
    ]


class LanceBackend:
    """``StoreBackend`` on an embedded LanceDB at ``uri`` (a local path or an object-store URI).

    ``keep_versions`` is how long ``optimize`` keeps old table versions (LanceDB's
    ``cleanup_older_than``): long enough for a read that started before it to finish.
    """

    def __init__(self, uri: str, *, keep_versions: timedelta = timedelta(minutes=1)) -> None:
        self.uri = uri
        self._keep_versions = keep_versions
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._last_version = 0

    # --- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        db = await lancedb.connect_async(self.uri)
        for name, schema in SCHEMAS.items():
            self._tables[name] = await db.create_table(name, schema=schema, exist_ok=True)
        messages = self._tables[MESSAGES]
        if not any(list(index.columns) == ["lineage_id"] for index in await messages.list_indices()):
            await messages.create_index("lineage_id", config=BTree())
        for name in (MESSAGES, CONVERSATIONS):  # one int column: ~40 ms per 100k rows
            versions = (await self._tables[name].query().select(["version"]).to_arrow()).column("version")
            if len(versions):
                self._last_version = max(self._last_version, pc.max(versions).as_py())
        self._db = db

    async def close(self) -> None:
        for table in self._tables.values():
            table.close()
        self._tables.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _table(self, name: str) -> Any:
        try:
            return self._tables[name]
        except KeyError:
            raise RuntimeError(f"the store at {self.uri} is not open: call open() first") from None

    def _versions(self, count: int) -> list[int]:
        """``count`` new versions, each above every version written or loaded so far."""
        base = max(self._last_version + 1, _wall_ns())
        self._last_version = base + count - 1
        return list(range(base, base + count))

    async def _scan(self, name: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
        query = self._table(name).query()
        if columns is not None:
            query = query.select(columns)
        rows: list[dict[str, Any]] = (await query.to_arrow()).to_pylist()
        return rows

    async def _add(self, name: str, columns: dict[str, list[Any]]) -> None:
        await self._table(name).add(pa.table(columns, schema=SCHEMAS[name]))

    async def _delete_in(self, name: str, column: str, values: Iterable[str]) -> int:
        deleted = 0
        for predicate in _in(column, values):
            result = await self._table(name).delete(predicate)
            deleted += int(result.num_deleted_rows)
        return deleted

    # --- conversations ----------------------------------------------------------

    async def load_conversations(self) -> list[ConversationRecord]:
        newest: dict[str, dict[str, Any]] = {}
        for row in await self._scan(CONVERSATIONS):
            self._last_version = max(self._last_version, row["version"])
            held = newest.get(row["id"])
            if held is None or row["version"] > held["version"]:
                newest[row["id"]] = row
        return [_conversation(row) for row in newest.values()]

    async def upsert_conversations(self, records: Sequence[ConversationRecord]) -> None:
        if not records:
            return
        for record in records:
            _lit(record.id)
        await self._add(
            CONVERSATIONS,
            {
                "id": [r.id for r in records],
                "version": self._versions(len(records)),
                "title": [r.title for r in records],
                "created_at": [r.created_at for r in records],
                "last_active": [r.last_active for r in records],
                "message_count": [r.message_count for r in records],
                "lineage_id": [r.lineage_id for r in records],
                "model_id": [r.model_id for r in records],
                "branch_conversation_id": [r.branch_of.conversation_id if r.branch_of else None for r in records],
                "branch_checkpoint_id": [r.branch_of.checkpoint_id if r.branch_of else None for r in records],
            },
        )

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._table(CONVERSATIONS).delete(f"id = {_lit(conversation_id)}")

    # --- lineages ----------------------------------------------------------------

    async def load_lineages(self) -> list[LineageRecord]:
        return [LineageRecord.model_validate(row) for row in await self._scan(LINEAGES)]

    async def add_lineages(self, records: Sequence[LineageRecord]) -> None:
        if records:
            await self._add(LINEAGES, _columns([r.model_dump() for r in records], SCHEMAS[LINEAGES]))

    async def delete_lineages(self, lineage_ids: Sequence[str]) -> int:
        return await self._delete_in(LINEAGES, "id", lineage_ids)

    # --- messages ------------------------------------------------------------------

    async def append_messages(self, rows: Sequence[MessageRow]) -> None:
        if not rows:
            return
        await self._add(
            MESSAGES,
            {
                "lineage_id": [r.lineage_id for r in rows],
                "seq": [r.seq for r in rows],
                "version": self._versions(len(rows)),
                "conversation_id": [r.conversation_id for r in rows],
                "role": [r.role for r in rows],
                "created_at": [r.created_at for r in rows],
                "data": [r.data for r in rows],
                "text": [r.text for r in rows],
            },
        )

    async def read_messages(self, ranges: Sequence[MessageRange]) -> list[tuple[str, int, bytes]]:
        wanted = [r for r in ranges if r[2] is None or r[2] > r[1]]
        if not wanted:
            return []
        clauses = []
        for lineage_id, start, end in wanted:
            clause = f"lineage_id = {_lit(lineage_id)} AND seq >= {int(start)}"
            clauses.append(f"({clause})" if end is None else f"({clause} AND seq < {int(end)})")
        query = self._table(MESSAGES).query().where(" OR ".join(clauses))
        table = await query.select(["lineage_id", "seq", "version", "data"]).to_arrow()
        # The newest version of each (lineage, seq) wins; see the module docstring.
        best: dict[str, dict[int, tuple[int, int]]] = {}
        lineages = table.column("lineage_id").to_pylist()
        seqs = table.column("seq").to_pylist()
        versions = table.column("version").to_pylist()
        for i, (lineage_id, seq, version) in enumerate(zip(lineages, seqs, versions, strict=True)):
            held = best.setdefault(lineage_id, {}).get(seq)
            if held is None or version > held[0]:
                best[lineage_id][seq] = (version, i)
        data = table.column("data")
        out: list[tuple[str, int, bytes]] = []
        for lineage_id, start, end in wanted:
            rows = best.get(lineage_id, {})
            for seq in sorted(s for s in rows if s >= start and (end is None or s < end)):
                out.append((lineage_id, seq, data[rows[seq][1]].as_py()))
        return out

    async def delete_messages(self, lineage_ids: Sequence[str]) -> int:
        return await self._delete_in(MESSAGES, "lineage_id", lineage_ids)

    # --- checkpoints ------------------------------------------------------------------

    async def load_checkpoints(self) -> list[CheckpointRecord]:
        return [
            CheckpointRecord.model_validate(row | {"message_count": row["seq"]})
            for row in await self._scan(CHECKPOINTS)
        ]

    async def add_checkpoints(self, records: Sequence[CheckpointRecord]) -> None:
        if records:
            dumped = [r.model_dump(exclude={"message_count"}) for r in records]
            await self._add(CHECKPOINTS, _columns(dumped, SCHEMAS[CHECKPOINTS]))

    async def delete_checkpoints(self, checkpoint_ids: Sequence[str]) -> int:
        return await self._delete_in(CHECKPOINTS, "id", checkpoint_ids)

    # --- maintenance ----------------------------------------------------------------------

    async def optimize(self) -> None:
        """Drop superseded conversation versions, then compact each table and fold new rows into its indexes.

        A compaction that loses a commit race with a concurrent delete is retried a
        few times; appends never conflict with it.
        """
        await self._prune_conversations()
        for name in SCHEMAS:
            for attempt in range(1, _OPTIMIZE_ATTEMPTS + 1):
                try:
                    await self._table(name).optimize(cleanup_older_than=self._keep_versions)
                    break
                except RuntimeError as exc:
                    if "conflict" not in str(exc).lower() or attempt == _OPTIMIZE_ATTEMPTS:
                        raise
                    log.debug("optimize of %s lost a commit race (attempt %d): %s", name, attempt, exc)
                    await asyncio.sleep(0.05 * attempt)

    async def _prune_conversations(self) -> None:
        newest: dict[str, int] = {}
        rows = await self._scan(CONVERSATIONS, ["id", "version"])
        for row in rows:
            newest[row["id"]] = max(newest.get(row["id"], row["version"]), row["version"])
        stale = [str(row["version"]) for row in rows if row["version"] < newest[row["id"]]]
        for i in range(0, len(stale), _IN_CHUNK):
            await self._table(CONVERSATIONS).delete(f"version IN ({', '.join(stale[i : i + _IN_CHUNK])})")


def _columns(rows: list[dict[str, Any]], schema: pa.Schema) -> dict[str, list[Any]]:
    return {name: [row.get(name) for row in rows] for name in schema.names}


def _conversation(row: dict[str, Any]) -> ConversationRecord:
    branch_of = None
    if row["branch_conversation_id"] is not None and row["branch_checkpoint_id"] is not None:
        branch_of = BranchOrigin(
            conversation_id=row["branch_conversation_id"], checkpoint_id=row["branch_checkpoint_id"]
        )
    return ConversationRecord(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        last_active=row["last_active"],
        message_count=row["message_count"],
        lineage_id=row["lineage_id"],
        model_id=row["model_id"],
        branch_of=branch_of,
    )
