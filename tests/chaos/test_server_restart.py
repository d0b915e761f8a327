"""The whole server restarted during traffic: nothing acknowledged is lost, and everything works after."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from penguin_actors.testing.ports import free_port
from tests.support import RunningProcess

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

CLI = [sys.executable, "-m", "serve_app"]
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def test_a_restart_during_traffic_loses_no_acknowledged_message(tmp_path: Path) -> None:
    """Turns on three conversations while the server stops (SIGTERM) and starts again on the same workspace:
    every answered turn is stored whole, a finished task keeps its result, and every conversation answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    command = [*CLI, "serve", "--port", str(port), "--no-dashboard", "--num-cpus", "1", "--workspace", str(tmp_path)]
    answered: list[tuple[str, str, str]] = []
    stop = threading.Event()

    def talk(conversation: str, worker: int) -> None:
        turn = 0
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                text = f"traffic {worker}.{turn}"
                turn += 1
                try:
                    answer = http.post("/chat/message", json={"text": text, "conversation_id": conversation})
                except httpx.HTTPError:
                    time.sleep(0.2)  # the server is gone or not up yet
                    continue
                if answer.status_code == 200:
                    answered.append((conversation, text, answer.json()["response"]))

    with RunningProcess(command, env=ENV) as first:
        first.wait_for("Press Ctrl-C to stop.", timeout=180)
        conversations = [httpx.post(f"{base}/conversations/create", json={}, timeout=30).json()["id"] for _ in range(3)]
        task = httpx.post(f"{base}/tasks/execute-sync", json={"name": "before the restart"}, timeout=120).json()
        assert task["status"] == "completed", task
        threads = [threading.Thread(target=talk, args=(c, i)) for i, c in enumerate(conversations)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(answered) < 6:
            assert time.monotonic() < deadline, first.output()
            time.sleep(0.1)
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=120) == 0
    before = len(answered)
    with RunningProcess(command, env=ENV) as second:
        second.wait_for("Press Ctrl-C to stop.", timeout=180)
        deadline = time.monotonic() + 60
        while len(answered) < before + 3:  # traffic resumes by itself
            assert time.monotonic() < deadline, second.output()
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        with httpx.Client(base_url=base, timeout=30) as http:
            for conversation in conversations:
                messages = http.get(f"/conversations/{conversation}").json()["messages"]
                turns = {(m["content"], messages[i + 1]["content"]) for i, m in enumerate(messages[:-1])}
                for _, text, response in (a for a in answered if a[0] == conversation):
                    assert (text, response) in turns, f"acknowledged {text!r} of {conversation} is not stored"
                assert http.post("/chat/message", json={"text": "after", "conversation_id": conversation}).is_success
            kept = http.get(f"/tasks/{task['task_id']}").json()
            assert (kept["status"], kept["response"]) == ("completed", task["response"])
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=120) == 0
