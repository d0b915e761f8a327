"""Load benchmark: concurrent streamed turns, HTTP turns and relay throughput, against an in-process baseline.

Run from the repository root::

    python -m benchmarks.load [--quick] [--scenarios ws-sim,relay] [--clients 1,8,32,64] [--out DIR]

It starts a fake LLM process (for the ``openai`` provider's real SDK path) and runs every
scenario twice: first in this process with no Ray, no Serve and no HTTP (``baseline.py``),
then against ``python -m serve_app serve`` started as a child with its own local Ray. Each
client owns one conversation, created and warmed up (one turn with the scenario's model)
before it is measured. A round is one turn per client, all sent at once; its wall time runs
from the first send to the last turn's end. Scenarios:

- ``ws-sim``, ``ws-openai``: streamed over ``WebSocket /api/v1/chat/stream``; time to first
  token (TTFT) and its overhead over the model's own first-token delay, wall against ideal.
- ``http-sim``, ``http-instant``, ``http-1s``: ``POST /api/v1/chat/message``; latency, wall, turns/s.
- ``relay``: streams from a fast model; tokens, frames and tokens per frame delivered per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from benchmarks import harness
from benchmarks.baseline import LocalRuntime, StoreKind
from benchmarks.clients import Client, HttpClient, TurnResult, WsClient, create_conversations, http_client
from benchmarks.load_report import TARGETS, evaluate, markdown, panels
from benchmarks.profile import Profiler
from benchmarks.profile import Target as ProfileTarget

FAKE_KEY_ENV = "BENCH_FAKE_LLM_KEY"  # not PENGUIN_*: those are settings
FAKE_KEY = "sk-bench-fake-llm"
Transport = Literal["ws", "http"]


@dataclass(frozen=True)
class Shape:
    """A model's pace: the first token after ``first_s``, then ``tokens`` in all at ``rate`` a second."""

    first_s: float
    rate: float
    tokens: int

    @property
    def ideal_s(self) -> float:
        """The model's own time for one turn: its last token is due then."""
        return self.first_s + ((self.tokens - 1) / self.rate if self.rate else 0.0)

    def sim(self, model_id: str) -> dict[str, Any]:
        return {
            "id": model_id,
            "name": f"sim/{model_id}",
            "provider": "sim",
            "first_token_delay_s": self.first_s,
            "tokens_per_s": self.rate,
            "reply_tokens": self.tokens,
            "max_tokens": max(4096, self.tokens),
        }


@dataclass(frozen=True)
class Scenario:
    name: str
    transport: Transport
    model: str
    clients: tuple[int, ...]
    rounds: int
    what: str


FULL_SHAPES = {
    "sim-stream": Shape(0.2, 50, 100),
    "openai-stream": Shape(0.2, 50, 100),  # the fake LLM: 100 one-word chunks, 20 ms apart
    "sim-instant": Shape(0.0, 0, 50),
    "sim-1s": Shape(0.2, 50, 41),
    "sim-relay": Shape(0.0, 1000, 2000),
}
QUICK_SHAPES = FULL_SHAPES | {  # the same first-token delays and rates, shorter replies
    "sim-stream": Shape(0.2, 50, 11),
    "openai-stream": Shape(0.2, 50, 11),
    "sim-1s": Shape(0.2, 50, 11),
    "sim-relay": Shape(0.0, 1000, 300),
}
SCENARIOS = (
    Scenario("ws-sim", "ws", "sim-stream", (1, 8, 32, 64), 5, "WebSocket, sim: 200 ms to first token, 50 tokens/s"),
    Scenario("ws-openai", "ws", "openai-stream", (1, 8, 32, 64), 5, "WebSocket, openai SDK against the fake LLM"),
    Scenario("http-sim", "http", "sim-stream", (1, 8, 32, 64), 5, "POST /chat/message, the same sim"),
    Scenario("http-instant", "http", "sim-instant", (1, 8, 32), 30, "POST /chat/message, 50 tokens at once"),
    Scenario("http-1s", "http", "sim-1s", (1, 8, 32, 64), 5, "POST /chat/message, ~1 s replies"),
    Scenario("relay", "ws", "sim-relay", (32,), 3, "WebSocket, sim at 1,000 tokens/s per stream"),
)
QUICK_CLIENTS = (1, 4)
QUICK_ROUNDS = {"http-instant": 5}


def quick_scenarios() -> tuple[Scenario, ...]:
    return tuple(
        replace(
            s,
            clients=(4,) if s.name == "relay" else QUICK_CLIENTS,
            rounds=QUICK_ROUNDS.get(s.name, 1),
        )
        for s in SCENARIOS
    )


def catalog(shapes: dict[str, Shape], fake_base_url: str) -> list[dict[str, Any]]:
    models = [shape.sim(model_id) for model_id, shape in shapes.items() if model_id.startswith("sim-")]
    models.append(
        {
            "id": "openai-stream",
            "name": "openai/fake-stream",
            "provider": "openai",
            "base_url": f"{fake_base_url}/v1",
            "api_key_env": FAKE_KEY_ENV,
        }
    )
    return models


def settings_sections(max_clients: int) -> dict[str, dict[str, Any]]:
    """What the benchmark changes from the defaults: room for every client, no per-client limits."""
    return {
        "activation": {"max_active": max(64, 2 * max_clients), "idle_timeout_s": 3600},
        "limits": {"max_websockets_per_client": 0, "ws_messages_per_minute": 0, "requests_per_minute": 0},
    }


@dataclass
class Pool:
    """Clients by transport, each on its own conversation, created on first need; which are warm for which model."""

    make: Callable[[Transport, int], Any]  # async: (transport, count) -> new clients
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
    clients = await pool.take(scenario.transport, count, scenario.model)
    rounds: list[list[TurnResult]] = []
    cpu_before, started = machine_cpu(), time.monotonic()
    profiler = pool.profile[1] if pool.profile and pool.profile[0] == ProfileTarget(scenario.name, count) else None
    if profiler is not None:
        profiler.start(cpu_before)
    for r in range(scenario.rounds):
        texts = [f"load test {scenario.name}, client {i}, round {r}: how is it going?" for i in range(count)]
        rounds.append(await asyncio.gather(*(c.turn(t, scenario.model) for c, t in zip(clients, texts, strict=True))))
    elapsed = time.monotonic() - started
    figures = step_figures(rounds, shape)
    figures["cpu"] = cpu_figures(harness.cpu_by_role(cpu_before, machine_cpu()), elapsed, figures["turns"])
    if profiler is not None:
        figures["profile"] = profiler.stop()
    return figures


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


def step_figures(rounds: list[list[TurnResult]], shape: Shape) -> dict[str, Any]:
    turns = [t for r in rounds for t in r]
    ok = [t for t in turns if t.error is None]
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
    ("wall_over_ideal", "p50"), ("tokens_per_s", "p50"), ("frames_per_s", "p50"),
)  # fmt: skip


def ratios(server: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for key, stat in RATIO_KEYS:
        value, reference = (server.get(key) or {}).get(stat), (base.get(key) or {}).get(stat)
        found[f"{key}.{stat}"] = harness.ratio(value, reference)
    found["turns_per_s"] = harness.ratio(server["turns_per_s"], base["turns_per_s"])
    found["tokens_per_frame"] = harness.ratio(server["tokens_per_frame"], base["tokens_per_frame"])
    return found


async def run_side(pool: Pool, scenarios: Sequence[Scenario], shapes: dict[str, Shape], side: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for scenario in scenarios:
        for count in scenario.clients:
            started = time.monotonic()
            figures = await run_step(pool, scenario, count, shapes[scenario.model])
            results.setdefault(scenario.name, {})[str(count)] = figures
            overhead = figures["ttft_overhead_ms"]["p50"] if scenario.transport == "ws" else None
            print(
                f"[{side}] {scenario.name} N={count}: {figures['turns']} turns, {figures['errors']} errors,"
                f" latency p50 {harness.fmt(figures['latency_ms']['p50'])} ms,"
                f" TTFT overhead p50 {harness.fmt(overhead)} ms,"
                f" wall/ideal {harness.fmt((figures['wall_over_ideal'] or {}).get('p50'), 2)}"
                f" ({time.monotonic() - started:.1f} s)",
                flush=True,
            )
    return results


async def baseline_side(
    workdir: Path, config: dict[str, Any], scenarios: Sequence[Scenario], shapes: dict[str, Shape], store: StoreKind
) -> tuple[dict[str, Any], list[str]]:
    config_path = harness.write_config(workdir / "penguin.yaml", config)
    runtime = LocalRuntime(config_path, workdir, {FAKE_KEY_ENV: FAKE_KEY}, store)

    async def make(transport: Transport, count: int) -> list[Client]:
        return [await runtime.client(f"baseline {i}") for i in range(count)]

    pool = Pool(make)
    try:
        return await run_side(pool, scenarios, shapes, "baseline"), pool.warmup_errors
    finally:
        await runtime.close()


async def server_side(
    server: harness.Server,
    scenarios: Sequence[Scenario],
    shapes: dict[str, Shape],
    profile: tuple[ProfileTarget, Profiler] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    most = max(n for s in scenarios for n in s.clients)
    async with http_client(server.base_url, most + 8) as http:
        conversations: list[str] = []

        async def make(transport: Transport, count: int) -> list[Client]:
            have = len(pool.clients.get(transport, []))
            if have + count > len(conversations):
                conversations.extend(await create_conversations(http, have + count - len(conversations), "load"))
            ids = conversations[have : have + count]
            if transport == "http":
                return [HttpClient(http, i) for i in ids]
            sockets = [WsClient(server.ws_url, i) for i in ids]
            await asyncio.gather(*(s.open() for s in sockets))
            return list(sockets)

        pool = Pool(make, profile)
        try:
            return await run_side(pool, scenarios, shapes, "server"), pool.warmup_errors
        finally:
            for client in pool.clients.get("ws", []):
                assert isinstance(client, WsClient)
                await client.close()


async def run(args: argparse.Namespace, scenarios: Sequence[Scenario]) -> dict[str, Any]:
    started = time.perf_counter()
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    fake_shape = shapes["openai-stream"]
    machine, host = harness.machine_info(("ray", "openai", "websockets", "httpx")), harness.host_state()
    most = max(n for s in scenarios for n in s.clients)
    sections = settings_sections(most)
    with tempfile.TemporaryDirectory(prefix="penguin-bench-load-") as tmp:
        workdir = Path(tmp)
        fake = harness.FakeLLMProcess(
            workdir, words=fake_shape.tokens, first_token_delay_s=fake_shape.first_s, chunk_delay_s=1 / fake_shape.rate
        )
        with fake:
            config = harness.server_config(catalog(shapes, fake.base_url), "sim-stream", **sections)
            with harness.timed("baseline"):
                base, base_warmup = await baseline_side(
                    workdir / "baseline", config, scenarios, shapes, args.baseline_store
                )
            with harness.timed("server"), harness.Server(workdir / "server", config, {FAKE_KEY_ENV: FAKE_KEY}) as srv:
                served, served_warmup = await server_side(srv, scenarios, shapes, profile_of(args))
    results: dict[str, Any] = {}
    for scenario in scenarios:
        steps = {}
        for n in map(str, scenario.clients):
            s, b = served[scenario.name][n], base[scenario.name][n]
            steps[n] = {"server": s, "baseline": b, "ratio": ratios(s, b)}
        results[scenario.name] = {
            "transport": scenario.transport,
            "model": scenario.model,
            "shape": vars(shapes[scenario.model]) | {"ideal_s": shapes[scenario.model].ideal_s},
            "rounds": scenario.rounds,
            "what": scenario.what,
            "steps": steps,
        }
    report = {
        "benchmark": "load",
        "quick": args.quick,
        "machine": machine,
        "host": host,
        "parameters": {
            "scenarios": [s.name for s in scenarios],
            "baseline_store": args.baseline_store,
            "settings": sections,
            "dropped_settings": harness.dropped_keys(**sections),
            "fake_llm": {
                "words": fake_shape.tokens,
                "first_token_delay_s": fake_shape.first_s,
                "chunk_delay_s": 1 / fake_shape.rate,
            },
        },
        "results": results,
        "warmup_errors": {"server": served_warmup, "baseline": base_warmup},
        "total_seconds": time.perf_counter() - started,
    }
    report["targets"] = evaluate(report, TARGETS)
    return report


def profile_of(args: argparse.Namespace) -> tuple[ProfileTarget, Profiler] | None:
    if not args.profile:
        return None
    out = harness.results_dir(args.out, args.quick) / "profile"
    return ProfileTarget.parse(args.profile), Profiler(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: N = 1 and 4, one round, short replies")
    parser.add_argument("--scenarios", help="comma-separated subset of: " + ", ".join(s.name for s in SCENARIOS))
    parser.add_argument("--clients", help="concurrency levels for every scenario but relay, e.g. 1,8,32,64")
    parser.add_argument("--rounds", type=int, help="measured rounds per step (default: per scenario)")
    parser.add_argument(
        "--baseline-store",
        choices=["memory", "lance"],
        default="memory",
        help="the baseline's store: in memory, or a CheckpointStore on LanceDB in process",
    )
    parser.add_argument("--out", type=Path, help="results directory (default benchmarks/results, quick: .../quick)")
    parser.add_argument(
        "--profile",
        metavar="SCENARIO:N",
        help="sample the server's processes with py-spy during that step, e.g. ws-sim:64 (pip install py-spy)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        try:
            ProfileTarget.parse(args.profile)
        except ValueError as exc:
            parser.error(str(exc))
        if not Profiler.available():
            parser.error("--profile needs py-spy on PATH: pip install py-spy")
    harness.match_ray_niceness()
    scenarios = quick_scenarios() if args.quick else SCENARIOS
    if args.scenarios:
        wanted = {name.strip() for name in args.scenarios.split(",") if name.strip()}
        unknown = wanted - {s.name for s in SCENARIOS}
        if unknown:
            parser.error(f"unknown scenarios {sorted(unknown)}: choose from {[s.name for s in SCENARIOS]}")
        scenarios = tuple(s for s in scenarios if s.name in wanted)
    if args.clients:
        levels = tuple(sorted({int(x) for x in args.clients.split(",") if x.strip()}))
        scenarios = tuple(s if s.name == "relay" else replace(s, clients=levels) for s in scenarios)
    if args.rounds:
        scenarios = tuple(replace(s, rounds=args.rounds) for s in scenarios)
    report = asyncio.run(run(args, scenarios))
    chart = ("Penguin Actors: latency against concurrency", panels(report))
    harness.publish(args, "load", "Load benchmark", report, markdown(report), chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
