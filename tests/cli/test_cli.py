"""The command line: a whole serve lifecycle, status, and clear failures for bad input."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from penguin_actors.testing.ports import free_port
from tests.support import RunningProcess, wait_for_http

CLI = [sys.executable, "-m", "serve_app"]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"RAY_AUTH_MODE": "disabled"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def test_invalid_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A bad settings file stops the start with status 2 and names the key and what is allowed."""
    config = tmp_path / "penguin.yaml"
    config.write_text("server:\n  port: not-a-port\nactivation:\n  max_activ: 3\n")
    result = run_cli("serve", "--config", str(config), timeout=30)
    assert result.returncode == 2
    assert "server.port" in result.stderr and "valid integer" in result.stderr
    assert "activation.max_activ: unknown key" in result.stderr and "max_active" in result.stderr


def test_port_in_use_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    """A port already taken is reported before Ray starts, with what to do."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = run_cli("serve", "--port", str(port), "--no-dashboard", "--workspace", str(tmp_path))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr
    assert time.monotonic() - started < 20


def test_unreachable_address_fails_within_bounded_time(tmp_path: Path) -> None:
    """Joining a cluster that does not answer fails fast with a message, not a hang."""
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli("serve", "--address", address, "--port", str(free_port()), "--workspace", str(tmp_path))
    assert result.returncode == 1
    assert f"cannot reach a Ray cluster at {address}" in result.stderr
    assert time.monotonic() - started < 30


def test_status_of_an_unreachable_cluster_fails_cleanly() -> None:
    """`status` against nothing says so and exits 1."""
    result = run_cli("status", "--address", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "cannot reach a Ray cluster" in result.stderr


def test_unknown_default_model_exits_2(tmp_path: Path) -> None:
    """A models.default missing from the catalog stops the start before Ray, naming the known ids."""
    config = tmp_path / "penguin.yaml"
    config.write_text("models:\n  default: gpt-17\n")
    result = run_cli("serve", "--config", str(config), "--workspace", str(tmp_path), timeout=30)
    assert result.returncode == 2
    assert "models.default: 'gpt-17' is not in the catalog" in result.stderr and "sim" in result.stderr


def test_public_host_without_key_is_refused(tmp_path: Path) -> None:
    """Binding beyond loopback without an API key is refused unless --insecure is given."""
    result = run_cli("serve", "--host", "0.0.0.0", "--workspace", str(tmp_path), timeout=30)
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0 without an API key" in result.stderr


@pytest.mark.slow
def test_serve_lifecycle_status_and_clean_shutdown(tmp_path: Path) -> None:
    """`serve` starts Ray and the app, answers, is seen by `status`, and stops cleanly on SIGTERM."""
    port = free_port()
    command = [*CLI, "serve", "--port", str(port), "--no-dashboard", "--num-cpus", "1", "--workspace", str(tmp_path)]
    with RunningProcess(command, env={"RAY_AUTH_MODE": "disabled"}) as server:
        banner = server.wait_for("Press Ctrl-C to stop.", timeout=120)
        assert f"http://127.0.0.1:{port}/api/docs" in banner
        address = re.search(r"ray\s+(\S+:\d+)", banner)
        assert address, banner
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "healthy"

        status = run_cli("status", "--address", address.group(1), timeout=90)
        assert status.returncode == 0, status.stderr
        assert "Nodes:" in status.stdout and "head" in status.stdout
        assert re.search(r"penguin\s+RUNNING\s+\(1 replicas\)", status.stdout), status.stdout
        assert re.search(r"models\s+ModelRegistry\s+alive", status.stdout), status.stdout
        # The spare host started before the server said it serves, holding nothing yet.
        assert re.search(r"host:1\s+node \w+\s+conversations 0/256", status.stdout), status.stdout
        assert "model      sim (simulated replies" in banner

        second = run_cli("serve", "--address", address.group(1), "--port", str(free_port()), timeout=90)
        assert second.returncode == 0, second.stderr
        assert "already serving on the cluster" in second.stdout
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).status_code == 200

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=90) == 0
        assert "shutting down" in server.output()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.slow
def test_serve_run_with_a_config_file(tmp_path: Path) -> None:
    """`serve run` deploys `serve_app:app` from a Serve config, reading PENGUIN_* settings."""
    port = free_port()
    config = tmp_path / "serve.yaml"
    config.write_text(
        f"proxy_location: HeadOnly\nhttp_options:\n  host: 127.0.0.1\n  port: {port}\n"
        "applications:\n  - name: penguin\n    route_prefix: /\n    import_path: serve_app:app\n"
    )
    env = {"RAY_AUTH_MODE": "disabled", "PENGUIN_WORKSPACE": str(tmp_path / "ws"), "PENGUIN_RAY__DASHBOARD": "false"}
    with RunningProcess(["serve", "run", str(config)], env=env) as run:
        health = wait_for_http(f"http://127.0.0.1:{port}/api/v1/health", timeout=120, process=run)
        assert health.json()["ray"]["namespace"] == "penguin"
        run.process.send_signal(signal.SIGINT)
        run.process.wait(timeout=90)


@pytest.mark.slow
def test_a_server_restart_keeps_every_conversation(tmp_path: Path) -> None:
    """Stopping the server and starting it on the same workspace keeps conversations, messages and the model."""
    port = free_port()
    command = [*CLI, "serve", "--port", str(port), "--no-dashboard", "--num-cpus", "1", "--workspace", str(tmp_path)]
    base = f"http://127.0.0.1:{port}/api/v1"
    with RunningProcess(command, env={"RAY_AUTH_MODE": "disabled"}) as first:
        first.wait_for("Press Ctrl-C to stop.", timeout=120)
        reply = httpx.post(f"{base}/chat/message", json={"text": "remember me"}, timeout=60).json()
        assert httpx.post(f"{base}/models/load", json={"model_id": "claude-haiku"}, timeout=10).status_code == 200
        before = httpx.get(f"{base}/conversations/{reply['conversation_id']}", timeout=10).json()
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=90) == 0
    with RunningProcess(command, env={"RAY_AUTH_MODE": "disabled"}) as second:
        second.wait_for("Press Ctrl-C to stop.", timeout=120)
        after = httpx.get(f"{base}/conversations/{reply['conversation_id']}", timeout=10).json()
        assert after["messages"] == before["messages"] and len(after["messages"]) == 2
        assert httpx.get(f"{base}/models/current", timeout=10).json()["id"] == "claude-haiku"


@pytest.mark.slow
def test_default_ray_token_authentication(tmp_path: Path) -> None:
    """With RAY_AUTH_MODE unset (the default), Ray starts with token auth, makes its token, and serves."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"} | {"HOME": str(tmp_path / "home")}
    command = [*CLI, "serve", "--port", str(port), "--no-dashboard", "--num-cpus", "1", "--workspace", str(tmp_path)]
    with RunningProcess(command, env=env, inherit=False) as server:
        server.wait_for("Press Ctrl-C to stop.", timeout=120)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10).json()["status"] == "healthy"
        assert (tmp_path / "home" / ".ray" / "auth_token").is_file()
        address = re.search(r"ray\s+(\S+:\d+)", server.output())
        assert address
        status = subprocess.run(
            [*CLI, "status", "--address", address.group(1)], capture_output=True, text=True, env=env, timeout=90
        )
        assert status.returncode == 0, status.stderr
        assert re.search(r"models\s+ModelRegistry\s+alive", status.stdout)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=90) == 0
