"""Activation benchmark: starting conversation actors, loading long histories, and what each actor costs in memory.

Run from the repository root::

    python -m benchmarks.activation [--quick] [--max-active 32] [--messages 1000] [--out DIR]

Against ``python -m serve_app serve`` (a child with its own local Ray, ``activation.max_active``
set to ``--max-active``), with this process joined to that Ray as a driver so that it can
call the ``directory`` actor itself and time exactly one activation:

- cold activation: ``directory.activate`` of a new, empty conversation (then passivated);
- the first HTTP turn of a new conversation (activation included) against its second turn;
- re-activation of a passivated conversation of ``--messages`` messages (and of 10, for contrast),
  checking that the actor holds all of them;
- memory: ``--max-active`` conversations made active by one turn of the ``sim`` model, then one
  turn of the ``openai`` provider (its SDK loaded, as with a real model); USS and RSS of each
  ``ray::ConversationActor`` process, and the whole server's growth divided by their number;
- capacity: ``--overflow`` more conversations, each of which must evict the least recently used.

The baseline does the same in this process: plain ``Conversation`` objects on a real
``CheckpointStore`` (LanceDB) in the run's temporary directory, no Ray, no Serve.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.baseline import LocalClient, LocalRuntime
from benchmarks.checkpoints import message
from benchmarks.clients import HttpClient, create_conversations, http_client
from benchmarks.load import FAKE_KEY, FAKE_KEY_ENV

SHORT = 10
SEED_BATCH = 50
TARGETS = {"cold_activation_p50_s": 0.5, "reactivation_p50_s": 0.6, "uss_per_actor_mb": 70.0}


def catalog(fake_base_url: str) -> list[dict[str, Any]]:
    return [
        {"id": "sim-instant", "name": "sim/instant", "provider": "sim", "reply_tokens": 50},
        {
            "id": "openai-fake",
            "name": "openai/fake",
            "provider": "openai",
            "base_url": f"{fake_base_url}/v1",
            "api_key_env": FAKE_KEY_ENV,
        },
    ]


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def seed(append: Callable[[str, list[Any]], Awaitable[Any]], conversation_id: str, count: int) -> None:
    """Give a conversation ``count`` messages (a question, then its answer, alternately) in batches."""
    messages = [message(i) for i in range(count)]
    for start in range(0, count, SEED_BATCH):
        await append(conversation_id, messages[start : start + SEED_BATCH])


def memory_figures(processes: list[harness.ProcessMemory], before_uss: float, count: int) -> dict[str, Any]:
    actors = [p for p in processes if harness.process_group(p.name) == "ConversationActor"]
    total = sum(p.uss_mb for p in processes)
    return {
        "actors": len(actors),
        "uss_mb": harness.summary([p.uss_mb for p in actors]),
        "rss_mb": harness.summary([p.rss_mb for p in actors]),
        "server_uss_mb": total,
        "server_uss_growth_per_conversation_mb": (total - before_uss) / count if count else None,
    }


# --- the server ----------------------------------------------------------------------------------


async def server_side(server: harness.Server, args: argparse.Namespace) -> dict[str, Any]:
    os.environ["RAY_AUTH_MODE"] = "disabled"  # as the server's Ray runs; read when Ray is imported
    import ray

    ray.init(address=server.ray_address, namespace="penguin", log_to_driver=False, logging_level=logging.WARNING)
    try:
        return await _server_steps(server, args, ray)
    finally:
        ray.shutdown()


async def _server_steps(server: harness.Server, args: argparse.Namespace, ray: Any) -> dict[str, Any]:
    directory, store = ray.get_actor("directory"), ray.get_actor("checkpoints")

    async def activate(cid: str) -> None:
        if not await directory.activate.remote(cid):
            raise RuntimeError(f"conversation {cid} was already active")

    async def passivate(cid: str) -> None:
        if not await directory.passivate.remote(cid, "idle"):
            raise RuntimeError(f"conversation {cid} did not passivate")

    async def held(cid: str) -> int:
        return int((await ray.get_actor(f"conv:{cid}").status.remote())["message_count"])

    @ray.remote(num_cpus=0)
    class Empty:
        """An actor with nothing in it: what starting any actor takes on this machine."""

    async def empty_actor(name: str) -> None:  # started with the options the directory starts conversations with
        actor = Empty.options(name=name, namespace="penguin-bench", lifetime="detached", max_restarts=0).remote()
        await actor.__ray_ready__.remote()
        ray.kill(actor, no_restart=True)

    result: dict[str, Any] = {}
    async with http_client(server.base_url, 16) as http:
        cold, empty = [], []
        for i, cid in enumerate(await create_conversations(http, args.samples, "cold")):
            cold.append(await timed(partial(activate, cid)))
            await passivate(cid)
            empty.append(await timed(partial(empty_actor, f"empty-{i}")))
        result["cold_activation_s"] = harness.summary(cold)
        result["empty_actor_s"] = harness.summary(empty)
        print(
            f"[server] cold activation p50 {cold and harness.percentile(cold, 0.5):.3f} s,"
            f" an empty actor p50 {empty and harness.percentile(empty, 0.5):.3f} s",
            flush=True,
        )
        result |= await first_turns(http, await create_conversations(http, args.turn_samples, "first"), passivate)

        for count in (args.messages, SHORT):
            cid = (await store.create_conversation.remote(f"{count} messages", None)).id
            await seed(lambda c, m: store.append_messages.remote(c, m), cid, count)
            await activate(cid)
            await passivate(cid)
            samples = []
            for _ in range(args.repeat):
                samples.append(await timed(partial(activate, cid)))
                if await held(cid) != count:
                    raise RuntimeError(f"re-activated conversation {cid} holds {await held(cid)} messages, not {count}")
                await passivate(cid)
            result[f"reactivation_{count}_s"] = harness.summary(samples)
            print(f"[server] re-activation of {count} messages p50 {harness.percentile(samples, 0.5):.3f} s")

        before = sum(p.uss_mb for p in server.memory())
        ids = await create_conversations(http, args.max_active, "memory")
        for model in ("sim-instant", "openai-fake"):
            await turns(http, ids, model)
            await asyncio.sleep(1.0)  # let freed memory settle
            result[f"memory_after_{model}"] = memory_figures(server.memory(), before, len(ids))
        filled = await directory.stats.remote()
        available = harness.host_state()["memory_available_mb"]
        await turns(http, await create_conversations(http, args.overflow, "overflow"), "sim-instant")
        after = await directory.stats.remote()
    result["capacity"] = {
        "max_active": args.max_active,
        "active_when_filled": filled["active"],
        "overflow_activations": args.overflow,
        "active_after_overflow": after["active"],
        "evictions_by_overflow": after["evictions"] - filled["evictions"],
        "memory_available_mb_when_filled": available,
    }
    return result


async def first_turns(http: Any, ids: list[str], passivate: Callable[[str], Awaitable[None]]) -> dict[str, Any]:
    """The first turn of a new conversation (its activation included), then its second."""
    first: list[float] = []
    second: list[float] = []
    for cid in ids:
        client = HttpClient(http, cid)
        for samples in (first, second):
            result = await client.turn("hello, first words", "sim-instant")
            if result.error or result.latency is None:
                raise RuntimeError(f"turn on {cid} failed: {result.error}")
            samples.append(result.latency)
        await passivate(cid)
    return {"first_turn_s": harness.summary(first), "second_turn_s": harness.summary(second)}


async def turns(http: Any, ids: list[str], model: str) -> None:
    """One turn on each conversation, a few at a time; any failure stops the benchmark."""
    for start in range(0, len(ids), 4):
        results = await asyncio.gather(
            *(HttpClient(http, c).turn("hello there", model) for c in ids[start : start + 4])
        )
        failed = [r.error for r in results if r.error]
        if failed:
            raise RuntimeError(f"turns with {model} failed: {failed[:3]}")


# --- the baseline --------------------------------------------------------------------------------


async def baseline_side(config_path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    runtime = LocalRuntime(config_path, workdir, {FAKE_KEY_ENV: FAKE_KEY}, "lance")
    process = harness.psutil().Process()
    result: dict[str, Any] = {}
    try:
        cold = []
        for _ in range(args.samples):
            cid = await runtime.create("cold")
            cold.append(await timed(partial(runtime.activate, cid)))
            await runtime.passivate(cid)
        result["cold_activation_s"] = harness.summary(cold)
        first, second = [], []
        for _ in range(args.turn_samples):
            cid = await runtime.create("first")
            started = time.perf_counter()
            client = LocalClient(await runtime.activate(cid))
            answer = await client.turn("hello, first words", "sim-instant")
            first.append(time.perf_counter() - started)
            second.append((await client.turn("hello, first words", "sim-instant")).latency or 0.0)
            if answer.error:
                raise RuntimeError(f"baseline turn failed: {answer.error}")
            await runtime.passivate(client.conversation_id)
        result |= {"first_turn_s": harness.summary(first), "second_turn_s": harness.summary(second)}
        for count in (args.messages, SHORT):
            cid = await runtime.create(f"{count} messages")
            await seed(runtime.store.append_messages, cid, count)
            samples = []
            for _ in range(args.repeat):
                samples.append(await timed(partial(runtime.activate, cid)))
                if len(runtime.conversations[cid].history) != count:
                    raise RuntimeError(f"baseline conversation holds {len(runtime.conversations[cid].history)}")
                await runtime.passivate(cid)
            result[f"reactivation_{count}_s"] = harness.summary(samples)
        before = process.memory_full_info().uss / 2**20
        clients = [await runtime.client("memory") for _ in range(args.max_active)]
        for model in ("sim-instant", "openai-fake"):
            for client in clients:
                await _ok(client, model)
            uss = process.memory_full_info().uss / 2**20
            result[f"memory_after_{model}"] = {
                "process_uss_mb": uss,
                "uss_growth_per_conversation_mb": (uss - before) / len(clients),
            }
    finally:
        await runtime.close()
    return result


async def _ok(client: LocalClient, model: str) -> None:
    answer = await client.turn("hello there", model)
    if answer.error:
        raise RuntimeError(f"baseline turn with {model} failed: {answer.error}")


# --- the report ----------------------------------------------------------------------------------


def verdicts(server: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    uss = server["memory_after_openai-fake"]["uss_mb"]["p50"]
    measured = [
        ("cold activation p50 <= 0.5 s", server["cold_activation_s"]["p50"], TARGETS["cold_activation_p50_s"]),
        (
            f"re-activation of {args.messages} messages p50 <= 0.6 s",
            server[f"reactivation_{args.messages}_s"]["p50"],
            TARGETS["reactivation_p50_s"],
        ),
        ("USS per active conversation actor (p50, SDK loaded) <= 70 MB", uss, TARGETS["uss_per_actor_mb"]),
    ]
    return [
        {"target": name, "measured": value, "pass": value is not None and value <= limit}
        for name, value, limit in measured
    ]


def _ms(seconds: float | None) -> str:
    return harness.fmt(None if seconds is None else seconds * 1000, 2)


def markdown(report: dict[str, Any]) -> str:
    s, b, p = report["server"], report["baseline"], report["parameters"]
    rows = [
        ("cold activation (`directory.activate`, empty conversation)", "cold_activation_s"),
        ("an empty Ray actor, started and ready (Ray's own floor)", "empty_actor_s"),
        ("first HTTP turn of a new conversation (activation included)", "first_turn_s"),
        ("its second turn", "second_turn_s"),
        (f"re-activation, {p['messages']:,} messages", f"reactivation_{p['messages']}_s"),
        (f"re-activation, {SHORT} messages", f"reactivation_{SHORT}_s"),
    ]
    lines = [
        "| what | server p50 / p95 ms | baseline p50 / p95 ms | ratio p50 | samples |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in rows:
        if key not in s:  # a report from before the figure was taken
            continue
        sv, bv = s[key], b.get(key, {"p50": None, "p95": None})
        lines.append(
            f"| {label} | {harness.fmt(sv['p50'] * 1000)} / {harness.fmt(sv['p95'] * 1000)}"
            f" | {_ms(bv['p50'])} / {_ms(bv['p95'])}"
            f" | {harness.fmt(harness.ratio(sv['p50'], bv['p50']), 1, 'x')} | {sv['n']} |"
        )
    lines += [
        "",
        "| memory per active conversation | USS p50 / max MB | RSS p50 / max MB | server growth / conversation MB"
        " | baseline growth / conversation MB | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model in ("sim-instant", "openai-fake"):
        m, bm = s[f"memory_after_{model}"], b[f"memory_after_{model}"]
        growth, base = m["server_uss_growth_per_conversation_mb"], bm["uss_growth_per_conversation_mb"]
        lines.append(
            f"| after a `{model}` turn ({m['actors']} actors) | {harness.fmt(m['uss_mb']['p50'])} /"
            f" {harness.fmt(m['uss_mb']['max'])} | {harness.fmt(m['rss_mb']['p50'])} /"
            f" {harness.fmt(m['rss_mb']['max'])}"
            f" | {harness.fmt(growth)} | {harness.fmt(base, 2)} | {harness.fmt(harness.ratio(growth, base), 0, 'x')} |"
        )
    cap = s["capacity"]
    fit = report["fit_in_available_memory"]
    lines += [
        "",
        f"Capacity: with `max_active` {cap['max_active']}, {cap['active_when_filled']} conversations were active once"
        f" filled; {cap['overflow_activations']} more activations evicted {cap['evictions_by_overflow']} and left"
        f" {cap['active_after_overflow']} active. At {harness.fmt(fit['uss_per_actor_mb'])} MB USS per actor, the"
        f" {fit['available_mb']:,} MB then still available would hold about {fit['more_actors']:,} more.",
        "",
        "| target | server | verdict |",
        "|---|---:|---|",
    ]
    for verdict in report["targets"]:
        lines.append(
            f"| {verdict['target']} | {harness.fmt(verdict['measured'], 3)} |"
            f" {'pass' if verdict['pass'] else '**FAIL**'} |"
        )
    lines += [
        "",
        "Server: this process joined the server's Ray as a driver and timed `directory.activate` (actor start and"
        " history load) and `directory.passivate` between samples; turns went through `POST /chat/message`. USS is"
        " memory only that process holds (psutil). Baseline: plain `Conversation` objects in this process on a"
        " `CheckpointStore` (LanceDB) in a temporary directory; its memory is this process's USS growth.",
        harness.machine_line(report["machine"], report["host"]) + f" Run took {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    machine, host = harness.machine_info(("ray", "lancedb", "openai")), harness.host_state()
    sections = {"activation": {"max_active": args.max_active, "idle_timeout_s": 3600}}
    with tempfile.TemporaryDirectory(prefix="penguin-bench-activation-") as tmp:
        workdir = Path(tmp)
        with harness.FakeLLMProcess(workdir, words=20, first_token_delay_s=0, chunk_delay_s=0) as fake:
            config = harness.server_config(catalog(fake.base_url), "sim-instant", **sections)
            config_path = harness.write_config(workdir / "baseline" / "penguin.yaml", config)
            with harness.timed("baseline"):
                base = await baseline_side(config_path, workdir / "baseline", args)
            with harness.timed("server"), harness.Server(workdir / "server", config, {FAKE_KEY_ENV: FAKE_KEY}) as srv:
                served = await server_side(srv, args)
    uss = served["memory_after_openai-fake"]["uss_mb"]["p50"]
    available = served["capacity"]["memory_available_mb_when_filled"]
    report = {
        "benchmark": "activation",
        "quick": args.quick,
        "machine": machine,
        "host": host,
        "parameters": {
            k: getattr(args, k) for k in ("samples", "turn_samples", "repeat", "messages", "max_active", "overflow")
        }
        | {"settings": sections},
        "server": served,
        "baseline": base,
        "fit_in_available_memory": {
            "uss_per_actor_mb": uss,
            "available_mb": available,
            "more_actors": int(available // uss) if uss else None,
        },
        "total_seconds": time.perf_counter() - started,
    }
    report["targets"] = verdicts(served, args)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.activation", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few samples, max_active 3")
    parser.add_argument("--samples", type=int, help="cold activations timed (default 20; quick 3)")
    parser.add_argument("--turn-samples", type=int, help="new conversations whose first turn is timed (10; quick 2)")
    parser.add_argument("--repeat", type=int, help="re-activations timed per history length (10; quick 2)")
    parser.add_argument("--messages", type=int, default=1000, help="messages of the long conversation")
    parser.add_argument("--max-active", type=int, help="activation.max_active; as many actors are measured (32; 3)")
    parser.add_argument("--overflow", type=int, default=2, help="activations past max_active, each must evict one")
    parser.add_argument("--out", type=Path, help="results directory (default benchmarks/results, quick: .../quick)")
    args = parser.parse_args(argv)
    harness.match_ray_niceness()
    harness.fill_defaults(args, (("samples", 20, 3), ("turn_samples", 10, 2), ("repeat", 10, 2), ("max_active", 32, 3)))
    report = asyncio.run(run(args))
    harness.publish(args, "activation", "Activation benchmark", report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
