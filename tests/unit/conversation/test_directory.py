"""ConversationDirectory: activation on demand, LRU passivation, and a hard cap on live actors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from penguin_actors.conversation import directory as directory_module
from penguin_actors.conversation.directory import ConversationDirectory
from penguin_actors.errors import NotFound, Unavailable
from tests.support import make_settings
from tests.unit.recording_metrics import record_metrics


class FakeSpawner:
    """Live 'actors' as a set; some can be marked busy; tracks the peak number alive."""

    def __init__(self, known: set[str] | None = None) -> None:
        self.known = known
        self.live: set[str] = set()
        self.busy: set[str] = set()
        self.peak = 0
        self.spawned: list[str] = []

    async def spawn(self, conversation_id: str) -> None:
        if self.known is not None and conversation_id not in self.known:
            raise NotFound(conversation_id)
        await asyncio.sleep(0.01)
        self.live.add(conversation_id)
        self.spawned.append(conversation_id)
        self.peak = max(self.peak, len(self.live))

    async def alive(self, conversation_id: str) -> bool:
        return conversation_id in self.live

    async def prepare_passivate(self, conversation_id: str) -> bool:
        if conversation_id not in self.live:
            raise RuntimeError("actor is gone")
        return conversation_id not in self.busy

    async def kill(self, conversation_id: str) -> None:
        await asyncio.sleep(0.005)
        self.live.discard(conversation_id)


def directory(tmp_path: Path, spawner: FakeSpawner, max_active: int = 2, wait_s: float = 1.0) -> ConversationDirectory:
    return ConversationDirectory(
        make_settings(tmp_path, **{"activation.max_active": max_active}), spawner, wait_s=wait_s
    )


async def test_activation_is_once_per_id(tmp_path: Path) -> None:
    """Activating a live conversation again starts nothing; concurrent activations of one id start one actor."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner)
    assert await d.activate("a")
    assert not await d.activate("a")
    await asyncio.gather(*(d.activate("b") for _ in range(5)))
    assert spawner.spawned == ["a", "b"]


async def test_least_recently_used_idle_is_passivated(tmp_path: Path) -> None:
    """At max_active, activating another passivates the least recently used idle conversation."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner)
    await d.activate("a")
    await d.activate("b")
    await d.touch("a")
    await d.activate("c")
    assert spawner.live == {"a", "c"}
    assert (await d.stats())["evictions"] == 1 and (await d.stats())["conversations"] == ["c", "a"]


async def test_busy_conversations_are_not_evicted(tmp_path: Path) -> None:
    """A busy conversation is skipped; if all are busy, activation waits, then fails as Unavailable."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner, wait_s=0.2)
    await d.activate("a")
    await d.activate("b")
    spawner.busy = {"a", "b"}
    with pytest.raises(Unavailable, match="all 2 active conversations are busy"):
        await d.activate("c")
    spawner.busy = {"a"}
    await d.activate("c")
    assert spawner.live == {"a", "c"}


async def test_the_cap_holds_under_concurrent_activations(tmp_path: Path) -> None:
    """Many concurrent activations of different ids never have more than max_active alive."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner, max_active=3)
    await asyncio.gather(*(d.activate(f"c{i}") for i in range(12)))
    assert spawner.peak <= 3 and len(spawner.live) == 3
    assert (await d.stats())["activations"] == 12


async def test_dead_actor_is_activated_again(tmp_path: Path) -> None:
    """A conversation whose actor died is started again by the next activation."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner)
    await d.activate("a")
    spawner.live.discard("a")
    assert await d.activate("a")
    assert spawner.spawned == ["a", "a"]


async def test_idle_request_passivates_in_the_background(tmp_path: Path) -> None:
    """request_passivation returns at once and the actor is stopped soon after."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner)
    await d.activate("a")
    await d.request_passivation("a")
    await asyncio.sleep(0.05)
    assert spawner.live == set() and (await d.stats())["passivations"] == 1
    assert await d.activate("a")


async def test_unknown_conversation_takes_no_slot(tmp_path: Path) -> None:
    """Activating an id the store does not know fails and leaves the capacity untouched."""
    spawner = FakeSpawner(known={"a"})
    d = directory(tmp_path, spawner, max_active=1)
    with pytest.raises(NotFound):
        await d.activate("ghost")
    await d.activate("a")
    assert (await d.stats())["active"] == 1


async def test_forget_stops_a_deleted_conversation(tmp_path: Path) -> None:
    """forget stops the actor even while busy, and frees its slot."""
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner)
    await d.activate("a")
    spawner.busy = {"a"}
    await d.forget("a")
    assert spawner.live == set() and (await d.stats())["active"] == 0


async def test_metrics_count_activations_and_passivations_by_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activations, idle/evicted/deleted passivations and the active gauge are recorded as they happen."""
    recorded = record_metrics(monkeypatch, directory_module)
    spawner = FakeSpawner()
    d = directory(tmp_path, spawner)
    await d.activate("a")
    await d.activate("b")
    assert recorded.last("penguin_active_conversations") == 2
    await d.activate("c")  # evicts a
    await d.request_passivation("b")
    await asyncio.sleep(0.05)
    await d.forget("c")
    assert recorded.total("penguin_activations_total") == 3
    assert recorded.total("penguin_passivations_total", reason="evicted") == 1
    assert recorded.total("penguin_passivations_total", reason="idle") == 1
    assert recorded.total("penguin_passivations_total", reason="deleted") == 1
    assert recorded.last("penguin_active_conversations") == 0
    assert not recorded.metrics.failed


class PlacingSpawner(FakeSpawner):
    """Says each actor runs on node a or node b, in turn."""

    async def spawn(self, conversation_id: str) -> str | None:
        await super().spawn(conversation_id)
        return "node-a" if len(self.spawned) % 2 else "node-b"


async def test_stats_count_active_conversations_per_node(tmp_path: Path) -> None:
    """by_node counts the live actors on each node the spawner reported; a passivated one leaves its count."""
    spawner = PlacingSpawner()
    conversations = directory(tmp_path, spawner, max_active=4)
    for name in ("c1", "c2", "c3"):
        await conversations.activate(name)
    assert (await conversations.stats())["by_node"] == {"node-a": 2, "node-b": 1}
    assert await conversations.passivate("c1")
    assert (await conversations.stats())["by_node"] == {"node-b": 1, "node-a": 1}
