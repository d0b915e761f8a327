"""Fixtures of the store conformance suite: every test runs against each backend in ``helpers.BACKENDS``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from penguin_actors.store.checkpoints import CheckpointStore
from tests.support import make_settings
from tests.unit.store.helpers import BACKENDS, Clock, RecordingBackend, StoreKit, store_options


@pytest.fixture(params=sorted(BACKENDS))
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def make_kit(backend_kind: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Callable[..., StoreKit]]:
    """A factory of ``StoreKit``s: ``settings`` overrides (dotted keys) and ``CheckpointStore`` options."""
    kits: list[StoreKit] = []

    def make(settings: dict[str, object] | None = None, **options: Any) -> StoreKit:
        root = tmp_path / f"store{len(kits)}"
        config = make_settings(root / "workspace", **(settings or {}))
        backend = RecordingBackend(BACKENDS[backend_kind](root))
        store = CheckpointStore(config, backend=backend, clock=clock, **store_options(backend_kind, root, options))
        kit = StoreKit(backend_kind, root, clock, config, store, backend, [store])
        kits.append(kit)
        return kit

    yield make
    for kit in kits:
        for store in kit.opened:
            await store.close()


@pytest_asyncio.fixture
async def kit(make_kit: Callable[..., StoreKit]) -> StoreKit:
    return make_kit()


@pytest_asyncio.fixture
async def store(kit: StoreKit) -> CheckpointStore:
    return kit.store
