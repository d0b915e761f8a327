"""EmbeddingIndexer on its own: bounded memory while the provider fails, and nothing lost once it works again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from penguin_actors.config import EmbeddingSettings
from penguin_actors.store.lance.backend import LanceBackend
from penguin_actors.store.memory.embeddings import OpenAIEmbedder
from penguin_actors.store.memory.index import EmbeddingIndexer
from penguin_actors.store.rows import MemoryItem, MessageRow
from penguin_actors.testing.fake_llm import FakeLLM

LINEAGE = "lin_000000000001"


async def test_a_long_outage_keeps_few_texts_in_memory_and_loses_nothing(tmp_path: Path, llm: FakeLLM) -> None:
    """While the provider fails, the first queued items keep their texts, the next only their refs, and past
    ``max_queued`` nothing is queued; once it works, every stored message is embedded (the rest via the backlog),
    and one deleted meanwhile is not."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    await backend.open_embeddings("fake-embed", 16)
    lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def writing() -> AsyncIterator[None]:
        async with lock:
            yield

    settings = EmbeddingSettings(dimensions=16, retry_interval_s=0.05, batch_size=2)
    embedder = OpenAIEmbedder(model="fake-embed", dimensions=16, api_key="k", base_url=f"{llm.base_url}/v1")
    rows = [MessageRow(LINEAGE, seq, "conv_1", "user", float(seq), b"", f"text {seq}") for seq in range(6)]
    await backend.append_messages(rows)
    await backend.append_messages([MessageRow("lin_gone", 0, "conv_2", "user", 0.5, b"", "doomed")])
    items = await backend.memory_texts((await backend.embedding_backlog(10))[0])  # the items, with their texts
    llm.embeddings.fail(503)
    indexer = EmbeddingIndexer(
        backend, embedder, settings, writing, lambda item: item.lineage_id != "lin_gone", max_queued=4, keep_texts=2
    )
    indexer.add(items[:2])  # the first pass of the backlog would find these too: nothing is queued twice
    indexer.start()
    indexer.add(items)
    assert indexer.pending == 4 and not indexer.idle
    queued = [(i.ref, i.text) for i in indexer._queue.values()]
    assert queued == [(f"{LINEAGE}:0", "text 0"), ("lin_gone:0", "doomed"), (f"{LINEAGE}:1", ""), (f"{LINEAGE}:2", "")]
    await backend.delete_messages(["lin_gone"])
    await asyncio.sleep(0.2)
    assert indexer.failure is not None and "503" in indexer.failure

    llm.embeddings.recover()
    async with asyncio.timeout(20):
        while not indexer.idle:
            await asyncio.sleep(0.02)
    assert indexer.failure is None
    embedded = (await backend._table("embeddings").query().select(["ref"]).to_arrow()).column("ref").to_pylist()
    assert sorted(embedded) == [f"{LINEAGE}:{seq}" for seq in range(6)]
    sent = {text for r in llm.requests if r.body.get("input") for text in r.body["input"]}
    assert {f"text {seq}" for seq in range(6)} <= sent <= {"doomed", *(f"text {seq}" for seq in range(6))}
    await indexer.close()
    await embedder.aclose()
    await backend.close()


async def test_an_item_added_while_the_backlog_is_read_is_embedded(tmp_path: Path, llm: FakeLLM) -> None:
    """The first backlog read finds nothing, but an item committed meanwhile still wakes the indexer."""
    backend = LanceBackend(str(tmp_path))
    await backend.open()
    await backend.open_embeddings("fake-embed", 16)
    reading, release = asyncio.Event(), asyncio.Event()
    read_backlog = backend.embedding_backlog

    async def slow_backlog(limit: int) -> tuple[list[MemoryItem], list[str]]:
        found = await read_backlog(limit)
        reading.set()
        await release.wait()
        return found

    backend.embedding_backlog = slow_backlog  # type: ignore[method-assign]

    @contextlib.asynccontextmanager
    async def writing() -> AsyncIterator[None]:
        yield

    settings = EmbeddingSettings(dimensions=16, retry_interval_s=0.05)
    embedder = OpenAIEmbedder(model="fake-embed", dimensions=16, api_key="k", base_url=f"{llm.base_url}/v1")
    indexer = EmbeddingIndexer(backend, embedder, settings, writing, lambda item: True)
    indexer.start()
    await reading.wait()  # the backlog is empty so far
    row = MessageRow(LINEAGE, 0, "conv_1", "user", 1.0, b"", "added during the read")
    await backend.append_messages([row])
    indexer.add([MemoryItem("message", f"{LINEAGE}:0", "conv_1", "user", 1.0, row.text, LINEAGE)])
    release.set()
    async with asyncio.timeout(20):
        while not indexer.idle:
            await asyncio.sleep(0.02)
    embedded = (await backend._table("embeddings").query().select(["ref"]).to_arrow()).column("ref").to_pylist()
    assert embedded == [f"{LINEAGE}:0"]
    await indexer.close()
    await embedder.aclose()
    await backend.close()
