"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from penguin_actors.config import Settings, load_settings

FAKE_KEY_ENV = "FAKE_LLM_TEST_KEY"
FAKE_KEY = "sk-test-fake-llm-0123456789"


def fake_catalog(fake_base_url: str) -> list[dict[str, object]]:
    """Models for API tests: the real SDK providers pointed at the loopback fake, and paced sims."""
    return [
        {
            "id": "fake-openai",
            "name": "openai/fake-gpt",
            "provider": "openai",
            "vision_enabled": True,
            "base_url": f"{fake_base_url}/v1",
            "api_key_env": FAKE_KEY_ENV,
        },
        {
            "id": "fake-anthropic",
            "name": "anthropic/fake-claude",
            "provider": "anthropic",
            "vision_enabled": True,
            "base_url": fake_base_url,
            "api_key_env": FAKE_KEY_ENV,
        },
        {"id": "sim-slow", "name": "sim/slow", "provider": "sim", "reply_tokens": 300, "tokens_per_s": 100},
        {"id": "blind", "name": "sim/blind", "provider": "sim", "vision_enabled": False},
    ]


def make_settings(workspace: Path, **overrides: object) -> Settings:
    """Settings for a test: no PENGUIN_* variables of the caller's environment leak in."""
    base: dict[str, object] = {"workspace": str(workspace), "ray.dashboard": False, "ray.num_cpus": 2}
    return load_settings(env={}, overrides=base | overrides)


def host_actor(conversation_id: str) -> Any:
    """The Ray actor of the host that holds the conversation (activating it if need be): kill it to lose it."""
    import ray

    directory = ray.get_actor("directory", namespace="penguin")
    return ray.get_actor(ray.get(directory.activate.remote(conversation_id)), namespace="penguin")


def is_active(conversation_id: str) -> bool:
    """Whether a host holds the conversation now, as the directory says."""
    import ray

    directory = ray.get_actor("directory", namespace="penguin")
    return conversation_id in ray.get(directory.stats.remote())["conversations"]


def stop_runtime(namespace: str) -> None:
    """Stop the system actors and every conversation host of ``namespace`` (the next server starts afresh)."""
    import ray

    from penguin_actors.edge.system import kill_system_actors

    kill_system_actors(namespace)
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry["namespace"] == namespace and entry["name"].startswith(("host:", "conv:")):
            with contextlib.suppress(ValueError):
                ray.kill(ray.get_actor(entry["name"], namespace=namespace), no_restart=True)


@dataclass(frozen=True)
class Server:
    base_url: str
    settings: Settings

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kwargs)  # type: ignore[arg-type]


class RunningProcess:
    """A child process whose output is collected in the background; always stopped on exit."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None, *, inherit: bool = True) -> None:
        """``env`` adds to this process's environment, or with ``inherit=False`` replaces it."""
        self.command = command
        self.env = (dict(os.environ) if inherit else {}) | (env or {})
        self.lines: queue.Queue[str] = queue.Queue()
        self._seen: list[str] = []

    def __enter__(self) -> RunningProcess:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env
        )
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def output(self) -> str:
        while not self.lines.empty():
            self._seen.append(self.lines.get_nowait())
        return "".join(self._seen)

    def wait_for(self, marker: str, timeout: float) -> str:
        """Collect output until a line contains ``marker``; fail with the output so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self._seen.append(line)
            if marker in line:
                return "".join(self._seen)
        raise AssertionError(f"{marker!r} not seen; output:\n{self.output()}")

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def wait_for_http(url: str, timeout: float, process: RunningProcess | None = None) -> httpx.Response:
    """Poll ``url`` until it answers 200; fail with the process's output if it never does."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
            last = response.status_code
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered 200 (last: {last}); output:\n{process.output() if process else ''}")
