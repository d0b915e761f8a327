"""Run a child process with a deadline and a bounded output, and leave nothing of it running.

The child starts a new session, so it and everything it spawns share one process group.
Its stdout and stderr share one pipe (interleaved as written), read in chunks into a
``HeadTailBuffer`` while it runs. When the deadline passes, or once the child has exited
(after a short grace for output still in flight), the whole group is killed: no
background process outlives the call. The child is not reaped before that kill, so its
process group id cannot have been reused by then.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from penguin_actors.tools.output import HeadTailBuffer

CHUNK_BYTES = 64 * 1024
# After the child exits, how long to keep reading output its leftover children may still write.
EXIT_GRACE_S = 0.5
# After the kill, how long to collect what is left in the pipe.
DRAIN_S = 1.0
POLL_S = 0.05


@dataclass(frozen=True)
class ProcessResult:
    output: str
    truncated: bool
    exit_code: int | None
    timed_out: bool
    duration_s: float


def run_process(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, output_limit: int
) -> ProcessResult:
    """Run ``argv`` to its end or to ``timeout_s``; its output capped at ``output_limit`` bytes."""
    started = time.monotonic()
    deadline = started + timeout_s
    buffer = HeadTailBuffer(output_limit)
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    pipe = process.stdout
    try:
        eof = _read_until_done(process, pipe.fileno(), buffer, deadline)
        timed_out = not _wait_unreaped(process, deadline)
        _kill_group(process)
        if not eof:
            _read_until_done(process, pipe.fileno(), buffer, time.monotonic() + DRAIN_S, after_kill=True)
    finally:
        _kill_group(process)
        pipe.close()
        exit_code = process.wait()
    return ProcessResult(
        output=buffer.text(),
        truncated=buffer.dropped > 0,
        exit_code=None if timed_out else exit_code,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )


def _read_until_done(
    process: subprocess.Popen[bytes], fd: int, buffer: HeadTailBuffer, deadline: float, *, after_kill: bool = False
) -> bool:
    """Read output into ``buffer`` until end of file (True), the deadline, or the child's exit plus a grace."""
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                return False
            if not after_kill and exited_at is None and _has_exited(process):
                exited_at = now
            if exited_at is not None and now - exited_at >= EXIT_GRACE_S:
                return False  # the child is gone; what still holds the pipe is killed with the group
            if selector.select(min(POLL_S, deadline - now)):
                chunk = os.read(fd, CHUNK_BYTES)
                if not chunk:
                    return True
                buffer.feed(chunk)


def _wait_unreaped(process: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait for the child to exit without reaping it; False if the deadline came first."""
    while not _has_exited(process):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(POLL_S, remaining))
    return True


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    if process.returncode is not None:
        return True
    if hasattr(os, "waitid"):
        # WNOWAIT leaves the child a zombie: its pid (the group id) stays taken until we kill the group.
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return process.poll() is not None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (the child, if still running, and all it started)."""
    if process.returncode is not None:
        return  # reaped: its group id may belong to someone else now
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
