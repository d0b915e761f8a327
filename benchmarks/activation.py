"""Activation benchmark: activating conversations, loading long histories, and what held conversations cost in memory.

Run from the repository root::

    python -m benchmarks.activation [--quick] [--held 1000] [--messages 1000] [--modes hosted,solo] [--out DIR]

Against ``python -m serve_app serve`` (a child with its own local Ray), once per mode
(``modes.py``: ``hosted``, conversations many per host process, and ``solo``, a Ray actor
each), one server after the other, with this process joined to that Ray as a driver so that
it can call the ``directory`` actor itself and time exactly one activation:

- cold activation: ``directory.activate`` of a new, empty conversation (then passivated); in
  hosted mode that is a conversation loaded by a running host, in solo mode an actor started;
  beside it, an empty Ray actor started with the same options (Ray's own floor);
- the first HTTP turn of a new conversation (activation included) against its second turn;
- re-activation of a passivated conversation of ``--messages`` messages (and of 10, for
  contrast), checking that its host holds all of them (``status(conversation_id)``);
- memory with an SDK: ``--memory-conversations`` conversations made active by one turn of the
  ``sim`` model, then one turn of the ``openai`` provider (its SDK loaded, as with a real model);
  USS and RSS of each conversation process, and the whole server's growth per conversation;
- held memory (``held.py``): ``--held`` conversations of ``--held-messages`` messages, all
  activated at once and held (solo mode: at most 32); the USS of all the server's processes;
- capacity: with ``activation.max_active`` = the held count filled, ``--overflow`` more
  conversations, each of which must evict the least recently used.

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

from benchmarks import harness, modes
from benchmarks.activation_report import SHORT, markdown, ratios, verdicts
from benchmarks.baseline import LocalClient, LocalRuntime
from benchmarks.clients import HttpClient, create_conversations, http_client
from benchmarks.held import held_count, hold_in_process, hold_on_server, seed
from benchmarks.scenarios import FAKE_KEY, FAKE_KEY_ENV


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


def settings_sections(args: argparse.Namespace, mode: modes.Mode) -> dict[str, dict[str, Any]]:
    """``max_active`` = the conversations held (so that the overflow must evict), with hosts enough for them."""
    return {"activation": modes.activation(mode, held_count(args.held, mode.solo), idle_timeout_s=3600)}


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


def memory_figures(processes: list[harness.ProcessMemory], before_uss: float, count: int) -> dict[str, Any]:
    actors = [p for p in processes if harness.process_group(p.name) == harness.CONVERSATION_ROLE]
    total = sum(p.uss_mb for p in processes)
    return {
        "actors": len(actors),
        "uss_mb": harness.summary([p.uss_mb for p in actors]),
        "rss_mb": harness.summary([p.rss_mb for p in actors]),
        "server_uss_mb": total,
        "server_uss_growth_per_conversation_mb": (total - before_uss) / count if count else None,
    }


# --- the server ----------------------------------------------------------------------------------


async def server_side(server: harness.Server, mode: modes.Mode, args: argparse.Namespace) -> dict[str, Any]:
    os.environ["RAY_AUTH_MODE"] = "disabled"  # as the server's Ray runs; read when Ray is imported
    import ray

    ray.init(address=server.ray_address, namespace="penguin", log_to_driver=False, logging_level=logging.WARNING)
    try:
        return await _server_steps(server, mode, args, ray)
    finally:
        ray.shutdown()


class Empty:
    """An actor with nothing in it: what starting any actor takes on this machine."""


class Directory:
    """The server's directory and hosts, as this driver calls them: activation answers the host's name."""

    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.directory = ray.get_actor("directory")
        self.placed: dict[str, str] = {}  # conversation -> the host the directory named
        self._hosts: dict[str, Any] = {}

    async def activate(self, cid: str) -> None:
        name = await self.directory.activate.remote(cid)
        if not isinstance(name, str) or not name:
            raise RuntimeError(f"directory.activate({cid}) answered {name!r}, not a host's name")
        self.placed[cid] = name
        self._hosts.pop(name, None)  # a solo host's name comes back with each activation, on a new actor

    async def passivate(self, cid: str) -> None:
        if not await self.directory.passivate.remote(cid, "idle"):
            raise RuntimeError(f"conversation {cid} did not passivate")

    async def held(self, cid: str) -> int:
        """The messages the conversation's host holds for it."""
        name = self.placed[cid]
        if name not in self._hosts:
            self._hosts[name] = self.ray.get_actor(name)
        return int((await self._hosts[name].status.remote(cid))["message_count"])

    async def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = await self.directory.stats.remote()
        return found


async def _server_steps(server: harness.Server, mode: modes.Mode, args: argparse.Namespace, ray: Any) -> dict[str, Any]:
    directory, store = Directory(ray), ray.get_actor("checkpoints")
    empty_class = ray.remote(num_cpus=0)(Empty)

    async def empty_actor(name: str) -> None:  # started with the options the directory starts hosts with
        actor = empty_class.options(name=name, namespace="penguin-bench", lifetime="detached", max_restarts=0).remote()
        await actor.__ray_ready__.remote()
        ray.kill(actor, no_restart=True)

    result: dict[str, Any] = {}
    async with http_client(server.base_url, 16) as http:
        cold, empty = [], []
        for i, cid in enumerate(await create_conversations(http, args.samples, "cold")):
            cold.append(await timed(partial(directory.activate, cid)))
            await directory.passivate(cid)
            empty.append(await timed(partial(empty_actor, f"empty-{i}")))
        result["cold_activation_s"] = harness.summary(cold)
        result["empty_actor_s"] = harness.summary(empty)
        print(
            f"[{mode.name}] cold activation p50 {harness.percentile(cold, 0.5):.3f} s,"
            f" an empty actor p50 {harness.percentile(empty, 0.5):.3f} s",
            flush=True,
        )
        first_ids = await create_conversations(http, args.turn_samples, "first")
        result |= await first_turns(http, first_ids, directory.passivate)
        for count in (args.messages, SHORT):
            samples = result[f"reactivation_{count}_s"] = await reactivations(directory, store, count, args.repeat)
            print(f"[{mode.name}] re-activation of {count} messages p50 {samples['p50']:.3f} s", flush=True)
        held = held_count(args.held, mode.solo)
        result |= await sdk_memory(server, http, directory, min(args.memory_conversations, held))
        result["held"] = await hold_on_server(
            server, store, directory.activate, directory.held, held, args.held_messages
        )
        filled = await directory.stats()
        available = harness.host_state()["memory_available_mb"]
        await turns(http, await create_conversations(http, args.overflow, "overflow"), "sim-instant")
        after = await directory.stats()
    result["capacity"] = capacity(filled, after, args.overflow, available, result["held"])
    return result


async def reactivations(directory: Directory, store: Any, count: int, repeat: int) -> dict[str, Any]:
    """Re-activations of a passivated conversation of ``count`` messages, each checked to hold them all."""
    cid = (await store.create_conversation.remote(f"{count} messages", None)).id
    await seed(lambda c, m: store.append_messages.remote(c, m), cid, count)
    await directory.activate(cid)
    await directory.passivate(cid)
    samples = []
    for _ in range(repeat):
        samples.append(await timed(partial(directory.activate, cid)))
        held = await directory.held(cid)
        if held != count:
            raise RuntimeError(f"re-activated conversation {cid} holds {held} messages, not {count}")
        await directory.passivate(cid)
    return harness.summary(samples)


async def sdk_memory(server: harness.Server, http: Any, directory: Directory, count: int) -> dict[str, Any]:
    """``count`` conversations made active by a sim turn, then an openai turn: memory after each; then let go."""
    found: dict[str, Any] = {}
    before = sum(p.uss_mb for p in server.memory())
    ids = await create_conversations(http, count, "memory")
    for model in ("sim-instant", "openai-fake"):
        await turns(http, ids, model)
        await asyncio.sleep(1.0)  # let freed memory settle
        found[f"memory_after_{model}"] = memory_figures(server.memory(), before, len(ids))
    for cid in ids:
        await directory.passivate(cid)
    return found


def capacity(
    filled: dict[str, Any], after: dict[str, Any], overflow: int, available: int, held: dict[str, Any]
) -> dict[str, Any]:
    """The eviction check, and how many more conversations the memory still available would hold (at the held
    step's growth per conversation)."""
    per_conversation = held["growth_per_conversation_mb"] or 0.0  # what one more held conversation costs
    return {
        "max_active": filled["max_active"],
        "active_when_filled": filled["active"],
        "hosts_when_filled": len(filled.get("hosts", [])),
        "overflow_activations": overflow,
        "active_after_overflow": after["active"],
        "evictions_by_overflow": after["evictions"] - filled["evictions"],
        "memory_available_mb_when_filled": available,
        "uss_per_conversation_mb": per_conversation,
        "more_conversations": int(available // per_conversation) if per_conversation > 0 else None,
    }


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
        clients = [await runtime.client("memory") for _ in range(args.memory_conversations)]
        for model in ("sim-instant", "openai-fake"):
            for client in clients:
                await _ok(client, model)
            uss = process.memory_full_info().uss / 2**20
            result[f"memory_after_{model}"] = {
                "process_uss_mb": uss,
                "uss_growth_per_conversation_mb": (uss - before) / len(clients),
            }
        for client in clients:
            await runtime.passivate(client.conversation_id)
        result["held"] = await hold_in_process(runtime, args.held, args.held_messages)
    finally:
        await runtime.close()
    return result


async def _ok(client: LocalClient, model: str) -> None:
    answer = await client.turn("hello there", model)
    if answer.error:
        raise RuntimeError(f"baseline turn with {model} failed: {answer.error}")


# --- the run -------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, run_modes: tuple[modes.Mode, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    machine, host = harness.machine_info(("ray", "lancedb", "openai")), harness.host_state()
    sections = {mode.name: settings_sections(args, mode) for mode in run_modes}
    with tempfile.TemporaryDirectory(prefix="penguin-bench-activation-") as tmp:
        workdir = Path(tmp)
        with harness.FakeLLMProcess(workdir, words=20, first_token_delay_s=0, chunk_delay_s=0) as fake:

            def config_of(mode: modes.Mode) -> dict[str, Any]:
                return harness.server_config(catalog(fake.base_url), "sim-instant", **sections[mode.name])

            config_path = harness.write_config(workdir / "baseline" / "penguin.yaml", config_of(run_modes[0]))
            with harness.timed("baseline"):
                base = await baseline_side(config_path, workdir / "baseline", args)

            async def serve(mode: modes.Mode, server: harness.Server) -> dict[str, Any]:
                return await server_side(server, mode, args)

            served = await modes.each(run_modes, workdir, config_of, serve, {FAKE_KEY_ENV: FAKE_KEY})
    names = ("samples", "turn_samples", "repeat", "messages", "memory_conversations", "held", "held_messages")
    report: dict[str, Any] = {
        "benchmark": "activation",
        "quick": args.quick,
        "machine": machine,
        "host": host,
        "parameters": {k: getattr(args, k) for k in names}
        | {
            "overflow": args.overflow,
            "modes": [mode.name for mode in run_modes],
            "held_by_mode": {mode.name: held_count(args.held, mode.solo) for mode in run_modes},
            "settings": sections.get(modes.HOSTED.name, sections[run_modes[0].name]),
            "settings_by_mode": sections,
        },
        **served,
        "baseline": base,
        "ratios": {key: ratios(figures, base) for key, figures in served.items()},
        "total_seconds": time.perf_counter() - started,
    }
    report["targets"] = verdicts(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.activation", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few samples, 20 held conversations")
    parser.add_argument("--samples", type=int, help="cold activations timed (default 20; quick 3)")
    parser.add_argument("--turn-samples", type=int, help="new conversations whose first turn is timed (10; quick 2)")
    parser.add_argument("--repeat", type=int, help="re-activations timed per history length (10; quick 2)")
    parser.add_argument("--messages", type=int, default=1000, help="messages of the long conversation")
    parser.add_argument(
        "--memory-conversations", type=int, help="conversations given a sim, then an openai SDK turn (32; quick 3)"
    )
    parser.add_argument("--held", type=int, help="conversations held at once (1000; quick 20; solo mode: at most 32)")
    parser.add_argument("--held-messages", type=int, default=20, help="messages of each held conversation")
    parser.add_argument("--overflow", type=int, default=2, help="activations past max_active, each must evict one")
    parser.add_argument("--out", type=Path, help="results directory (default benchmarks/results, quick: .../quick)")
    modes.add_option(parser)
    args = parser.parse_args(argv)
    run_modes = modes.from_args(parser, args)
    harness.match_ray_niceness()
    defaults = (("samples", 20, 3), ("turn_samples", 10, 2), ("repeat", 10, 2), ("memory_conversations", 32, 3),
                ("held", 1000, 20))  # fmt: skip
    harness.fill_defaults(args, defaults)
    report = asyncio.run(run(args, run_modes))
    harness.publish(args, "activation", "Activation benchmark", report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
