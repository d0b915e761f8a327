"""ConversationDirectory: which host holds each active conversation, and keeping their numbers bounded.

A plain class; ``edge`` runs it as the named detached actor ``directory``. A conversation exists in
storage whether or not a host holds it (a virtual actor): any call activates it on the least loaded
conversation host with room (``placement.py``), which loads its state and nothing else. The
directory starts hosts up to ``max_hosts`` (one per CPU of the cluster by default) and keeps
``spare_hosts`` started ahead, so that no user waits for a process start: with ``placement: spread``
a spare is an empty host, so conversations spread over up to ``max_hosts`` processes (and Ray
spreads the hosts over the nodes); with ``pack`` a spare is a host with room, so a host fills before
the next one starts. An idle conversation asks to be passivated; when ``max_active`` conversations
are live, or every host is full, the least recently used idle one is passivated to make room; when
all are busy, an activation waits up to ``wait_s``, then fails as Unavailable. A host left empty
stops after ``idle_timeout_s``; a host that died is noticed at the next activation of one of its
conversations, which then go elsewhere.

With ``conversations_per_actor: 1`` each host is one conversation's actor, named ``conv:<id>``,
started at its activation and stopped at its passivation: the same code. A directory that restarts
finds the running hosts and what they hold (``Hosts.discover``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from penguin_actors.config import Settings
from penguin_actors.conversation.placement import HostSlot, choose, host_name, host_number
from penguin_actors.errors import Unavailable
from penguin_actors.metrics import PassivationReason, metrics

log = logging.getLogger(__name__)

SOLO_PREFIX = "conv:"


class Hosts(Protocol):
    """How the directory starts, calls and stops conversation hosts (Ray actors live, plain objects in tests)."""

    async def start(self, name: str, capacity: int) -> str | None:
        """Start a host named ``name`` holding up to ``capacity`` conversations; the id of its node, if known."""

    async def alive(self, name: str) -> bool: ...

    async def activate(self, name: str, conversation_id: str) -> None:
        """Have the host load the conversation; NotFound if it does not exist."""

    async def passivate(self, name: str, conversation_id: str) -> bool:
        """Have the host let an idle conversation go; False if it is busy. Raises if the host is gone."""

    async def release(self, name: str, conversation_id: str) -> None:
        """Have the host let the conversation go now, busy or not."""

    async def stop(self, name: str) -> None:
        """Stop the host and return once its name is free."""

    async def discover(self) -> dict[str, tuple[str | None, list[str]]]:
        """The hosts already running: name -> (node, the conversations each holds)."""

    async def cpus(self) -> int:
        """The cluster's CPUs (for ``max_hosts``' default)."""


class ConversationDirectory:
    def __init__(
        self, settings: Settings, hosts: Hosts, *, wait_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        activation = settings.activation
        self.max_active = activation.max_active
        self.capacity = activation.conversations_per_actor
        self.solo = self.capacity == 1
        self.max_hosts = self.max_active if self.solo else (activation.max_hosts or 0)  # 0: ask the cluster
        self.spare_hosts = 0 if self.solo else activation.spare_hosts
        self.spread = activation.placement == "spread"
        self.idle_timeout_s = activation.idle_timeout_s
        self.hosts = hosts
        self.wait_s = wait_s
        self._clock = clock
        self._active: OrderedDict[str, float] = OrderedDict()  # least recently used first
        self._placed: dict[str, HostSlot] = {}
        self._slots: dict[str, HostSlot] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._capacity = asyncio.Lock()
        self._open_lock = asyncio.Lock()
        self._opened = False
        self._next_host = 1
        self._passivating: dict[str, asyncio.Event] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.counts = {"activations": 0, "passivations": 0, "evictions": 0}

    # --- activation -------------------------------------------------------------------

    async def activate(self, conversation_id: str) -> str:
        """Make sure a host holds the conversation; the host's name."""
        await self._open()
        while conversation_id in self._passivating:
            await self._passivating[conversation_id].wait()
        async with self._lock(conversation_id):
            slot = self._placed.get(conversation_id)
            if slot is not None:
                if await self.hosts.alive(slot.name):
                    self._touch(conversation_id)
                    return slot.name
                self._lost(slot)
            slot = await self._place(conversation_id)
            slot.conversations.add(conversation_id)
            slot.empty_since = None
            self._placed[conversation_id] = slot
            self._active[conversation_id] = self._clock()
            self.counts["activations"] += 1
            metrics().activated()
            metrics().active_conversations(len(self._active))
            self._keep_spares()
            return slot.name

    async def _place(self, conversation_id: str) -> HostSlot:
        """Have a host with room load the conversation; a host found dead is dropped and another one tried."""
        for attempt in (1, 2):
            async with self._capacity:
                slot = await self._reserve(conversation_id)
            try:
                if slot.started is not None:
                    await asyncio.shield(slot.started)
                await self.hosts.activate(slot.name, conversation_id)
            except Exception:
                slot.reserved -= 1
                if attempt == 1 and slot.name in self._slots and not await self.hosts.alive(slot.name):
                    self._lost(slot)  # e.g. its node died: its other conversations go elsewhere too
                    continue
                await self._after_leaving(slot)
                raise
            except BaseException:
                slot.reserved -= 1
                await self._after_leaving(slot)
                raise
            slot.reserved -= 1
            return slot
        raise AssertionError("unreachable")

    async def warm_up(self) -> None:
        """Start the spare hosts now (the server does before it says it serves), and wait until they run."""
        await self._open()
        self._keep_spares()
        starting = [s.started for s in self._slots.values() if s.started is not None and not s.started.done()]
        for started in starting:
            with contextlib.suppress(Exception):  # a host that did not start is logged, and not used
                await asyncio.shield(started)

    async def touch(self, conversation_id: str) -> None:
        """Mark the conversation used now (its host calls this as a turn starts)."""
        if conversation_id in self._active:
            self._touch(conversation_id)

    # --- passivation --------------------------------------------------------------------

    async def request_passivation(self, conversation_id: str) -> None:
        """An idle conversation asks to go; it happens in the background, and only if it is still idle."""
        if conversation_id in self._active and conversation_id not in self._passivating:
            self._spawn(self.passivate(conversation_id, "idle"))

    async def passivate(self, conversation_id: str, reason: PassivationReason = "idle") -> bool:
        """Let the conversation go from its host if it is idle; True if no host holds it afterwards.

        ``reason`` (``idle`` or ``evicted``) labels the passivation in the metrics.
        """
        slot = self._placed.get(conversation_id)
        if conversation_id in self._passivating or slot is None:
            return slot is None
        done = self._passivating[conversation_id] = asyncio.Event()
        try:
            try:
                if not await self.hosts.passivate(slot.name, conversation_id):
                    return False
            except Exception as exc:  # the host is gone: the conversation's slot is free
                log.info("conversation %s was not on a running host (%s)", conversation_id, type(exc).__name__)
            self._unplace(conversation_id)
            self.counts["passivations"] += 1
            metrics().passivated(reason)
            await self._after_leaving(slot)
            return True
        finally:
            del self._passivating[conversation_id]
            done.set()
            lock = self._locks.get(conversation_id)
            if lock is not None and not lock.locked():
                del self._locks[conversation_id]

    async def forget(self, conversation_id: str) -> None:
        """The conversation was deleted: its host lets it go whatever it is doing."""
        await self._open()
        async with self._lock(conversation_id):
            slot = self._placed.get(conversation_id)
            if slot is None:
                return
            with contextlib.suppress(Exception):  # a host that is gone holds nothing
                await self.hosts.release(slot.name, conversation_id)
            self._unplace(conversation_id)
            metrics().passivated("deleted")
            await self._after_leaving(slot)

    # --- the state ------------------------------------------------------------------------

    async def stats(self) -> dict[str, Any]:
        await self._open()
        slots = sorted(self._slots.values(), key=lambda s: (host_number(s.name) or 0, s.name))
        return {
            "active": len(self._active),
            "max_active": self.max_active,
            "conversations": list(reversed(self._active)),  # most recently used first
            "by_node": dict(Counter(s.node for s in self._placed.values() if s.node is not None)),
            "conversations_per_actor": self.capacity,
            "max_hosts": self.max_hosts,
            "hosts": [
                {"name": s.name, "node_id": s.node, "conversations": len(s.conversations), "capacity": s.capacity}
                for s in slots
                if s.ready
            ],
            **self.counts,
        }

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        return self._locks.setdefault(conversation_id, asyncio.Lock())

    def _touch(self, conversation_id: str) -> None:
        self._active[conversation_id] = self._clock()
        self._active.move_to_end(conversation_id)

    def _unplace(self, conversation_id: str) -> None:
        slot = self._placed.pop(conversation_id, None)
        self._active.pop(conversation_id, None)
        if slot is not None:
            slot.conversations.discard(conversation_id)
        metrics().active_conversations(len(self._active))

    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # --- hosts ----------------------------------------------------------------------------

    async def _open(self) -> None:
        """At the first call: find the hosts a previous run of the directory left, and what they hold."""
        if self._opened:
            return
        async with self._open_lock:
            if self._opened:
                return
            if not self.max_hosts:
                self.max_hosts = max(await self.hosts.cpus(), 1)
            for name, (node, held) in (await self.hosts.discover()).items():
                slot = self._slots[name] = HostSlot(name, self.capacity, set(held), node=node)
                slot.empty_since = None if held else self._clock()
                for conversation_id in held:
                    self._placed[conversation_id] = slot
                    self._active[conversation_id] = self._clock()
                self._next_host = max(self._next_host, (host_number(name) or 0) + 1)
            self._opened = True
            if self._slots:
                log.info("found %d hosts holding %d conversations", len(self._slots), len(self._placed))
            metrics().hosts(len(self._slots))
            metrics().active_conversations(len(self._active))
            if not self.solo:
                self._spawn(self._stop_idle_hosts())

    async def _reserve(self, conversation_id: str) -> HostSlot:
        """A slot on a host for the conversation (under the capacity lock), making room if need be."""
        deadline = self._clock() + self.wait_s
        while True:
            slot = self._room_for(conversation_id)
            if slot is not None:
                slot.reserved += 1
                return slot
            if not await self._evict_one():
                if self._clock() >= deadline:
                    raise Unavailable(
                        f"all {len(self._active)} active conversations are busy: try again shortly, or raise "
                        "activation.max_active (and activation.max_hosts or conversations_per_actor)"
                    )
                await asyncio.sleep(0.05)

    def _room_for(self, conversation_id: str) -> HostSlot | None:
        """A host with room (started now if need be), or None when the live conversations are at their bound."""
        reserved = sum(s.reserved for s in self._slots.values())
        if len(self._active) + reserved >= self.max_active:
            return None
        if self.solo:
            return self._start(f"{SOLO_PREFIX}{conversation_id}")
        slot = choose(list(self._slots.values()))
        if slot is None and len(self._slots) < self.max_hosts:
            slot = self._start(host_name(self._next_host))
            self._next_host += 1
        return slot

    async def _evict_one(self) -> bool:
        """Passivate the least recently used idle conversation; False if every one is busy."""
        for victim in list(self._active):
            if await self.passivate(victim, "evicted"):
                self.counts["evictions"] += 1
                return True
        return False

    def _start(self, name: str) -> HostSlot:
        """A new host's slot; the host starts in the background (``slot.started``)."""
        slot = self._slots[name] = HostSlot(name, self.capacity)
        slot.started = asyncio.get_running_loop().create_future()
        self._spawn(self._run_start(slot))
        metrics().hosts(len(self._slots))
        return slot

    async def _run_start(self, slot: HostSlot) -> None:
        assert slot.started is not None
        try:
            slot.node = await self.hosts.start(slot.name, slot.capacity)
        except Exception as exc:
            log.warning("conversation host %s did not start: %r", slot.name, exc)
            slot.started.set_exception(Unavailable(f"a conversation host did not start ({exc}): try again"))
            slot.started.exception()  # seen: its waiters get it
            self._slots.pop(slot.name, None)
            metrics().hosts(len(self._slots))
            return
        slot.empty_since = self._clock()
        slot.started.set_result(None)

    def _spares(self) -> int:
        """Hosts that count as spares: empty ones (``spread``), or any with room (``pack``)."""
        if self.spread:
            return sum(1 for s in self._slots.values() if s.load == 0 and not s.failed)
        return sum(1 for s in self._slots.values() if s.room > 0 and not s.failed)

    def _keep_spares(self) -> None:
        """Start hosts until there are ``spare_hosts`` spares (never past ``max_hosts``)."""
        spares = self._spares()
        while spares < self.spare_hosts and len(self._slots) < self.max_hosts:
            self._start(host_name(self._next_host))
            self._next_host += 1
            spares += 1

    async def _after_leaving(self, slot: HostSlot) -> None:
        """A conversation left ``slot`` (or never arrived): a solo host stops (its name is free when this
        returns); an empty host starts its idle time."""
        if slot.load > 0 or slot.name not in self._slots:
            return
        if self.solo:
            self._slots.pop(slot.name, None)
            await self._stop(slot.name)
        else:
            slot.empty_since = self._clock()

    def _lost(self, slot: HostSlot) -> None:
        """The host died: the conversations it held are no longer active (their next call activates them)."""
        log.warning(
            "conversation host %s is gone; its %d conversations go elsewhere", slot.name, len(slot.conversations)
        )
        for conversation_id in list(slot.conversations):
            self._unplace(conversation_id)
        self._slots.pop(slot.name, None)
        metrics().hosts(len(self._slots))

    async def _stop(self, name: str) -> None:
        try:
            await self.hosts.stop(name)
        except Exception:
            log.exception("conversation host %s could not be stopped", name)
        metrics().hosts(len(self._slots))

    def _idle_for(self, slot: HostSlot, now: float) -> float:
        """How long the host has held nothing (0 while it holds or expects a conversation)."""
        if slot.load > 0 or slot.empty_since is None:
            return 0.0
        return now - slot.empty_since

    async def _stop_idle_hosts(self) -> None:
        """Every so often, stop the hosts empty for ``idle_timeout_s`` that are not needed as spares."""
        interval = min(max(self.idle_timeout_s / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            async with self._capacity:
                now = self._clock()
                idle = [
                    s
                    for s in self._slots.values()
                    if s.load == 0
                    and s.ready
                    and s.empty_since is not None
                    and now - s.empty_since >= self.idle_timeout_s
                ]
                spares = self._spares()
                for slot in idle:
                    if spares <= self.spare_hosts:
                        break
                    del self._slots[slot.name]
                    spares -= 1
                    await self._stop(slot.name)
