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
- ``lineages``, ``checkpoints`` and ``notes``: rows added and deleted, never changed.
- ``documents``: small JSON records by ``(kind, id)``, versioned like conversations.
- ``embeddings``: vectors of notes and messages (``lance_vectors.py``), created by
  ``open_embeddings`` once an embedding provider is configured; deleting messages
  deletes their embeddings, whether or not a provider is configured now.

Message and note texts have a full-text index (LanceDB's own, BM25); rows added
since the last ``optimize`` are searched too, just unindexed.

Versions come from the wall clock in nanoseconds, kept above every version
already stored (read at open), so they keep growing even if the clock steps back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import lancedb
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.index import FTS, BTree

from penguin_actors.store.lance import vectors as lance_vectors
from penguin_actors.store.lance.rows import conversation_columns, conversation_of, newest_versions
from penguin_actors.store.lance.schema import (
    CHECKPOINTS,
    CONVERSATIONS,
    DOCUMENTS,
    EMBEDDINGS,
    IN_CHUNK,
    LINEAGES,
    MESSAGES,
    NOTES,
    SCHEMAS,
    columns,
    in_predicates,
    lit,
)
from penguin_actors.store.records import CheckpointRecord, ConversationRecord, LineageRecord, NoteRecord
from penguin_actors.store.rows import Embedding, MemoryItem, MessageRange, MessageRow, TextHit, TextQuery

log = logging.getLogger(__name__)


_OPTIMIZE_ATTEMPTS = 4


def _wall_ns() -> int:
    return time.time_ns()


class LanceBackend:
    """``StoreBackend`` on an embedded LanceDB at ``uri`` (a local path or an object-store URI).

    ``keep_versions`` is how long ``optimize`` keeps old table versions (LanceDB's
    ``cleanup_older_than``): long enough for a read that started before it to finish.
    """

    def __init__(
        self,
        uri: str,
        *,
        keep_versions: timedelta = timedelta(minutes=1),
        index_cache_mb: int = 64,
        metadata_cache_mb: int = 64,
    ) -> None:
        self.uri = uri
        self._keep_versions = keep_versions
        # Bounded caches: LanceDB's defaults let the metadata of every table version written stay
        # cached, about 1 MB per conversation of a few turns, so the store's memory never levels off.
        self._session = lancedb.Session(
            index_cache_size_bytes=index_cache_mb << 20, metadata_cache_size_bytes=metadata_cache_mb << 20
        )
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._last_version = 0
        self._embedding_model: str | None = None

    # --- lifecycle ------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        db = await lancedb.connect_async(self.uri, session=self._session)
        for name, schema in SCHEMAS.items():
            try:
                self._tables[name] = await db.open_table(name)
            except ValueError:  # not found: a new store
                self._tables[name] = await db.create_table(name, schema=schema, exist_ok=True)
            await self._add_missing_columns(name, schema)
        with contextlib.suppress(ValueError):  # not found: no embedding provider was ever configured
            self._tables[EMBEDDINGS] = await db.open_table(EMBEDDINGS)
        await self._ensure_index(MESSAGES, "lineage_id", BTree())
        await self._ensure_index(MESSAGES, "text", FTS())
        await self._ensure_index(NOTES, "text", FTS())
        for name in (MESSAGES, CONVERSATIONS, DOCUMENTS):  # one int column: ~40 ms per 100k rows
            versions = (await self._tables[name].query().select(["version"]).to_arrow()).column("version")
            if len(versions):
                self._last_version = max(self._last_version, pc.max(versions).as_py())
        self._db = db

    async def _add_missing_columns(self, name: str, schema: pa.Schema) -> None:
        """Columns added to a table's schema since it was made: added to it now, null in its old rows."""
        table = self._tables[name]
        present = set((await table.schema()).names)
        missing = [field for field in schema if field.name not in present]
        if missing:
            await table.add_columns(missing)
            log.info("table %s: added the columns %s", name, ", ".join(f.name for f in missing))

    async def _ensure_index(self, name: str, column: str, config: Any) -> None:
        table = self._tables[name]
        if not any(list(index.columns) == [column] for index in await table.list_indices()):
            await table.create_index(column, config=config)

    async def close(self) -> None:
        for table in self._tables.values():
            table.close()
        self._tables.clear()
        self._embedding_model = None
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
        for predicate in in_predicates(column, values):
            result = await self._table(name).delete(predicate)
            deleted += int(result.num_deleted_rows)
        return deleted

    # --- conversations ----------------------------------------------------------

    async def load_conversations(self) -> list[ConversationRecord]:
        return [conversation_of(row) for row in self._newest(await self._scan(CONVERSATIONS), ["id"]).values()]

    def _newest(self, rows: list[dict[str, Any]], key: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The newest version of each ``key`` among ``rows`` (and every version seen kept below new ones)."""
        if rows:
            self._last_version = max(self._last_version, max(row["version"] for row in rows))
        return newest_versions(rows, key)

    async def upsert_conversations(self, records: Sequence[ConversationRecord]) -> None:
        if not records:
            return
        for record in records:
            lit(record.id)
        await self._add(CONVERSATIONS, conversation_columns(records, self._versions(len(records))))

    async def delete_conversation(self, conversation_id: str) -> None:
        await self._table(CONVERSATIONS).delete(f"id = {lit(conversation_id)}")

    # --- lineages ----------------------------------------------------------------

    async def load_lineages(self) -> list[LineageRecord]:
        return [LineageRecord.model_validate(row) for row in await self._scan(LINEAGES)]

    async def add_lineages(self, records: Sequence[LineageRecord]) -> None:
        if records:
            await self._add(LINEAGES, columns([r.model_dump() for r in records], SCHEMAS[LINEAGES]))

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
            clause = f"lineage_id = {lit(lineage_id)} AND seq >= {int(start)}"
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
        deleted = await self._delete_in(MESSAGES, "lineage_id", lineage_ids)
        if EMBEDDINGS in self._tables:
            await self._delete_in(EMBEDDINGS, "lineage_id", lineage_ids)
        return deleted

    # --- checkpoints ------------------------------------------------------------------

    async def load_checkpoints(self) -> list[CheckpointRecord]:
        return [
            CheckpointRecord.model_validate(row | {"message_count": row["seq"]})
            for row in await self._scan(CHECKPOINTS)
        ]

    async def add_checkpoints(self, records: Sequence[CheckpointRecord]) -> None:
        if records:
            dumped = [r.model_dump(exclude={"message_count"}) for r in records]
            await self._add(CHECKPOINTS, columns(dumped, SCHEMAS[CHECKPOINTS]))

    async def delete_checkpoints(self, checkpoint_ids: Sequence[str]) -> int:
        return await self._delete_in(CHECKPOINTS, "id", checkpoint_ids)

    # --- notes and full-text search ----------------------------------------------------

    async def add_notes(self, records: Sequence[NoteRecord]) -> None:
        if records:
            await self._add(NOTES, columns([r.model_dump() for r in records], SCHEMAS[NOTES]))

    async def search_text(self, query: TextQuery) -> list[TextHit]:
        """Notes first, then messages, each best first (BM25 scores of different tables do not compare)."""
        scope = []
        if query.conversation_id is not None:
            scope.append(f"conversation_id = {lit(query.conversation_id)}")
        if query.exclude_conversation is not None:
            scope.append(f"(conversation_id IS NULL OR conversation_id != {lit(query.exclude_conversation)})")
        hits: list[TextHit] = []
        if "note" in query.sources:
            rows = await self._match(NOTES, query.text, scope, query.limit)
            hits += [
                TextHit("note", r["id"], r["conversation_id"], None, r["created_at"], r["text"], r["_score"])
                for r in rows
            ]
        if "message" in query.sources:
            # A message written twice (see the module docstring) matches twice: fetch spares, keep one.
            rows = await self._match(MESSAGES, query.text, [*scope, "role IN ('user', 'assistant')"], query.limit * 2)
            seen: set[str] = set()
            for r in rows:
                ref = f"{r['lineage_id']}:{r['seq']}"
                if ref not in seen and len(seen) < query.limit:
                    seen.add(ref)
                    conversation, role = r["conversation_id"], r["role"]
                    hits.append(TextHit("message", ref, conversation, role, r["created_at"], r["text"], r["_score"]))
        return hits

    async def _match(self, name: str, text: str, where: list[str], limit: int) -> list[dict[str, Any]]:
        query = self._table(name).query().nearest_to_text(text, columns="text")
        if where:
            query = query.where(" AND ".join(where))
        rows: list[dict[str, Any]] = (await query.limit(limit).to_arrow()).to_pylist()
        return rows

    # --- embeddings ---------------------------------------------------------------------------

    async def open_embeddings(self, model: str, dimensions: int) -> None:
        if self._db is None:
            raise RuntimeError(f"the store at {self.uri} is not open: call open() first")
        existing = self._tables.pop(EMBEDDINGS, None)
        self._tables[EMBEDDINGS] = await lance_vectors.prepare(self._db, existing, model, dimensions)
        self._embedding_model = model

    async def add_embeddings(self, embeddings: Sequence[Embedding]) -> None:
        if embeddings:
            await lance_vectors.add(self._embeddings(), self._embedding_model or "", embeddings)

    async def embedding_backlog(self, limit: int) -> tuple[list[MemoryItem], list[str]]:
        return await lance_vectors.backlog(self._embeddings(), self._table(NOTES), self._table(MESSAGES), limit)

    async def memory_texts(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        return await lance_vectors.with_texts(self._table(NOTES), self._table(MESSAGES), items)

    async def delete_embeddings(self, refs: Sequence[str]) -> int:
        return await self._delete_in(EMBEDDINGS, "ref", refs) if EMBEDDINGS in self._tables else 0

    async def search_vectors(self, vector: Sequence[float], query: TextQuery, min_similarity: float) -> list[TextHit]:
        tables = self._embeddings(), self._table(NOTES), self._table(MESSAGES)
        return await lance_vectors.search(*tables, vector, query, min_similarity)

    def _embeddings(self) -> Any:
        if self._embedding_model is None:
            raise RuntimeError("the embeddings table is not open: call open_embeddings() first")
        return self._table(EMBEDDINGS)

    # --- documents --------------------------------------------------------------------------

    async def put_documents(self, kind: str, documents: Sequence[tuple[str, str]]) -> None:
        if not documents:
            return
        lit(kind)
        for doc_id, _ in documents:
            lit(doc_id)
        await self._add(
            DOCUMENTS,
            {
                "kind": [kind] * len(documents),
                "id": [doc_id for doc_id, _ in documents],
                "version": self._versions(len(documents)),
                "data": [data for _, data in documents],
            },
        )

    async def load_documents(self, kind: str) -> list[tuple[str, str]]:
        rows = (await self._table(DOCUMENTS).query().where(f"kind = {lit(kind)}").to_arrow()).to_pylist()
        return [(row["id"], row["data"]) for row in self._newest(rows, ["id"]).values()]

    async def delete_documents(self, kind: str, ids: Sequence[str]) -> int:
        deleted = 0
        for predicate in in_predicates("id", ids):
            result = await self._table(DOCUMENTS).delete(f"kind = {lit(kind)} AND {predicate}")
            deleted += int(result.num_deleted_rows)
        return deleted

    # --- maintenance ----------------------------------------------------------------------

    async def optimize(self) -> None:
        """Drop superseded conversation versions, then compact each table and fold new rows into its indexes.

        A compaction that loses a commit race with a concurrent delete is retried a
        few times; appends never conflict with it.
        """
        await self._prune(CONVERSATIONS, ["id"])
        await self._prune(DOCUMENTS, ["kind", "id"])
        for name in list(self._tables):
            for attempt in range(1, _OPTIMIZE_ATTEMPTS + 1):
                try:
                    await self._table(name).optimize(cleanup_older_than=self._keep_versions)
                    break
                except RuntimeError as exc:
                    if "conflict" not in str(exc).lower() or attempt == _OPTIMIZE_ATTEMPTS:
                        raise
                    log.debug("optimize of %s lost a commit race (attempt %d): %s", name, attempt, exc)
                    await asyncio.sleep(0.05 * attempt)

    async def _prune(self, name: str, key: list[str]) -> None:
        """Delete the rows of ``name`` that a newer version of the same ``key`` supersedes."""
        rows = await self._scan(name, [*key, "version"])
        newest = newest_versions(rows, key)
        stale = [str(row["version"]) for row in rows if row["version"] < newest[tuple(row[k] for k in key)]["version"]]
        for i in range(0, len(stale), IN_CHUNK):
            await self._table(name).delete(f"version IN ({', '.join(stale[i : i + IN_CHUNK])})")
