"""Soak benchmark: many conversations through a bounded set of them active; memory stays flat, nothing is lost.

Run from the repository root::

    python -m benchmarks.soak [--quick] [--conversations 500] [--turns 4] [--max-active 32] [--modes hosted,solo]

Against ``python -m serve_app serve`` (a child with its own local Ray, ``activation.max_active``
= ``--max-active``), once per mode (``modes.py``: ``hosted``, conversations many per host
process, and ``solo``, a Ray actor each), one server after the other: ``--concurrency`` HTTP
clients take conversations in turn and run each one's ``--turns`` turns (``POST /chat/message``,
a short sim reply), so every conversation is activated once and all but ``max_active`` of them
are evicted again. Meanwhile the unique (USS) and resident (RSS) memory of the server and every
process of its Ray is sampled, with the directory's count of active conversations. At the end
every conversation is read back (``GET /conversations/{id}``): each must hold its user messages
and the replies the client was given, in order. The memory slope is fitted after a warm-up (the
first conversations, while the active ones fill up to ``max_active`` and the first evictions
happen); the target is a fitted growth after warm-up of at most 50 MB (``soak_report.py``).

The baseline runs the same conversations in this process on plain ``Conversation`` objects
and a ``CheckpointStore`` on LanceDB (activated, turns, passivated), sampling this process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from benchmarks import harness, modes
from benchmarks.baseline import LocalClient, LocalRuntime, StoreKind
from benchmarks.clients import Client, HttpClient, TurnResult, create_conversations, http_client
from benchmarks.soak_report import FLAT_FRACTION, markdown, panels, verdicts

MODEL: dict[str, Any] = {
    "id": "sim-soak",
    "name": "sim/soak",
    "provider": "sim",
    "first_token_delay_s": 0.05,
    "tokens_per_s": 200,
    "reply_tokens": 20,
}


@dataclass
class Soak:
    """The run's progress, samples and outcomes, shared by the clients and the sampler."""

    turns: int
    conversations_done: int = 0
    turns_done: int = 0
    errors: list[str] = field(default_factory=list)
    said: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # conversation -> (text, reply) per turn
    samples: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    async def converse(self, client: Client) -> None:
        exchanged = self.said.setdefault(client.conversation_id, [])
        for k in range(self.turns):
            text = f"soak turn {k} of {client.conversation_id}: keep going"
            result: TurnResult = await client.turn(text, MODEL["id"])
            self.turns_done += 1
            if result.error is not None:
                self.errors.append(result.error)
                return
            exchanged.append((text, result.response))
        self.conversations_done += 1


# A conversation's client, and what to do when its turns are done (None: nothing).
Lease = tuple[Client, Callable[[], Awaitable[object]] | None]


async def drive(soak: Soak, leases: list[Callable[[], Awaitable[Lease]]], concurrency: int) -> None:
    """Run every conversation's turns, ``concurrency`` conversations at a time."""
    queue: asyncio.Queue[Callable[[], Awaitable[Lease]]] = asyncio.Queue()
    for lease in leases:
        queue.put_nowait(lease)

    async def worker() -> None:
        while not queue.empty():
            client, release = await queue.get_nowait()()
            await soak.converse(client)
            if release is not None:
                await release()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def sample_every(soak: Soak, interval_s: float, measure: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    while True:
        figures = await measure()
        soak.samples.append(
            {
                "t_s": time.perf_counter() - soak.started,
                "conversations": soak.conversations_done,
                "turns": soak.turns_done,
            }
            | figures
        )
        await asyncio.sleep(interval_s)


def memory_trend(samples: list[dict[str, Any]], warmup: int, key: str = "uss_mb") -> dict[str, Any]:
    """The memory after warm-up: mean, range, least-squares slopes (per conversation, turn and minute) and the
    fitted growth over the conversations done after warm-up."""
    kept = [s for s in samples if s["conversations"] >= warmup]
    xs, ys, ts = [s["conversations"] for s in kept], [s[key] for s in kept], [s["t_s"] for s in kept]
    turns = [s["turns"] for s in kept]
    per_conversation, per_second, per_turn = harness.slope(xs, ys), harness.slope(ts, ys), harness.slope(turns, ys)
    mean = sum(ys) / len(ys) if ys else None
    growth = per_conversation * (xs[-1] - xs[0]) if per_conversation is not None else None
    return {
        "samples_after_warmup": len(kept),
        "turns_after_warmup": turns[-1] - turns[0] if turns else None,
        "mean_mb": mean,
        "min_mb": min(ys) if ys else None,
        "max_mb": max(ys) if ys else None,
        "slope_mb_per_100_conversations": None if per_conversation is None else per_conversation * 100,
        "slope_mb_per_1000_turns": None if per_turn is None else per_turn * 1000,
        "slope_mb_per_minute": None if per_second is None else per_second * 60,
        "fitted_growth_mb": growth,
        "flat": None if growth is None or mean is None else abs(growth) <= FLAT_FRACTION * mean,
    }


def outcome(soak: Soak, stored: dict[str, list[tuple[str, str]]], warmup: int, elapsed: float) -> dict[str, Any]:
    """Errors, lost or altered messages, throughput and the memory trend of one side."""
    wrong = []
    for cid, exchanged in soak.said.items():
        if stored.get(cid) != exchanged:
            wrong.append(cid)
    trend = memory_trend(soak.samples, warmup)
    groups = sorted({g for s in soak.samples for g in s.get("by_group", {})})
    by_group = {}
    for group in groups:
        series = [s | {"g": s["by_group"].get(group, 0.0)} for s in soak.samples]
        by_group[group] = memory_trend(series, warmup, "g")
    return {
        "elapsed_s": elapsed,
        "conversations_done": soak.conversations_done,
        "turns_done": soak.turns_done,
        "turns_per_s": soak.turns_done / elapsed if elapsed else None,
        "errors": len(soak.errors),
        "error_samples": sorted(set(soak.errors))[:5],
        "conversations_not_stored_as_said": len(wrong),
        "not_stored_samples": wrong[:5],
        "memory": trend,
        "memory_by_group": by_group,
        "max_active_seen": max((s.get("active") or 0 for s in soak.samples), default=None),
        "samples": soak.samples,
    }


# --- the server ----------------------------------------------------------------------------------


async def server_side(server: harness.Server, args: argparse.Namespace, warmup: int) -> dict[str, Any]:
    async with http_client(server.base_url, args.concurrency + 4) as http:
        ids = await create_conversations(http, args.conversations, "soak")
        soak = Soak(args.turns)

        async def measure() -> dict[str, Any]:
            processes = await asyncio.to_thread(server.memory)
            info = (await http.get("/api/v1/system/info")).json()
            groups: dict[str, float] = {}
            for p in processes:
                groups[harness.process_group(p.name)] = groups.get(harness.process_group(p.name), 0.0) + p.uss_mb
            return {
                "uss_mb": sum(p.uss_mb for p in processes),
                "rss_mb": sum(p.rss_mb for p in processes),
                "processes": len(processes),
                "by_group": groups,
                "active": info["conversation_manager"].get("active_conversations"),
            }

        async def lease(cid: str) -> Lease:
            return HttpClient(http, cid), None

        started = time.perf_counter()
        sampler = asyncio.create_task(sample_every(soak, args.sample_interval, measure))
        try:
            await drive(soak, [partial(lease, cid) for cid in ids], args.concurrency)
        finally:
            sampler.cancel()
        elapsed = time.perf_counter() - started
        soak.samples.append(
            {"t_s": elapsed, "conversations": soak.conversations_done, "turns": soak.turns_done} | await measure()
        )
        read_errors: list[str] = []
        stored = {cid: await read_back(http, cid, read_errors) for cid in ids}
    return outcome(soak, stored, warmup, elapsed) | {
        "read_back_errors": len(read_errors),
        "read_back_error_samples": sorted(set(read_errors))[:5],
    }


async def read_back(http: httpx.AsyncClient, cid: str, errors: list[str]) -> list[tuple[str, str]]:
    """The conversation's (text, reply) pairs as stored; none, and the reason in ``errors``, if it cannot be read."""
    try:
        answer = await http.get(f"/api/v1/conversations/{cid}")
    except httpx.HTTPError as exc:
        errors.append(f"GET /conversations/{{id}}: {type(exc).__name__}: {exc}")
        return []
    if answer.status_code != 200:
        errors.append(f"GET /conversations/{{id}}: HTTP {answer.status_code}: {answer.text[:200]}")
        return []
    return pairs([(m["role"], m["content"]) for m in answer.json()["messages"]])


def pairs(messages: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(user text, reply) per turn, from the stored messages; anything else in between breaks the pairing."""
    found = []
    for i in range(0, len(messages) - 1, 2):
        (role_a, a), (role_b, b) = messages[i], messages[i + 1]
        if role_a != "user" or role_b != "assistant" or not isinstance(a, str) or not isinstance(b, str):
            found.append(("?", "?"))
            continue
        found.append((a, b))
    if len(messages) % 2:
        found.append(("?", "?"))
    return found


# --- the baseline --------------------------------------------------------------------------------


async def baseline_side(config_path: Path, workdir: Path, args: argparse.Namespace, warmup: int) -> dict[str, Any]:
    store: StoreKind = args.baseline_store
    runtime = LocalRuntime(config_path, workdir, {}, store)
    process = harness.psutil().Process()
    soak = Soak(args.turns)

    async def measure() -> dict[str, Any]:
        info = await asyncio.to_thread(process.memory_full_info)
        return {"uss_mb": info.uss / 2**20, "rss_mb": info.rss / 2**20, "active": len(runtime.conversations)}

    async def lease(cid: str) -> Lease:
        return LocalClient(await runtime.activate(cid)), lambda: runtime.passivate(cid)

    try:
        ids = [await runtime.create("soak") for _ in range(args.conversations)]
        started = time.perf_counter()
        sampler = asyncio.create_task(sample_every(soak, args.sample_interval, measure))
        try:
            await drive(soak, [partial(lease, cid) for cid in ids], args.concurrency)
        finally:
            sampler.cancel()
        elapsed = time.perf_counter() - started
        soak.samples.append(
            {"t_s": elapsed, "conversations": soak.conversations_done, "turns": soak.turns_done} | await measure()
        )
        stored = {}
        for cid in ids:
            messages = await runtime.store.load_messages(cid)
            stored[cid] = pairs([(m.role, m.content) for m in messages])
    finally:
        await runtime.close()
    return outcome(soak, stored, warmup, elapsed)


async def run(args: argparse.Namespace, run_modes: tuple[modes.Mode, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    machine, host = harness.machine_info(("ray", "lancedb")), harness.host_state()
    sections = {
        mode.name: {"activation": modes.activation(mode, args.max_active, idle_timeout_s=3600)} for mode in run_modes
    }
    warmup = min(max(2 * args.max_active, args.conversations // 5), args.conversations // 2)
    with tempfile.TemporaryDirectory(prefix="penguin-bench-soak-") as tmp:
        workdir = Path(tmp)

        def config_of(mode: modes.Mode) -> dict[str, Any]:
            return harness.server_config([MODEL], MODEL["id"], **sections[mode.name])

        config_path = harness.write_config(workdir / "baseline" / "penguin.yaml", config_of(run_modes[0]))
        with harness.timed("baseline"):
            base = await baseline_side(config_path, workdir / "baseline", args, warmup)

        async def serve(mode: modes.Mode, server: harness.Server) -> dict[str, Any]:
            return await server_side(server, args, warmup)

        served = await modes.each(run_modes, workdir, config_of, serve)
    parameters = {
        k: getattr(args, k)
        for k in ("conversations", "turns", "max_active", "concurrency", "sample_interval", "baseline_store")
    }
    report: dict[str, Any] = {
        "benchmark": "soak",
        "quick": args.quick,
        "machine": machine,
        "host": host,
        "parameters": parameters
        | {
            "warmup_conversations": warmup,
            "model": MODEL,
            "modes": [mode.name for mode in run_modes],
            "settings": sections.get(modes.HOSTED.name, sections[run_modes[0].name]),
            "settings_by_mode": sections,
        },
        **served,
        "baseline": base,
        "total_seconds": time.perf_counter() - started,
    }
    report["targets"] = verdicts(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 16 conversations of 2 turns, max_active 4")
    parser.add_argument("--conversations", type=int, help="conversations (default 500; quick 16)")
    parser.add_argument("--turns", type=int, help="turns per conversation (4; quick 2)")
    parser.add_argument("--max-active", type=int, help="activation.max_active (32; quick 4)")
    parser.add_argument("--concurrency", type=int, help="clients at a time (16; quick 4)")
    parser.add_argument("--sample-interval", type=float, help="seconds between memory samples (5; quick 1)")
    parser.add_argument("--baseline-store", choices=["memory", "lance"], default="lance", help="the baseline's store")
    parser.add_argument("--out", type=Path, help="results directory (default benchmarks/results, quick: .../quick)")
    modes.add_option(parser)
    args = parser.parse_args(argv)
    run_modes = modes.from_args(parser, args)
    harness.match_ray_niceness()
    defaults = (("conversations", 500, 16), ("turns", 4, 2), ("max_active", 32, 4), ("concurrency", 16, 4),
                ("sample_interval", 5.0, 1.0))  # fmt: skip
    harness.fill_defaults(args, defaults)
    report = asyncio.run(run(args, run_modes))
    chart = ("Penguin Actors soak: memory against conversations done", panels(report))
    harness.publish(args, "soak", "Soak benchmark", report, markdown(report), chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
