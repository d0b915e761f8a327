"""The ``embeddings`` table of the LanceDB backend: vectors of notes and messages, their backlog, vector search.

``LanceBackend`` owns the connection and the tables and calls these functions with
them; nothing here imports lancedb. A row holds a note's or message's ``ref`` and
what a search filters on (source, conversation, role), never its text again: a
hit's text is read from ``notes`` or ``messages``, so an embedding whose source is
gone is never shown, only pruned (``backlog`` finds such rows).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from penguin_actors.store.lance.schema import EMBEDDINGS, embedding_schema, in_predicates, lit, quoted
from penguin_actors.store.rows import Embedding, MemoryItem, TextHit, TextQuery

log = logging.getLogger(__name__)

SEARCHED_ROLES = "role IN ('user', 'assistant')"
_CLAUSES_PER_QUERY = 100  # lineages per query when reading messages' texts


async def prepare(db: Any, existing: Any | None, model: str, dimensions: int) -> Any:
    """The embeddings table for ``model``'s vectors of ``dimensions``: ``existing`` if it holds only those,
    else a new empty one (embeddings are derived data: the indexer computes them again)."""
    if existing is not None:
        size = (await existing.schema()).field("vector").type.list_size
        if size == dimensions and await existing.count_rows(f"model != {quoted(model)}") == 0:
            return existing
        log.warning(
            "the stored embeddings are of another model or size (%d dimensions); they are dropped and made again "
            "with %s (%d dimensions)",
            size,
            model,
            dimensions,
        )
        existing.close()
        await db.drop_table(EMBEDDINGS)
    return await db.create_table(EMBEDDINGS, schema=embedding_schema(dimensions), exist_ok=True)


async def add(table: Any, model: str, embeddings: Sequence[Embedding]) -> None:
    items = [e.item for e in embeddings]
    columns = {
        "source": [i.source for i in items],
        "ref": [i.ref for i in items],
        "lineage_id": [i.lineage_id for i in items],
        "conversation_id": [i.conversation_id for i in items],
        "role": [i.role for i in items],
        "created_at": [i.created_at for i in items],
        "model": [model] * len(items),
        "vector": [list(e.vector) for e in embeddings],
    }
    await table.add(pa.table(columns, schema=await table.schema()))


async def backlog(embeddings: Any, notes: Any, messages: Any, limit: int) -> tuple[list[MemoryItem], list[str]]:
    """Up to ``limit`` unembedded notes and messages (oldest first, their texts not read: ``with_texts`` reads
    them) and the refs of orphaned embeddings.

    The embeddings are read before their sources: an embedding is written only after
    its source, so one read here has its source in the second read unless it was deleted.
    """
    embedded = set((await embeddings.query().select(["ref"]).to_arrow()).column("ref").to_pylist())
    stored: dict[str, MemoryItem] = {}
    for row in (await notes.query().select(["id", "conversation_id", "created_at"]).to_arrow()).to_pylist():
        stored[row["id"]] = MemoryItem("note", row["id"], row["conversation_id"], None, row["created_at"], "")
    query = messages.query().where(f"{SEARCHED_ROLES} AND text != ''")
    columns = ["lineage_id", "seq", "conversation_id", "role", "created_at"]
    for row in (await query.select(columns).to_arrow()).to_pylist():
        ref = f"{row['lineage_id']}:{row['seq']}"
        stored[ref] = MemoryItem(
            "message", ref, row["conversation_id"], row["role"], row["created_at"], "", row["lineage_id"]
        )
    orphans = sorted(embedded - stored.keys())
    missing = sorted((i for ref, i in stored.items() if ref not in embedded), key=lambda i: (i.created_at, i.ref))
    return missing[:limit], orphans


async def delete(table: Any, column: str, values: Sequence[str]) -> int:
    deleted = 0
    for predicate in in_predicates(column, values):
        deleted += int((await table.delete(predicate)).num_deleted_rows)
    return deleted


async def search(
    embeddings: Any, notes: Any, messages: Any, vector: Sequence[float], query: TextQuery, min_similarity: float
) -> list[TextHit]:
    """Nearest first per source (notes, then messages), as ``StoreBackend.search_vectors`` says."""
    scope = []
    if query.conversation_id is not None:
        scope.append(f"conversation_id = {lit(query.conversation_id)}")
    if query.exclude_conversation is not None:
        scope.append(f"(conversation_id IS NULL OR conversation_id != {lit(query.exclude_conversation)})")
    found: list[tuple[MemoryItem, float]] = []
    for source in ("note", "message"):
        if source not in query.sources:
            continue
        nearest = (
            embeddings.query()
            .nearest_to([float(x) for x in vector])
            .distance_type("cosine")
            .distance_range(upper_bound=1.0 - min_similarity)
            .where(" AND ".join([*scope, f"source = {lit(source)}"]))
            .select(["ref", "lineage_id", "conversation_id", "role", "created_at", "_distance"])
            .limit(query.limit * 2)  # a message written twice may have two embeddings: fetch spares, keep one
        )
        kept: dict[str, tuple[MemoryItem, float]] = {}
        for row in (await nearest.to_arrow()).to_pylist():
            if row["ref"] not in kept and len(kept) < query.limit:
                item = MemoryItem(
                    source, row["ref"], row["conversation_id"], row["role"], row["created_at"], "", row["lineage_id"]
                )
                kept[row["ref"]] = (item, 1.0 - row["_distance"])
        found += kept.values()
    texts = {i.ref: i.text for i in await with_texts(notes, messages, [item for item, _ in found])}
    return [
        TextHit(item.source, item.ref, item.conversation_id, item.role, item.created_at, texts[item.ref], similarity)
        for item, similarity in found
        if item.ref in texts
    ]


async def with_texts(notes: Any, messages: Any, items: Sequence[MemoryItem]) -> list[MemoryItem]:
    """``items`` with their texts, read from their tables, in order; an item whose source is gone is left out."""
    texts: dict[str, str] = {}
    note_ids = [i.ref for i in items if i.source == "note"]
    for predicate in in_predicates("id", note_ids):
        for row in (await notes.query().where(predicate).select(["id", "text"]).to_arrow()).to_pylist():
            texts[row["id"]] = row["text"]
    seqs: dict[str, list[int]] = {}
    for i in items:
        if i.source == "message" and i.lineage_id is not None:
            seqs.setdefault(i.lineage_id, []).append(int(i.ref.rsplit(":", 1)[1]))
    clauses = [f"(lineage_id = {lit(lin)} AND seq IN ({', '.join(map(str, s))}))" for lin, s in seqs.items()]
    newest: dict[str, int] = {}
    for start in range(0, len(clauses), _CLAUSES_PER_QUERY):
        where = " OR ".join(clauses[start : start + _CLAUSES_PER_QUERY])
        query = messages.query().where(f"({where}) AND {SEARCHED_ROLES}")
        for row in (await query.select(["lineage_id", "seq", "version", "text"]).to_arrow()).to_pylist():
            ref = f"{row['lineage_id']}:{row['seq']}"
            if row["version"] > newest.get(ref, -1):  # the newest version wins, as on read
                newest[ref] = row["version"]
                texts[ref] = row["text"]
    return [
        MemoryItem(i.source, i.ref, i.conversation_id, i.role, i.created_at, texts[i.ref], i.lineage_id)
        for i in items
        if i.ref in texts
    ]
