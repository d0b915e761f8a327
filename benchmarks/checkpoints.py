"""Benchmark of the checkpoint store: are checkpoint, rollback and branch O(1) in a conversation's length?

Run from the repository root::

    python -m benchmarks.checkpoints [--sizes 10,100,1000,10000] [--repeat 20] [--out benchmarks/results]

It builds a real ``CheckpointStore`` on a real LanceDB in a temporary directory
(deleted at the end), with the options the runtime uses (the defaults), and one
conversation per size. Each conversation gets a ``mid`` checkpoint half way
while it is built; then the store is compacted (``optimize()``) so that every
size is measured in the same compacted state. Then, after one warm-up round,
``--repeat`` rounds each time, with ``time.perf_counter``:

- ``load_messages`` (context: O(n) by nature)
- ``create_checkpoint`` at the conversation's end
- ``list_checkpoints(conversation_id)``
- ``branch(mid)``: a new conversation from the middle checkpoint
- ``append_messages`` of one message (context; durable when it returns, with any group-commit wait)
- ``rollback(mid)``: back to the middle checkpoint

after which the conversation is rolled back (untimed) to the checkpoint this
round created, so that every round sees the same length. Within a round each
operation is run for every size before the next operation, in a shuffled order
of sizes, so that drift (table fragments and checkpoints accumulate, the machine
gets busier or quieter) falls on all sizes alike; p50 and p95 are over rounds.

A thin wrapper of the backend counts the rows each operation writes (and reads),
to show the write cost does not depend on the conversation's length.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import math
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.harness import machine_info, percentile, write_results
from penguin_actors.config import load_settings
from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.lance.backend import LanceBackend
from penguin_actors.store.records import CheckpointRecord, ConversationRecord, LineageRecord, NoteRecord
from penguin_actors.store.rows import Embedding, MemoryItem, MessageRange, MessageRow, TextHit, TextQuery
from penguin_actors.types import Message

T = TypeVar("T")
STORE_DEFAULTS = inspect.signature(CheckpointStore.__init__).parameters

DEFAULT_SIZES = (10, 100, 1000, 10_000)
TURN = 2  # messages per append while building: a user message and the assistant's reply
MAX_BUILD_CALLS = 500  # above TURN * this many messages, larger batches keep the build quick
TARGET_RATIO = 1.5
LIST_BURST = 20  # list_checkpoints takes tens of microseconds: each sample is the mean of this many calls
O1_TARGETED = ("create_checkpoint", "list_checkpoints", "rollback", "branch")
OPERATIONS = ("create_checkpoint", "list_checkpoints", "rollback", "branch", "append_messages", "load_messages")
NOTES = {
    "list_checkpoints": f"in memory; each sample is the mean of {LIST_BURST} back-to-back calls",
    "append_messages": "context: one message, durable on return; the store's default commit_window_s is"
    f" {STORE_DEFAULTS['commit_window_s'].default} s",
    "load_messages": "context: O(n) by nature",
}


class CountingBackend:
    """A thin wrapper of a real backend that counts the calls made and the rows written and read."""

    def __init__(self, inner: StoreBackend) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.written: Counter[str] = Counter()
        self.read = 0

    def reset(self) -> None:
        self.calls.clear()
        self.written.clear()
        self.read = 0

    def _write(self, name: str, rows: int) -> None:
        self.calls[name] += 1
        self.written[name] += rows

    async def open(self) -> None:
        self.calls["open"] += 1
        await self.inner.open()

    async def close(self) -> None:
        self.calls["close"] += 1
        await self.inner.close()

    async def load_conversations(self) -> list[ConversationRecord]:
        self.calls["load_conversations"] += 1
        return await self.inner.load_conversations()

    async def upsert_conversations(self, records: Sequence[ConversationRecord]) -> None:
        self._write("upsert_conversations", len(records))
        await self.inner.upsert_conversations(records)

    async def delete_conversation(self, conversation_id: str) -> None:
        self._write("delete_conversation", 1)
        await self.inner.delete_conversation(conversation_id)

    async def load_lineages(self) -> list[LineageRecord]:
        self.calls["load_lineages"] += 1
        return await self.inner.load_lineages()

    async def add_lineages(self, records: Sequence[LineageRecord]) -> None:
        self._write("add_lineages", len(records))
        await self.inner.add_lineages(records)

    async def delete_lineages(self, lineage_ids: Sequence[str]) -> int:
        self._write("delete_lineages", len(lineage_ids))
        return await self.inner.delete_lineages(lineage_ids)

    async def append_messages(self, rows: Sequence[MessageRow]) -> None:
        self._write("append_messages", len(rows))
        await self.inner.append_messages(rows)

    async def read_messages(self, ranges: Sequence[MessageRange]) -> list[tuple[str, int, bytes]]:
        self.calls["read_messages"] += 1
        rows = await self.inner.read_messages(ranges)
        self.read += len(rows)
        return rows

    async def delete_messages(self, lineage_ids: Sequence[str]) -> int:
        self._write("delete_messages", len(lineage_ids))
        return await self.inner.delete_messages(lineage_ids)

    async def load_checkpoints(self) -> list[CheckpointRecord]:
        self.calls["load_checkpoints"] += 1
        return await self.inner.load_checkpoints()

    async def add_checkpoints(self, records: Sequence[CheckpointRecord]) -> None:
        self._write("add_checkpoints", len(records))
        await self.inner.add_checkpoints(records)

    async def delete_checkpoints(self, checkpoint_ids: Sequence[str]) -> int:
        self._write("delete_checkpoints", len(checkpoint_ids))
        return await self.inner.delete_checkpoints(checkpoint_ids)

    async def optimize(self) -> None:
        self.calls["optimize"] += 1
        await self.inner.optimize()

    # Memory and documents: part of the backend, never used by the operations measured here.

    async def add_notes(self, records: Sequence[NoteRecord]) -> None:
        self._write("add_notes", len(records))
        await self.inner.add_notes(records)

    async def search_text(self, query: TextQuery) -> list[TextHit]:
        return await self.inner.search_text(query)

    async def put_documents(self, kind: str, documents: Sequence[tuple[str, str]]) -> None:
        self._write("put_documents", len(documents))
        await self.inner.put_documents(kind, documents)

    async def load_documents(self, kind: str) -> list[tuple[str, str]]:
        return await self.inner.load_documents(kind)

    async def delete_documents(self, kind: str, ids: Sequence[str]) -> int:
        self.calls["delete_documents"] += 1
        return await self.inner.delete_documents(kind, ids)

    async def open_embeddings(self, model: str, dimensions: int) -> None:
        await self.inner.open_embeddings(model, dimensions)

    async def add_embeddings(self, embeddings: Sequence[Embedding]) -> None:
        self._write("add_embeddings", len(embeddings))
        await self.inner.add_embeddings(embeddings)

    async def embedding_backlog(self, limit: int) -> tuple[list[MemoryItem], list[str]]:
        return await self.inner.embedding_backlog(limit)

    async def memory_texts(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        return await self.inner.memory_texts(items)

    async def delete_embeddings(self, refs: Sequence[str]) -> int:
        self.calls["delete_embeddings"] += 1
        return await self.inner.delete_embeddings(refs)

    async def search_vectors(self, vector: Sequence[float], query: TextQuery, min_similarity: float) -> list[TextHit]:
        return await self.inner.search_vectors(vector, query, min_similarity)


@dataclass
class Sample:
    seconds: float
    written: dict[str, int]
    read: int


@dataclass
class Subject:
    """One conversation under test: its size and its middle checkpoint."""

    size: int
    conversation_id: str
    mid: CheckpointRecord
    build_batch: int
    build_calls: int
    build_seconds: float
    round_checkpoint: CheckpointRecord | None = None


@dataclass
class Bench:
    store: CheckpointStore
    backend: CountingBackend
    samples: dict[str, dict[int, list[Sample]]] = field(default_factory=dict)
    recording: bool = False

    async def timed(self, operation: str, size: int, call: Coroutine[Any, Any, T]) -> T:
        """Await ``call`` (a coroutine not yet started), timing it and counting the backend rows it moves."""
        self.backend.reset()
        start = time.perf_counter()
        result = await call
        self._record(operation, size, time.perf_counter() - start)
        return result

    async def timed_burst(self, operation: str, size: int, call: Callable[[], Coroutine[Any, Any, T]], times: int) -> T:
        """Await ``call()`` ``times`` times back to back; the sample is the mean time of one call.

        For operations of tens of microseconds, where one call's time is mostly the noise of the machine.
        """
        self.backend.reset()
        start = time.perf_counter()
        for _ in range(times - 1):
            await call()
        result = await call()
        self._record(operation, size, (time.perf_counter() - start) / times)
        return result

    def _record(self, operation: str, size: int, elapsed: float) -> None:
        if self.recording:
            sample = Sample(elapsed, {k: v for k, v in self.backend.written.items() if v}, self.backend.read)
            self.samples.setdefault(operation, {}).setdefault(size, []).append(sample)


def message(seq: int) -> Message:
    """Message ``seq`` of a conversation: a short user question (even), or a longer assistant reply (odd)."""
    if seq % 2 == 0:
        return Message(role="user", content=f"Question {seq}: " + "how would I refactor this to be testable? " * 4)
    return Message(role="assistant", content=f"Answer {seq}: " + "Extract the side effects, then inject them. " * 16)


def build_batch(size: int) -> int:
    return max(TURN, math.ceil(size / MAX_BUILD_CALLS))


async def build(store: CheckpointStore, size: int) -> Subject:
    """A conversation of ``size`` messages, appended a batch at a time, with a ``mid`` checkpoint half way."""
    start = time.perf_counter()
    batch = build_batch(size)
    record = await store.create_conversation(title=f"benchmark {size}")
    messages = [message(i) for i in range(size)]
    half = size // 2
    calls = 0
    mid: CheckpointRecord | None = None
    for lo, hi in ((0, half), (half, size)):
        for i in range(lo, hi, batch):
            await store.append_messages(record.id, messages[i : min(i + batch, hi)])
            calls += 1
        if mid is None:
            mid = await store.create_checkpoint(record.id, name="mid")
    assert mid is not None and mid.seq == half
    count = (await store.get_conversation(record.id)).message_count
    if count != size:
        raise RuntimeError(f"built {count} messages instead of {size}")
    return Subject(size, record.id, mid, batch, calls, time.perf_counter() - start)


async def run_round(bench: Bench, subjects: list[Subject], rng: random.Random, round_no: int) -> None:
    store = bench.store

    def shuffled() -> list[Subject]:
        order = list(subjects)
        rng.shuffle(order)
        return order

    for s in shuffled():
        messages = await bench.timed("load_messages", s.size, store.load_messages(s.conversation_id))
        expected = [message(i).text() for i in (0, s.size // 2, s.size - 1)]
        got = [messages[i].text() for i in (0, s.size // 2, s.size - 1)] if len(messages) == s.size else []
        if got != expected:
            raise RuntimeError(f"conversation of size {s.size} loaded {len(messages)} messages, not the ones built")
    for s in shuffled():
        s.round_checkpoint = await bench.timed(
            "create_checkpoint", s.size, store.create_checkpoint(s.conversation_id, name=f"r{round_no}")
        )
    for s in shuffled():
        listing = partial(store.list_checkpoints, s.conversation_id)
        await bench.timed_burst("list_checkpoints", s.size, listing, LIST_BURST)
    for s in shuffled():
        branch, _ = await bench.timed("branch", s.size, store.branch(s.mid.id))
        if branch.message_count != s.mid.seq:
            raise RuntimeError(f"branch of size {s.size} has {branch.message_count} messages, not {s.mid.seq}")
    for s in shuffled():
        reply = Message(role="user", content=f"one more message, round {round_no}")
        count = await bench.timed("append_messages", s.size, store.append_messages(s.conversation_id, [reply]))
        if count != s.size + 1:
            raise RuntimeError(f"append to size {s.size} gave {count} messages")
    for s in shuffled():
        await bench.timed("rollback", s.size, store.rollback(s.mid.id))
    for s in subjects:  # untimed: back to exactly ``size`` messages for the next round
        assert s.round_checkpoint is not None
        await store.rollback(s.round_checkpoint.id)
        count = (await store.get_conversation(s.conversation_id)).message_count
        if count != s.size:
            raise RuntimeError(f"restore of size {s.size} gave {count} messages")


def summarize(bench: Bench, sizes: Sequence[int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for operation in OPERATIONS:
        per_size: dict[str, Any] = {}
        for size in sizes:
            samples = bench.samples[operation][size]
            ms = [s.seconds * 1000 for s in samples]
            shapes = Counter(json.dumps(s.written, sort_keys=True) for s in samples)
            totals = [sum(s.written.values()) for s in samples]
            per_size[str(size)] = {
                "p50_ms": percentile(ms, 0.5),
                "p95_ms": percentile(ms, 0.95),
                "min_ms": min(ms),
                "max_ms": max(ms),
                "rows_written_min": min(totals),
                "rows_written_max": max(totals),
                "rows_written_by_backend_method": [{"rows": json.loads(k), "samples": n} for k, n in shapes.items()],
                "rows_read_max": max(s.read for s in samples),
                "samples_ms": [round(v, 4) for v in ms],
            }
        first, last = per_size[str(sizes[0])], per_size[str(sizes[-1])]
        ratio = last["p50_ms"] / first["p50_ms"]
        # Cross-check, robust to drift between rounds: the median of each round's own ratio.
        pairs = zip(bench.samples[operation][sizes[-1]], bench.samples[operation][sizes[0]], strict=True)
        paired = percentile([big.seconds / small.seconds for big, small in pairs], 0.5)
        entry: dict[str, Any] = {
            "sizes": per_size,
            "ratio_p50_largest_over_smallest": ratio,
            "ratio_median_of_per_round_ratios": paired,
        }
        if operation in O1_TARGETED or operation == "append_messages":
            entry["target_ratio"] = TARGET_RATIO
            entry["pass"] = ratio <= TARGET_RATIO
        entry["targeted"] = operation in O1_TARGETED
        if operation in NOTES:
            entry["note"] = NOTES[operation]
        results[operation] = entry
    return results


def ms(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def rows_cell(entry: dict[str, Any], sizes: Sequence[int]) -> str:
    lows = {entry["sizes"][str(n)]["rows_written_min"] for n in sizes}
    highs = {entry["sizes"][str(n)]["rows_written_max"] for n in sizes}
    if lows == highs and len(lows) == 1:
        return str(lows.pop())
    return "varies: " + ", ".join(
        f"{n:,}: {entry['sizes'][str(n)]['rows_written_min']}-{entry['sizes'][str(n)]['rows_written_max']}"
        for n in sizes
    )


def markdown(report: dict[str, Any]) -> str:
    sizes: list[int] = report["parameters"]["sizes"]
    results: dict[str, Any] = report["results"]
    head = ["operation", "rows written / op"] + [f"n={n:,} p50 / p95 ms" for n in sizes]
    head += [f"p50({sizes[-1]:,}) / p50({sizes[0]:,})", f"target ≤ {TARGET_RATIO}x", "per-round ratio, median"]
    align = ["---"] * 2 + ["---:"] * (len(sizes) + 1) + ["---", "---:"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for operation in OPERATIONS:
        entry = results[operation]
        cells = [f"`{operation}`", rows_cell(entry, sizes)]
        for n in sizes:
            figures = entry["sizes"][str(n)]
            cells.append(f"{ms(figures['p50_ms'])} / {ms(figures['p95_ms'])}")
        cells.append(f"{entry['ratio_p50_largest_over_smallest']:.2f}x")
        if "pass" not in entry:
            verdict = "n/a (O(n))"
        else:
            verdict = ("pass" if entry["pass"] else "**FAIL**") + ("" if entry["targeted"] else " (context)")
        cells.append(verdict)
        cells.append(f"{entry['ratio_median_of_per_round_ratios']:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    machine, params = report["machine"], report["parameters"]
    read = results["load_messages"]["sizes"]
    builds = ", ".join(f"{b['size']:,} in {b['append_calls']} calls of {b['batch']}" for b in report["build"])
    notes = [
        "",
        f"{params['repeat']} rounds after {params['warmup']} warm-up round; sizes interleaved (shuffled) within each"
        " round; p50/p95 over rounds, by `time.perf_counter`.",
        f"Built with `append_messages` batches (messages per call): {builds}; then `optimize()`.",
        f"Ratio: p50 at {sizes[-1]:,} over p50 at {sizes[0]:,}, the target's figure; the last column, the median"
        " over rounds of that round's own ratio, is a cross-check insensitive to drift between rounds.",
        "Rows written: rows the store handed its backend per operation (all tables), the same in every sample"
        " unless it says *varies*.",
        f"`load_messages` read {', '.join(str(read[str(n)]['rows_read_max']) for n in sizes)} message rows. "
        + " ".join(f"`{op}`: {note}." for op, note in NOTES.items()),
        f"Machine: {machine['cpu_count']} CPUs, Python {machine['python']}, lancedb {machine['lancedb']},"
        f" {machine['platform']}, {machine['date']}; run took {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines + notes) + "\n"


async def run(sizes: list[int], repeat: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="penguin-bench-checkpoints-") as tmp:
        settings = load_settings(env={}, overrides={"workspace": str(Path(tmp) / "workspace")})
        backend = CountingBackend(LanceBackend(str(Path(tmp) / "lance")))
        store = CheckpointStore(settings, backend=backend)  # the runtime's options: the defaults
        bench = Bench(store, backend)
        try:
            subjects = []
            for size in sizes:
                subject = await build(store, size)
                print(
                    f"built {size:,} messages in {subject.build_calls} append calls of {subject.build_batch}"
                    f" ({subject.build_seconds:.1f} s)",
                    flush=True,
                )
                subjects.append(subject)
            compact_start = time.perf_counter()
            await store.optimize()
            print(f"optimize() took {time.perf_counter() - compact_start:.1f} s", flush=True)
            rng = random.Random(seed)
            for round_no in range(repeat + 1):
                bench.recording = round_no > 0  # round 0 is the warm-up
                gc.collect()
                await run_round(bench, subjects, rng, round_no)
            stats = await store.stats()
        finally:
            await store.close()
    return {
        "benchmark": "checkpoints",
        "machine": machine_info(("lancedb", "pyarrow")),
        "parameters": {
            "sizes": sizes,
            "repeat": repeat,
            "warmup": 1,
            "seed": seed,
            "build_messages_per_append_turn": TURN,
            "store_options": {name: STORE_DEFAULTS[name].default for name in ("commit_window_s", "optimize_every")},
            "interleaved": "each operation runs for every size (shuffled order) before the next operation",
        },
        "build": [
            {"size": s.size, "batch": s.build_batch, "append_calls": s.build_calls, "seconds": s.build_seconds}
            for s in subjects
        ],
        "results": summarize(bench, sizes),
        "final_checkpoints": stats.model_dump(),
        "total_seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.checkpoints", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="conversation lengths, ascending")
    parser.add_argument("--repeat", type=int, default=20, help="measured rounds (after one warm-up round)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="where the results go")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffled order of sizes")
    args = parser.parse_args(argv)
    sizes = sorted({int(part) for part in args.sizes.split(",") if part.strip()})
    if len(sizes) < 2 or sizes[0] < TURN or args.repeat < 1:
        parser.error(f"give at least two sizes of {TURN} or more, and --repeat of 1 or more")
    report = asyncio.run(run(sizes, args.repeat, args.seed))
    table = markdown(report)
    write_results(args.out, "checkpoints", "Checkpoint store benchmark", report, table)
    print()
    print(table)
    print(f"wrote {args.out / 'checkpoints.json'} and {args.out / 'checkpoints.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
