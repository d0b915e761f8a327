"""Recall: the store's memory search, by words always and by meaning when an embedding provider is configured.

Without ``memory.embeddings`` a search is the backend's full-text search, as it
always was. With it, the store also keeps a vector per note and user/assistant
message (``EmbeddingIndexer``, in the background after each commit), a search
embeds its query and asks both the full-text and the vector index, and the two
rankings are fused by reciprocal rank (``fuse``). If the provider cannot embed the
query, the search answers from the words alone and says so.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from penguin_actors.config import MemorySettings
from penguin_actors.errors import ProviderError
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.memory.index import EmbeddingIndexer
from penguin_actors.store.memory.notes import MemoryResult
from penguin_actors.store.records import NoteRecord
from penguin_actors.store.rows import MemoryItem, MessageRow, TextHit, TextQuery, TextSource

if TYPE_CHECKING:
    from penguin_actors.store.memory.embeddings import Embedder

log = logging.getLogger(__name__)

RRF_K = 60  # the usual constant of reciprocal rank fusion: a hit's weight is 1 / (RRF_K + rank)
CANDIDATES = 2  # each index is asked for this many times the hits wanted, for fusion to choose from
SOURCES: tuple[TextSource, ...] = ("note", "message")


class Recall:
    """Memory search for ``CheckpointStore``; ``alive(lineage_id)`` tells whether a lineage still exists.

    ``writing`` is the store's write lock (the indexer writes vectors under it);
    ``env`` holds the provider key (default: this process's environment).
    """

    def __init__(
        self,
        settings: MemorySettings,
        backend: StoreBackend,
        writing: Callable[[], AbstractAsyncContextManager[None]],
        alive: Callable[[str], bool],
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings.embeddings
        self._backend = backend
        self._writing = writing
        self._alive = alive
        self._env = os.environ if env is None else env
        self._embedder: Embedder | None = None
        self.indexer: EmbeddingIndexer | None = None

    async def open(self) -> None:
        """With embeddings configured: prepare their table and start the indexer (the store is open)."""
        if self._settings is None or self._embedder is not None:
            return
        from penguin_actors.store.memory.embeddings import make_embedder  # loads the openai SDK: only where configured

        embedder = make_embedder(self._settings, self._env)
        try:
            await self._backend.open_embeddings(embedder.model, embedder.dimensions)
        except BaseException:
            await embedder.aclose()
            raise
        self._embedder = embedder
        self.indexer = EmbeddingIndexer(self._backend, embedder, self._settings, self._writing, self._is_alive)
        self.indexer.start()

    async def close(self) -> None:
        if self.indexer is not None:
            await self.indexer.close()
            self.indexer = None
        if self._embedder is not None:
            await self._embedder.aclose()
            self._embedder = None

    def messages_added(self, rows: Sequence[MessageRow]) -> None:
        """Committed messages: the user and assistant ones with text get embedded in the background."""
        if self.indexer is not None:
            self.indexer.add(
                MemoryItem(
                    "message", f"{r.lineage_id}:{r.seq}", r.conversation_id, r.role, r.created_at, r.text, r.lineage_id
                )
                for r in rows
                if r.role in ("user", "assistant") and r.text
            )

    def note_added(self, note: NoteRecord) -> None:
        if self.indexer is not None:
            self.indexer.add([MemoryItem("note", note.id, note.conversation_id, None, note.created_at, note.text)])

    async def search(self, query: TextQuery) -> MemoryResult:
        """The hits of a checked ``query``: full text, fused with vector hits when embeddings are configured."""
        if self._settings is None or self._embedder is None:
            return MemoryResult(await self._backend.search_text(query))
        wide = dataclasses.replace(query, limit=query.limit * CANDIDATES)
        by_words = await self._backend.search_text(wide)
        try:
            (vector,) = await self._embedder.embed([query.text], timeout_s=self._settings.query_timeout_s)
        except ProviderError as exc:
            log.warning("memory search by meaning failed, answering by words only: %s", exc.message)
            warning = f"Found by words only: search by meaning is unavailable now ({exc.message})."
            return MemoryResult(fuse([by_words], query.limit), warning)
        by_meaning = await self._backend.search_vectors(vector, wide, self._settings.min_similarity)
        return MemoryResult(fuse([by_words, by_meaning], query.limit))

    def _is_alive(self, item: MemoryItem) -> bool:
        return item.lineage_id is None or self._alive(item.lineage_id)


def fuse(rankings: Sequence[Sequence[TextHit]], limit: int, k: int = RRF_K) -> list[TextHit]:
    """Reciprocal rank fusion of ``rankings`` (each best first), source by source: notes, then messages.

    A hit scores the sum of ``1 / (k + rank)`` over the rankings that hold it (rank 1 is
    the best of its source there); at most ``limit`` per source, best first, ties to the
    better single rank, then to the earlier ranking. A hit in several rankings keeps the
    fields of the first, with the fused score.
    """
    fused: list[TextHit] = []
    for source in SOURCES:
        scores: dict[str, float] = {}
        best: dict[str, tuple[int, int]] = {}  # ref -> (best rank, index of the first ranking holding it)
        hits: dict[str, TextHit] = {}
        for index, ranking in enumerate(rankings):
            ranked = list(dict.fromkeys(h.ref for h in ranking if h.source == source))
            for hit in ranking:
                hits.setdefault(hit.ref, hit)
            for rank, ref in enumerate(ranked, start=1):
                scores[ref] = scores.get(ref, 0.0) + 1.0 / (k + rank)
                held = best.get(ref)
                best[ref] = (min(rank, held[0]), held[1]) if held else (rank, index)
        ordered = sorted(scores, key=lambda ref: (-scores[ref], *best[ref], ref))
        fused += [dataclasses.replace(hits[ref], score=scores[ref]) for ref in ordered[:limit]]
    return fused
