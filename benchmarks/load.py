"""Load benchmark: streamed, HTTP and cold turns and relay throughput, against an in-process baseline.

Run from the repository root::

    python -m benchmarks.load [--quick] [--scenarios ws-sim,relay] [--clients 1,8,32,64] [--modes hosted,solo]

It starts a fake LLM process (for the ``openai`` provider's real SDK path) and runs every
scenario first in this process with no Ray, no Serve and no HTTP (``baseline.py``), then
against ``python -m serve_app serve`` started as a child with its own local Ray, once per
mode (``modes.py``: ``hosted``, many conversations per Ray actor, and ``solo``, one each),
one server after the other. Each client of a warm scenario owns one conversation, created
and warmed up (one turn with the scenario's model) before it is measured. A round is one
turn per client, all sent at once; its wall time runs from the first send to the last
turn's end. Scenarios (``scenarios.py``):

- ``ws-sim``, ``ws-openai``: streamed over ``WebSocket /api/v1/chat/stream``; time to first
  token (TTFT) and its overhead over the model's own first-token delay, wall against ideal.
- ``http-sim``, ``http-instant``, ``http-1s``: ``POST /api/v1/chat/message``; latency, wall, turns/s.
- ``relay``: streams from a fast model; tokens, frames and tokens per frame delivered per second.
- ``http-cold``, ``ws-cold`` (``cold.py``): every turn goes to a conversation created just
  before it; the first message alone, create and first message together, the round's wall.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import harness, modes
from benchmarks.baseline import LocalRuntime, StoreKind
from benchmarks.clients import Client, HttpClient, WsClient, create_conversations, http_client
from benchmarks.cold import ColdClients, local_clients, run_cold_step, server_clients
from benchmarks.load_report import TARGETS, evaluate, markdown, panels
from benchmarks.profile import Profiler
from benchmarks.profile import Target as ProfileTarget
from benchmarks.scenarios import (
    FAKE_KEY,
    FAKE_KEY_ENV,
    FULL_SHAPES,
    QUICK_SHAPES,
    SCENARIOS,
    Scenario,
    Shape,
    Transport,
    catalog,
    quick_scenarios,
    settings_sections,
    within_solo,
)
from benchmarks.steps import Pool, ratios, run_step


async def run_side(
    pool: Pool, cold: ColdClients, scenarios: Sequence[Scenario], shapes: dict[str, Shape], side: str
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for scenario in scenarios:
        for count in scenario.clients:
            started = time.monotonic()
            shape = shapes[scenario.model]
            if scenario.cold:
                figures = await run_cold_step(cold, pool.profile, scenario, count, shape)
            else:
                figures = await run_step(pool, scenario, count, shape)
            results.setdefault(scenario.name, {})[str(count)] = figures
            elapsed = time.monotonic() - started
            print(f"[{side}] {scenario.name} N={count}: {progress(scenario, figures)} ({elapsed:.1f} s)", flush=True)
    return results


def progress(scenario: Scenario, figures: dict[str, Any]) -> str:
    """One line on a step's outcome, as it ends."""
    overhead = figures["ttft_overhead_ms"]["p50"] if scenario.transport == "ws" else None
    line = (
        f"{figures['turns']} turns, {figures['errors']} errors, latency p50 {harness.fmt(figures['latency_ms']['p50'])}"
        f" ms, TTFT overhead p50 {harness.fmt(overhead)} ms"
    )
    if scenario.cold:
        together, wall = figures["create_first_ms"]["p50"], figures["wall_s"]["p50"]
        return line + f", create + first p50 {harness.fmt(together)} ms, round wall p50 {harness.fmt(wall, 3)} s"
    return line + f", wall/ideal {harness.fmt((figures['wall_over_ideal'] or {}).get('p50'), 2)}"


async def baseline_side(
    workdir: Path, config: dict[str, Any], scenarios: Sequence[Scenario], shapes: dict[str, Shape], store: StoreKind
) -> tuple[dict[str, Any], list[str]]:
    config_path = harness.write_config(workdir / "penguin.yaml", config)
    runtime = LocalRuntime(config_path, workdir, {FAKE_KEY_ENV: FAKE_KEY}, store)

    async def make(transport: Transport, count: int) -> list[Client]:
        return [await runtime.client(f"baseline {i}") for i in range(count)]

    pool = Pool(make)
    try:
        return await run_side(pool, local_clients(runtime), scenarios, shapes, "baseline"), pool.warmup_errors
    finally:
        await runtime.close()


async def server_side(
    server: harness.Server,
    mode: modes.Mode,
    scenarios: Sequence[Scenario],
    shapes: dict[str, Shape],
    profile: tuple[ProfileTarget, Profiler] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    if mode.solo:
        scenarios = within_solo(scenarios)
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
            cold = server_clients(http, server.ws_url)
            return await run_side(pool, cold, scenarios, shapes, mode.name), pool.warmup_errors
        finally:
            for client in pool.clients.get("ws", []):
                assert isinstance(client, WsClient)
                await client.close()


def combine(
    scenarios: Sequence[Scenario], shapes: dict[str, Shape], base: dict[str, Any], served: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Each scenario's steps: the baseline, each mode's figures under its key, and their ratios to the baseline
    (``ratio`` for hosted, as before modes; ``solo_ratio``)."""
    results: dict[str, Any] = {}
    for scenario in scenarios:
        steps = {}
        for n in map(str, scenario.clients):
            b = base[scenario.name][n]
            step: dict[str, Any] = {"baseline": b}
            for key, figures in served.items():
                s = figures.get(scenario.name, {}).get(n)
                if s is None:  # a step this mode does not run (solo: past SOLO_MAX_CLIENTS)
                    continue
                step[key] = s
                step["ratio" if key == modes.HOSTED.key else f"{key}_ratio"] = ratios(s, b)
            steps[n] = step
        results[scenario.name] = {
            "transport": scenario.transport,
            "model": scenario.model,
            "shape": vars(shapes[scenario.model]) | {"ideal_s": shapes[scenario.model].ideal_s},
            "rounds": scenario.rounds,
            "what": scenario.what,
            "cold": scenario.cold,
            "steps": steps,
        }
    return results


async def run(
    args: argparse.Namespace, scenarios: tuple[Scenario, ...], run_modes: Sequence[modes.Mode]
) -> dict[str, Any]:
    started = time.perf_counter()
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    fake_shape = shapes["openai-stream"]
    machine, host = harness.machine_info(("ray", "openai", "websockets", "httpx")), harness.host_state()
    sections = {mode.name: settings_sections(scenarios, mode) for mode in run_modes}
    warmups: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="penguin-bench-load-") as tmp:
        workdir = Path(tmp)
        fake = harness.FakeLLMProcess(
            workdir, words=fake_shape.tokens, first_token_delay_s=fake_shape.first_s, chunk_delay_s=1 / fake_shape.rate
        )
        with fake:
            models = catalog(shapes, fake.base_url)

            def config_of(mode: modes.Mode) -> dict[str, Any]:
                return harness.server_config(models, "sim-stream", **sections[mode.name])

            with harness.timed("baseline"):
                base, warmups["baseline"] = await baseline_side(
                    workdir / "baseline", config_of(run_modes[0]), scenarios, shapes, args.baseline_store
                )

            async def serve(mode: modes.Mode, server: harness.Server) -> dict[str, Any]:
                figures, warmups[mode.key] = await server_side(server, mode, scenarios, shapes, profile_of(args, mode))
                return figures

            served = await modes.each(run_modes, workdir, config_of, serve, {FAKE_KEY_ENV: FAKE_KEY})
    first = sections[run_modes[0].name]
    report = {
        "benchmark": "load",
        "quick": args.quick,
        "machine": machine,
        "host": host,
        "parameters": {
            "scenarios": [s.name for s in scenarios],
            "modes": [mode.name for mode in run_modes],
            "baseline_store": args.baseline_store,
            "settings": sections.get(modes.HOSTED.name, first),
            "settings_by_mode": sections,
            "dropped_settings": harness.dropped_keys(**first),
            "fake_llm": {
                "words": fake_shape.tokens,
                "first_token_delay_s": fake_shape.first_s,
                "chunk_delay_s": 1 / fake_shape.rate,
            },
        },
        "results": combine(scenarios, shapes, base, served),
        "warmup_errors": warmups,
        "total_seconds": time.perf_counter() - started,
    }
    report["targets"] = evaluate(report, TARGETS)
    return report


def profile_of(args: argparse.Namespace, mode: modes.Mode) -> tuple[ProfileTarget, Profiler] | None:
    """The step to sample with py-spy, into ``profile/<mode>/`` beside the results."""
    if not args.profile:
        return None
    out = harness.results_dir(args.out, args.quick) / "profile" / mode.name
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
    modes.add_option(parser)
    args = parser.parse_args(argv)
    run_modes = modes.from_args(parser, args)
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
    report = asyncio.run(run(args, scenarios, run_modes))
    chart = ("Penguin Actors: latency against concurrency", panels(report))
    harness.publish(args, "load", "Load benchmark", report, markdown(report), chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
