"""One load step (a scenario at N clients): its warm clients, its measured rounds, and its figures.

A round is one turn per client, all sent at once; its wall time runs from the first send to
the last turn's end. Every step also measures the CPU time of every process by role during
its rounds, and (``--profile``) samples the server's processes with py-spy.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from benchmarks import harness
from benchmarks.clients import Client, TurnResult
from benchmarks.profile import Profiler
from benchmarks.profile import Target as ProfileTarget
from benchmarks.scenarios import Scenario, Shape, Transport

R = TypeVar("R")


@dataclass
class Pool:
    """Clients by transport, each on its own conversation, created on first need; which are warm for which model."""

    make: Callable[[Transport, int], Awaitable[list[Client]]]  # (transport, count) -> new clients
    profile: tuple[ProfileTarget, Profiler] | None = None  # the step to sample with py-spy, and how
    clients: dict[Transport, list[Client]] = field(default_factory=dict)
    warm: set[tuple[Transport, str, str]] = field(default_factory=set)
    warmup_errors: list[str] = field(default_factory=list)

    async def take(self, transport: Transport, count: int, model: str) -> list[Client]:
        have = self.clients.setdefault(transport, [])
        if len(have) < count:
            have += await self.make(transport, count - len(have))
        chosen = have[:count]
        cold = [c for c in chosen if (transport, c.conversation_id, model) not in self.warm]
        results = await asyncio.gather(*(c.turn("warm up: hello", model) for c in cold))
        for client, result in zip(cold, results, strict=True):
            if result.error is None:
                self.warm.add((transport, client.conversation_id, model))
            else:
                self.warmup_errors.append(result.error)
        return chosen


async def run_step(pool: Pool, scenario: Scenario, count: int, shape: Shape) -> dict[str, Any]:
    """A warm step: ``count`` clients of the pool, warmed up with the scenario's model, then its rounds."""
    clients = await pool.take(scenario.transport, count, scenario.model)

    async def one_round(r: int) -> list[TurnResult]:
        texts = [f"load test {scenario.name}, client {i}, round {r}: how is it going?" for i in range(count)]
        return await asyncio.gather(*(c.turn(t, scenario.model) for c, t in zip(clients, texts, strict=True)))

    rounds, usage = await measured(pool.profile, scenario, count, one_round)
    return step_figures(rounds, shape) | usage


async def measured(
    profile: tuple[ProfileTarget, Profiler] | None,
    scenario: Scenario,
    count: int,
    one_round: Callable[[int], Awaitable[R]],
) -> tuple[list[R], dict[str, Any]]:
    """Run a step's rounds; what they were, and the CPU they used by role (and py-spy's profile, if asked)."""
    cpu_before, started = machine_cpu(), time.monotonic()
    profiler = profile[1] if profile and profile[0] == ProfileTarget(scenario.name, count) else None
    if profiler is not None:
        profiler.start(cpu_before)
    rounds = [await one_round(r) for r in range(scenario.rounds)]
    elapsed = time.monotonic() - started
    usage: dict[str, Any] = {
        "cpu": cpu_figures(harness.cpu_by_role(cpu_before, machine_cpu()), elapsed, scenario.rounds * count)
    }
    if profiler is not None:
        usage["profile"] = profiler.stop()
    return rounds, usage


def machine_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of this process (the clients, the baseline) and its children (the server, the fake LLM)."""
    return harness.tree_cpu(os.getpid())


def cpu_figures(by_role: dict[str, float], elapsed_s: float, turns: int) -> dict[str, Any]:
    """Where a step's CPU time went: seconds by process role, per turn, and the share of the machine used."""
    total = sum(by_role.values())
    return {
        "seconds_by_role": {role: round(seconds, 3) for role, seconds in by_role.items()},
        "total_s": round(total, 3),
        "ms_per_turn": round(total / turns * 1000, 2) if turns else None,
        "machine_share": round(total / elapsed_s / (os.cpu_count() or 1), 3) if elapsed_s else None,
    }


def step_figures(rounds: list[list[TurnResult]], shape: Shape, walls: Sequence[float] | None = None) -> dict[str, Any]:
    """Errors, TTFT, latency, wall (``walls``, else first send to last end of each round) and throughput."""
    turns = [t for r in rounds for t in r]
    ok = [t for t in turns if t.error is None]
    if walls is None:
        walls = [max(t.done or t.sent for t in r) - min(t.sent for t in r) for r in rounds]
    ttft = [t.ttft * 1000 for t in ok if t.ttft is not None]
    latency = [t.latency * 1000 for t in ok if t.latency is not None]
    per_round = [
        (sum(t.tokens for t in r if t.error is None), sum(t.token_frames for t in r), w)
        for r, w in zip(rounds, walls, strict=True)
    ]
    errors = [t.error for t in turns if t.error is not None]
    token_frames = sum(t.token_frames for t in ok)
    return {
        "turns": len(turns),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "ttft_ms": harness.summary(ttft),
        "ttft_overhead_ms": harness.summary([x - shape.first_s * 1000 for x in ttft]),
        "latency_ms": harness.summary(latency),
        "latency_overhead_ms": harness.summary([x - shape.ideal_s * 1000 for x in latency]),
        "wall_s": harness.summary(walls),
        "wall_over_ideal": harness.summary([w / shape.ideal_s for w in walls]) if shape.ideal_s else None,
        "turns_per_s": len(ok) / sum(walls) if sum(walls) else None,
        "tokens_per_s": harness.summary([tokens / w for tokens, _, w in per_round if w]),
        "frames_per_s": harness.summary([frames / w for _, frames, w in per_round if w]),
        "tokens_per_frame": sum(t.tokens for t in ok) / token_frames if token_frames else None,
    }


RATIO_KEYS = (
    ("ttft_ms", "p50"), ("ttft_ms", "p99"), ("ttft_overhead_ms", "p50"), ("ttft_overhead_ms", "p99"),
    ("latency_ms", "p50"), ("latency_ms", "p99"), ("latency_overhead_ms", "p50"), ("wall_s", "p50"),
    ("wall_over_ideal", "p50"), ("tokens_per_s", "p50"), ("frames_per_s", "p50"), ("create_first_ms", "p50"),
    ("create_first_ms", "p99"),
)  # fmt: skip


def ratios(server: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    """Each figure of a server's step over the baseline's."""
    found: dict[str, float | None] = {}
    for key, stat in RATIO_KEYS:
        value, reference = (server.get(key) or {}).get(stat), (base.get(key) or {}).get(stat)
        found[f"{key}.{stat}"] = harness.ratio(value, reference)
    found["turns_per_s"] = harness.ratio(server["turns_per_s"], base["turns_per_s"])
    found["tokens_per_frame"] = harness.ratio(server["tokens_per_frame"], base["tokens_per_frame"])
    return found
