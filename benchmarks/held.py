"""Held memory: many conversations with some history, activated at once and held, and what they cost in memory.

``--held`` conversations of ``--held-messages`` messages each are created and seeded through
the store (``append_messages``, as the re-activation step seeds), then all activated at once
and held. Measured then: the USS of every process of the server's tree, its growth (from just
before the activations) over the held count, and the USS of the conversation processes (the
hosts, or in solo mode one actor per conversation) over the held count. The baseline holds the
same conversations as plain ``Conversation`` objects in this process: its own USS growth.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from benchmarks import harness
from benchmarks.baseline import LocalRuntime
from benchmarks.checkpoints import message

SEED_BATCH = 50  # messages per append_messages call
SEED_CONCURRENCY = 16  # conversations seeded at once (the store commits them together)
SETTLE_S = 1.0  # let freed memory settle before it is measured
SOLO_MOST = 32  # solo mode holds at most this many: a process each, and 1,000 do not fit on one machine

Append = Callable[[str, list[Any]], Awaitable[Any]]


def held_count(held: int, solo: bool) -> int:
    """The conversations a mode holds: all of them, or in solo mode at most ``SOLO_MOST``."""
    return min(held, SOLO_MOST) if solo else held


async def seed(append: Append, conversation_id: str, count: int) -> None:
    """Give a conversation ``count`` messages (a question, then its answer, alternately) in batches."""
    messages = [message(i) for i in range(count)]
    for start in range(0, count, SEED_BATCH):
        await append(conversation_id, messages[start : start + SEED_BATCH])


async def seeded(create: Callable[[str], Awaitable[str]], append: Append, count: int, messages: int) -> list[str]:
    """``count`` new conversations of ``messages`` messages each, a few at a time; their ids."""
    ids: list[str] = []
    for start in range(0, count, SEED_CONCURRENCY):
        batch = await asyncio.gather(*(create(f"held {i}") for i in range(start, min(count, start + SEED_CONCURRENCY))))
        await asyncio.gather(*(seed(append, cid, messages) for cid in batch))
        ids += batch
    return ids


async def hold(
    ids: Sequence[str], activate: Callable[[str], Awaitable[Any]], held: Callable[[str], Awaitable[int]], messages: int
) -> float:
    """Activate every conversation at once and check each holds its ``messages``; the seconds it took."""
    started = time.perf_counter()
    await asyncio.gather(*(activate(cid) for cid in ids))
    elapsed = time.perf_counter() - started
    counts = await asyncio.gather(*(held(cid) for cid in ids))
    wrong = [(cid, n) for cid, n in zip(ids, counts, strict=True) if n != messages]
    if wrong:
        raise RuntimeError(f"{len(wrong)} held conversations do not hold {messages} messages, e.g. {wrong[:3]}")
    return elapsed


def held_figures(processes: list[harness.ProcessMemory], before_uss: float, count: int) -> dict[str, Any]:
    """USS of all the server's processes, its growth per held conversation, and the conversation processes'."""
    hosts = [p for p in processes if harness.process_group(p.name) == harness.CONVERSATION_ROLE]
    total, hosts_uss = sum(p.uss_mb for p in processes), sum(p.uss_mb for p in hosts)
    by_role: dict[str, float] = {}
    for p in processes:
        by_role[harness.process_group(p.name)] = by_role.get(harness.process_group(p.name), 0.0) + p.uss_mb
    return {
        "conversations": count,
        "processes": len(processes),
        "conversation_processes": len(hosts),
        "all_uss_before_mb": before_uss,
        "all_uss_mb": total,
        "growth_mb": total - before_uss,
        "growth_per_conversation_mb": (total - before_uss) / count if count else None,
        "hosts_uss_mb": hosts_uss,
        "hosts_uss_per_conversation_mb": hosts_uss / count if count else None,
        "host_uss_mb": harness.summary([p.uss_mb for p in hosts]),
        "uss_by_role_mb": dict(sorted(by_role.items(), key=lambda item: -item[1])),
    }


async def hold_on_server(
    server: harness.Server,
    store: Any,
    activate: Callable[[str], Awaitable[Any]],
    held: Callable[[str], Awaitable[int]],
    count: int,
    messages: int,
) -> dict[str, Any]:
    """Seed ``count`` conversations through the store actor, hold them all, measure the server's memory
    (the growth from just before they are activated: what holding them costs, not storing them)."""
    unseeded = sum(p.uss_mb for p in await asyncio.to_thread(server.memory))

    async def create(title: str) -> str:
        return str((await store.create_conversation.remote(title, None)).id)

    ids = await seeded(create, lambda c, m: store.append_messages.remote(c, m), count, messages)
    await asyncio.sleep(SETTLE_S)
    before = sum(p.uss_mb for p in await asyncio.to_thread(server.memory))
    wall = await hold(ids, activate, held, messages)
    await asyncio.sleep(SETTLE_S)
    processes = await asyncio.to_thread(server.memory)
    print(
        f"held {count} conversations of {messages} messages: all processes {sum(p.uss_mb for p in processes):,.0f}"
        f" MB USS (activated in {wall:.1f} s)",
        flush=True,
    )
    seeding = {"messages": messages, "activation_wall_s": wall, "seeding_growth_mb": before - unseeded}
    return held_figures(processes, before, count) | seeding


async def hold_in_process(runtime: LocalRuntime, count: int, messages: int) -> dict[str, Any]:
    """The baseline: the same conversations held as ``Conversation`` objects; this process's USS growth."""
    process = harness.psutil().Process()
    ids = await seeded(runtime.create, runtime.store.append_messages, count, messages)
    before = process.memory_full_info().uss / 2**20

    async def held(cid: str) -> int:
        return len(runtime.conversations[cid].history)

    wall = await hold(ids, runtime.activate, held, messages)
    await asyncio.sleep(SETTLE_S)
    uss = process.memory_full_info().uss / 2**20
    return {
        "conversations": count,
        "messages": messages,
        "activation_wall_s": wall,
        "process_uss_mb": uss,
        "growth_mb": uss - before,
        "growth_per_conversation_mb": (uss - before) / count if count else None,
    }
