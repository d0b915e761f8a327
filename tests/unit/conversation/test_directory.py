"""ConversationDirectory: activation on a host, LRU passivation, the bounds on live conversations and hosts,
spare hosts, lost hosts, and a directory that restarts; with hosts of many and with hosts of one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from penguin_actors.conversation import directory as directory_module
from penguin_actors.conversation.directory import ConversationDirectory
from penguin_actors.errors import NotFound, Unavailable
from tests.support import make_settings
from tests.unit.recording_metrics import record_metrics


class FakeHosts:
    """Hosts as sets of conversation ids; conversations can be marked busy; counts starts and the peaks."""

    def __init__(self, known: set[str] | None = None, *, cpus: int = 2, start_s: float = 0.01) -> None:
        self.known = known
        self.running: dict[str, set[str]] = {}
        self.nodes: dict[str, str] = {}
        self.busy: set[str] = set()
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.activated: list[str] = []
        self.peak_live = 0
        self.start_s = start_s
        self._cpus = cpus

    @property
    def live(self) -> set[str]:
        return set().union(*self.running.values()) if self.running else set()

    def host_of(self, conversation_id: str) -> str:
        return next(name for name, held in self.running.items() if conversation_id in held)

    async def start(self, name: str, capacity: int) -> str | None:
        await asyncio.sleep(self.start_s)
        self.running[name] = set()
        self.started.append(name)
        return self.nodes.get(name, "node-a")

    async def alive(self, name: str) -> bool:
        return name in self.running

    async def activate(self, name: str, conversation_id: str) -> None:
        if self.known is not None and conversation_id not in self.known:
            raise NotFound(conversation_id)
        await asyncio.sleep(0.001)
        self.running[name].add(conversation_id)
        self.activated.append(conversation_id)
        self.peak_live = max(self.peak_live, len(self.live))

    async def passivate(self, name: str, conversation_id: str) -> bool:
        if name not in self.running:
            raise RuntimeError("host is gone")
        if conversation_id in self.busy:
            return False
        self.running[name].discard(conversation_id)
        return True

    async def release(self, name: str, conversation_id: str) -> None:
        self.running[name].discard(conversation_id)

    async def stop(self, name: str) -> None:
        await asyncio.sleep(0.001)
        self.running.pop(name, None)
        self.stopped.append(name)

    async def discover(self) -> dict[str, tuple[str | None, list[str]]]:
        return {name: (self.nodes.get(name, "node-a"), sorted(held)) for name, held in self.running.items()}

    async def cpus(self) -> int:
        return self._cpus


def directory(
    tmp_path: Path,
    hosts: FakeHosts,
    *,
    max_active: int = 2,
    per_host: int = 64,
    max_hosts: int | None = None,
    spares: int = 1,
    idle_s: float = 600,
    wait_s: float = 1.0,
    placement: str = "spread",
) -> ConversationDirectory:
    settings = make_settings(
        tmp_path,
        **{
            "activation.max_active": max_active,
            "activation.conversations_per_actor": per_host,
            "activation.max_hosts": max_hosts,
            "activation.spare_hosts": spares,
            "activation.idle_timeout_s": idle_s,
            "activation.placement": placement,
        },
    )
    return ConversationDirectory(settings, hosts, wait_s=wait_s)


@pytest.fixture(params=[64, 1], ids=["hosted", "solo"])
def per_host(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


async def test_activation_is_once_per_id(tmp_path: Path, per_host: int) -> None:
    """Activating a held conversation again does nothing; concurrent activations of one id load it once."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host)
    first = await d.activate("a")
    assert await d.activate("a") == first
    names = await asyncio.gather(*(d.activate("b") for _ in range(5)))
    assert len(set(names)) == 1 and hosts.activated == ["a", "b"]


async def test_packed_conversations_share_a_host_and_a_solo_one_has_its_own(tmp_path: Path, per_host: int) -> None:
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host, max_active=8, placement="pack")
    names = [await d.activate(f"c{i}") for i in range(4)]
    if per_host == 1:
        assert names == ["conv:c0", "conv:c1", "conv:c2", "conv:c3"]
    else:
        assert set(names) == {"host:1"}  # one host takes them all, and still has room: no other is started
        assert len(hosts.running) == 1


async def test_spread_conversations_go_to_the_least_loaded_of_max_hosts(tmp_path: Path) -> None:
    """With placement spread, a spare is an empty host: hosts start as conversations come, up to max_hosts,
    and each conversation goes to the least loaded host that runs."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, max_active=8, max_hosts=3)
    await d.warm_up()
    placed = []
    for i in range(6):
        placed.append(await d.activate(f"c{i}"))
        await d.warm_up()  # the spare started for the next conversation runs before it comes
    assert placed == ["host:1", "host:2", "host:3", "host:1", "host:2", "host:3"]
    assert len(hosts.running) == 3


async def test_least_recently_used_idle_is_passivated(tmp_path: Path, per_host: int) -> None:
    """At max_active, activating another passivates the least recently used idle conversation."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host)
    await d.activate("a")
    await d.activate("b")
    await d.touch("a")
    await d.activate("c")
    assert hosts.live == {"a", "c"}
    assert (await d.stats())["evictions"] == 1 and (await d.stats())["conversations"] == ["c", "a"]


async def test_busy_conversations_are_not_evicted(tmp_path: Path, per_host: int) -> None:
    """A busy conversation is skipped; if all are busy, activation waits, then fails as Unavailable."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host, wait_s=0.2)
    await d.activate("a")
    await d.activate("b")
    hosts.busy = {"a", "b"}
    with pytest.raises(Unavailable, match="all 2 active conversations are busy"):
        await d.activate("c")
    hosts.busy = {"a"}
    await d.activate("c")
    assert hosts.live == {"a", "c"}


async def test_the_caps_hold_under_concurrent_activations(tmp_path: Path, per_host: int) -> None:
    """Many concurrent activations never have more than max_active live, nor more than max_hosts hosts."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host, max_active=3, max_hosts=2)
    await asyncio.gather(*(d.activate(f"c{i}") for i in range(12)))
    assert hosts.peak_live <= 3 and len(hosts.live) == 3
    assert len(hosts.running) <= (3 if per_host == 1 else 2)
    assert (await d.stats())["activations"] == 12


async def test_full_hosts_start_another_up_to_max_hosts_then_evict(tmp_path: Path) -> None:
    """Hosts of two: a third conversation goes to a new host; at max_hosts a fifth evicts the oldest idle one."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=2, max_hosts=2, max_active=10, spares=0)
    placed = [await d.activate(name) for name in ("a", "b", "c", "d")]
    assert placed == ["host:1", "host:1", "host:2", "host:2"]
    assert await d.activate("e") == "host:1" and hosts.live == {"b", "c", "d", "e"}
    assert (await d.stats())["evictions"] == 1


async def test_the_least_loaded_host_with_room_takes_the_next(tmp_path: Path) -> None:
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=4, max_hosts=2, max_active=10, spares=0)
    for name in ("a", "b", "c", "d", "e"):
        await d.activate(name)
    assert await d.passivate("a") and await d.passivate("b")  # host:1 holds c, d; host:2 holds e
    assert await d.activate("f") == "host:2"


async def test_a_spare_host_is_started_ahead(tmp_path: Path) -> None:
    """warm_up starts a host before any conversation; when a host fills, the next is started in the background."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=2, max_hosts=3, max_active=10, spares=1)
    await d.warm_up()
    assert hosts.started == ["host:1"]
    await d.activate("a")
    await d.activate("b")  # host:1 is full: host:2 starts ahead
    await asyncio.sleep(0.05)
    assert hosts.started == ["host:1", "host:2"]
    await d.activate("c")
    assert hosts.host_of("c") == "host:2"


async def test_an_empty_host_stops_after_the_idle_timeout_but_the_spare_stays(tmp_path: Path) -> None:
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=1 + 1, max_hosts=3, max_active=10, spares=1, idle_s=0.2)
    for name in ("a", "b", "c"):
        await d.activate(name)  # host:1 a, b; host:2 c; (host:3 not needed: host:2 has room)
    for name in ("a", "b", "c"):
        assert await d.passivate(name)
    await asyncio.sleep(0.5)
    assert len(hosts.running) == 1  # one empty host is kept, with room for the next conversation


async def test_a_lost_host_s_conversations_activate_elsewhere(tmp_path: Path, per_host: int) -> None:
    """A conversation whose host died is placed again by the next activation, with the others it held."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host, max_active=4)
    lost = await d.activate("a")
    await d.activate("b")
    del hosts.running[lost]
    again = await d.activate("a")
    assert again != lost or per_host == 1
    assert hosts.activated == ["a", "b", "a"]
    assert "a" in (await d.stats())["conversations"]


async def test_idle_request_passivates_in_the_background(tmp_path: Path, per_host: int) -> None:
    """request_passivation returns at once and the conversation leaves its host soon after."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host)
    await d.activate("a")
    await d.request_passivation("a")
    await asyncio.sleep(0.05)
    assert hosts.live == set() and (await d.stats())["passivations"] == 1
    if per_host == 1:
        assert hosts.stopped == ["conv:a"]  # a host of one stops with its conversation
    await d.activate("a")
    assert hosts.live == {"a"}


async def test_unknown_conversation_takes_no_slot(tmp_path: Path, per_host: int) -> None:
    """Activating an id the store does not know fails and leaves the capacity untouched."""
    hosts = FakeHosts(known={"a"})
    d = directory(tmp_path, hosts, per_host=per_host, max_active=1)
    with pytest.raises(NotFound):
        await d.activate("ghost")
    await d.activate("a")
    assert (await d.stats())["active"] == 1
    if per_host == 1:
        assert "conv:ghost" not in hosts.running


async def test_forget_releases_a_deleted_conversation(tmp_path: Path, per_host: int) -> None:
    """forget lets the conversation go even while busy, and frees its slot."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=per_host)
    await d.activate("a")
    hosts.busy = {"a"}
    await d.forget("a")
    assert hosts.live == set() and (await d.stats())["active"] == 0


async def test_a_restarted_directory_finds_the_running_hosts(tmp_path: Path) -> None:
    """A new directory over the same hosts knows what each holds, never activates one twice, names hosts anew."""
    hosts = FakeHosts()
    first = directory(tmp_path, hosts, per_host=2, max_hosts=4, max_active=10, spares=0)
    for name in ("a", "b", "c"):
        await first.activate(name)
    second = directory(tmp_path, hosts, per_host=2, max_hosts=4, max_active=10, spares=0)
    assert await second.activate("a") == "host:1" and await second.activate("c") == "host:2"
    assert await second.activate("d") == "host:2" and await second.activate("e") == "host:3"
    assert hosts.activated == ["a", "b", "c", "d", "e"]
    assert (await second.stats())["active"] == 5


async def test_max_hosts_defaults_to_the_cluster_s_cpus(tmp_path: Path) -> None:
    hosts = FakeHosts(cpus=3)
    d = directory(tmp_path, hosts, per_host=1 + 1, max_active=100, spares=0)
    await asyncio.gather(*(d.activate(f"c{i}") for i in range(6)))
    assert (await d.stats())["max_hosts"] == 3 and len(hosts.running) == 3
    assert await d.activate("c6") in {"host:1", "host:2", "host:3"}  # evicts to make room


async def test_metrics_count_activations_and_passivations_by_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activations, idle/evicted/deleted passivations, the active gauge and the hosts are recorded."""
    recorded = record_metrics(monkeypatch, directory_module)
    hosts = FakeHosts()
    d = directory(tmp_path, hosts)
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
    assert recorded.last("penguin_hosts") == 2  # spread: the spare started after the first conversation
    assert not recorded.metrics.failed


async def test_stats_count_conversations_per_node_and_list_the_hosts(tmp_path: Path) -> None:
    """by_node counts the conversations on each node its host reported; hosts are listed with their load."""
    hosts = FakeHosts()
    hosts.nodes = {"host:1": "node-a", "host:2": "node-b"}
    d = directory(tmp_path, hosts, per_host=2, max_hosts=2, max_active=4, spares=0)
    for name in ("c1", "c2", "c3"):
        await d.activate(name)
    stats = await d.stats()
    assert stats["by_node"] == {"node-a": 2, "node-b": 1}
    assert stats["hosts"] == [
        {"name": "host:1", "node_id": "node-a", "conversations": 2, "capacity": 2},
        {"name": "host:2", "node_id": "node-b", "conversations": 1, "capacity": 2},
    ]
    assert await d.passivate("c1")
    assert (await d.stats())["by_node"] == {"node-a": 1, "node-b": 1}


async def test_a_new_conversation_meant_for_a_dead_host_goes_to_another(tmp_path: Path) -> None:
    """A host that died holding none of the caller's conversations (its node was lost) is found dead when a new
    conversation is placed on it: it is dropped with what it held, and the conversation goes elsewhere."""
    hosts = FakeHosts()
    d = directory(tmp_path, hosts, per_host=4, max_hosts=3, max_active=10, spares=0, placement="spread")
    for name in ("a", "b", "c"):
        await d.activate(name)  # all on host:1 (no spare is kept: none other starts)
    dead = hosts.host_of("b")
    del hosts.running[dead]
    placed = await d.activate("d")
    assert placed != dead and hosts.host_of("d") == placed
    assert "b" not in (await d.stats())["conversations"]  # it activates again at its next call
    assert await d.activate("b") != dead
