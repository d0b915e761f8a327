"""The store's LanceDB caches stay within the configured sizes, so its memory levels off."""

from __future__ import annotations

from pathlib import Path

from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.lance.backend import LanceBackend
from penguin_actors.types import Message
from tests.support import make_settings


async def _cache_bytes_after_writes(tmp_path: Path, cache_mb: int) -> int:
    sizes = {"storage.index_cache_mb": cache_mb, "storage.metadata_cache_mb": cache_mb}
    settings = make_settings(tmp_path, **sizes, **{"storage.journal": False})  # every commit writes LanceDB
    store = CheckpointStore(settings)
    for i in range(40):
        record = await store.create_conversation(f"c{i}", None)
        for _ in range(2):
            await store.append_messages(record.id, [Message(role="user", content="hello")], checkpoint=True)
    backend = store._backend
    assert isinstance(backend, LanceBackend)
    size: int = backend._session.size_bytes
    await store.close()
    return size


async def test_the_metadata_cache_is_bounded_by_the_settings(tmp_path: Path) -> None:
    small = await _cache_bytes_after_writes(tmp_path / "small", 1)
    large = await _cache_bytes_after_writes(tmp_path / "large", 256)
    assert small <= 2 << 20 < large  # the large cache holds what the small one had to let go
