"""Sampling profiles of the server's processes during one benchmark step, taken with py-spy.

``python -m benchmarks.load --profile ws-sim:64`` samples, while that step's measured rounds
run, one process of each role that matters on a turn's path: the Serve proxy, the ingress
replica, the checkpoint store and one conversation host (in solo mode, one conversation's
actor). Each profile is py-spy's ``raw`` output (collapsed stacks, one line per stack with its
sample count) in ``<out>/profile/<mode>/``; the report gives, per process, the functions on CPU
most often (self) and the calls that held most samples (inclusive). py-spy reads Python
frames without pausing the process; time in C or C++ shows on the Python frame that called
it, and the threads of Ray's core worker that never run Python are not sampled, so compare
its totals with the step's CPU table, which counts every thread. (Native stacks would need
py-spy to pause each process at every sample, which on 2 CPUs changes what it measures.)
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import harness

ROLES = ("ProxyActor", "ServeReplica", "CheckpointStore", harness.CONVERSATION_ROLE)
TOP = 12


@dataclass(frozen=True)
class Target:
    """Which step to profile: ``scenario:N``."""

    scenario: str
    clients: int

    @classmethod
    def parse(cls, text: str) -> Target:
        scenario, _, clients = text.partition(":")
        if not scenario or not clients.isdigit():
            raise ValueError(f"--profile takes SCENARIO:N, e.g. ws-sim:64, not {text!r}")
        return cls(scenario, int(clients))


@dataclass
class Profiler:
    out: Path
    rate: int = 100
    _running: dict[str, tuple[int, subprocess.Popen[bytes], Path]] = field(default_factory=dict)

    @staticmethod
    def available() -> bool:
        return shutil.which("py-spy") is not None

    def start(self, processes: Mapping[int, tuple[str, float]]) -> None:
        """Start sampling one process of each role (the lowest pid of the role, for a stable choice)."""
        self.out.mkdir(parents=True, exist_ok=True)
        for role in ROLES:
            pids = sorted(pid for pid, (title, _) in processes.items() if harness.process_group(title).startswith(role))
            if not pids:
                continue
            path = self.out / f"{role}.txt"
            command = ["py-spy", "record", "--pid", str(pids[0]), "--rate", str(self.rate), "--format", "raw"]
            command += ["--output", str(path), "--nonblocking"]  # read while it runs: never paused
            with (self.out / f"{role}.log").open("wb") as log:
                spy = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            self._running[role] = (pids[0], spy, path)

    def stop(self) -> dict[str, Any]:
        """Stop sampling (py-spy writes its profile on SIGINT) and summarize each profile."""
        found: dict[str, Any] = {}
        for role, (pid, process, path) in self._running.items():
            failed = process.poll() is not None  # py-spy stopped by itself: it could not sample
            if not failed:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            stacks = read_raw(path) if path.exists() else Counter()
            found[role] = {"pid": pid, "file": path.name} | summarize(stacks)
            log_path = self.out / f"{role}.log"
            if failed or not stacks:
                log = log_path.read_text(errors="replace").strip()
                found[role]["error"] = log.splitlines()[-1] if log else f"py-spy exited with {process.returncode}"
            else:
                log_path.unlink()  # py-spy's progress messages; kept only to explain a failure
        self._running.clear()
        return found


def read_raw(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's ``raw`` format: ``frame;frame;...;leaf count`` per line, outermost frame first."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def summarize(stacks: Counter[tuple[str, ...]], top: int = TOP) -> dict[str, Any]:
    """Samples in all, and the functions most often on CPU (self) and on the stack (inclusive), with shares."""
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        if not stack:
            continue
        own[_function(stack[-1])] += count
        for frame in {_function(f) for f in stack}:  # once per stack, however often it recurs
            inclusive[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": f, "samples": n, "share": round(n / total, 3)} for f, n in counter.most_common(top)]

    return {"samples": total, "self": share(own), "inclusive": share(inclusive)}


def _function(frame: str) -> str:
    """``send (websockets/legacy/protocol.py:123)`` → ``send (websockets/legacy/protocol.py)``: lines merged."""
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "penguin_actors/", "serve_app/", "lib/python3"):
        if marker in path:
            path = (marker if marker != "site-packages/" else "") + path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def _cell(entry: Mapping[str, Any] | None) -> str:
    return " | " if entry is None else f"`{entry['function']}` | {entry['share'] * 100:.1f} %"


def markdown(profiles: Mapping[str, Any], target: Target) -> list[str]:
    lines = [
        f"## Profile: {target.scenario} N={target.clients}",
        "",
        "py-spy samples of one process per role during the step's measured rounds (files in `profile/<mode>/`):"
        " the functions most often on CPU (self), and the calls most often on the stack (inclusive). The samplers"
        " take CPU too (`py-spy` in the CPU table): a profiled step's timings are not measurements.",
        "",
    ]
    for role, found in profiles.items():
        lines += [f"### {role} (pid {found['pid']}, {found['samples']:,} samples)", ""]
        if "error" in found:
            lines += [f"No profile: {found['error']}", ""]
            continue
        lines += ["| self | share | inclusive | share |", "|---|---:|---|---:|"]
        for own, inclusive in itertools.zip_longest(found["self"], found["inclusive"]):
            lines.append(f"| {_cell(own)} | {_cell(inclusive)} |")
        lines.append("")
    return lines
