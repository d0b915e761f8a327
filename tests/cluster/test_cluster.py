"""A three-node cluster on this machine: conversations spread over the workers, one worker dies mid-turn;
with conversations hosted many per actor, and with an actor each.

The cluster (``cluster_process.py``) and the server (``penguin-actors serve --address``)
run as processes of their own, so this module needs no Ray in the test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from websockets.sync.client import ClientConnection, connect

from penguin_actors.testing.ports import free_port
from tests.support import RunningProcess

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "serve_app"]
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass
class Cluster:
    process: subprocess.Popen[str]
    address: str
    head: str
    workers: list[str]
    mode: str  # how the server on it hosts conversations: "hosted", or "solo" (an actor each)

    def remove_worker(self, index: int) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"remove {index}\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().startswith("removed")


@dataclass
class Penguin:
    base_url: str
    banner: str

    def ws(self) -> ClientConnection:
        return connect(self.base_url.replace("http://", "ws://") + "/api/v1/chat/stream", open_timeout=60)


@pytest.fixture(scope="module", params=["hosted", "solo"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    log = (tmp_path_factory.mktemp("cluster") / "cluster.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster.cluster_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=REPO,
        env=os.environ | ENV,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"the cluster did not start: see {log.name}"
        info = json.loads(line)
        yield Cluster(process, info["address"], info["head"], info["workers"], request.param)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def penguin(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Penguin]:
    root = tmp_path_factory.mktemp("penguin")
    config = root / "penguin.yaml"
    settings = {
        "activation": {
            "resources": {"penguin_conversations": 0.01},
            "conversations_per_actor": 1 if cluster.mode == "solo" else 64,
        },
        "serve": {"replica_resources": {"penguin_ingress": 0.01}},
        "models": {
            "default": "sim",
            "catalog": [
                {"id": "sim", "name": "sim/fast", "provider": "sim", "reply_tokens": 10},
                {"id": "sim-slow", "name": "sim/slow", "provider": "sim", "reply_tokens": 400, "tokens_per_s": 100},
            ],
        },
    }
    config.write_text(yaml.safe_dump(settings))
    port = free_port()
    command = [*CLI, "serve", "--address", cluster.address, "--port", str(port), "--workspace", str(root / "ws")]
    with RunningProcess([*command, "--config", str(config)], env=ENV) as server:
        banner = server.wait_for("Press Ctrl-C to stop.", timeout=180)
        yield Penguin(f"http://127.0.0.1:{port}", banner)


def chat(client: httpx.Client, conversation: str, text: str, deadline_s: float = 90) -> dict[str, Any]:
    """A turn over HTTP, retried while the cluster is still noticing a dead node (503)."""
    deadline = time.monotonic() + deadline_s
    while True:
        answer = client.post("/api/v1/chat/message", json={"text": text, "conversation_id": conversation})
        if answer.status_code == 200:
            return answer.json()  # type: ignore[no-any-return]
        assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
        time.sleep(0.5)


def until_end(socket: ClientConnection) -> list[dict[str, Any]]:
    frames = [json.loads(socket.recv(timeout=120))]
    while frames[-1]["event"] not in ("complete", "error"):
        frames.append(json.loads(socket.recv(timeout=120)))
    return frames


def test_conversations_spread_and_survive_a_worker_dying_mid_turn(cluster: Cluster, penguin: Penguin) -> None:
    """12 conversations spread over both workers; one worker is killed mid-turn: its turns end in an error
    event, every conversation answers again from a surviving node, and no acknowledged message is lost."""
    assert "nodes      3 of 3 reach the workspace and the store" in penguin.banner
    with httpx.Client(base_url=penguin.base_url, timeout=60) as client:
        assert client.get("/api/v1/health").json()["ray"]["nodes_alive"] == 3
        acknowledged: dict[str, list[str]] = {}
        for i in range(12):
            conversation = client.post("/api/v1/conversations/create", json={}).json()["id"]
            reply = chat(client, conversation, f"hello {i}")
            acknowledged[conversation] = [f"hello {i}", reply["response"]]
            if cluster.mode == "hosted":
                wait_for_spare(client)
        info = client.get("/api/v1/system/info").json()
        nodes = {n["node_id"]: n for n in info["nodes"]}
        placed = {node: nodes[node]["active_conversations"] for node in cluster.workers}
        assert nodes[cluster.head]["active_conversations"] == 0
        assert sum(placed.values()) == 12 and all(count > 0 for count in placed.values()), (placed, info["hosts"])

        sockets = {conversation: penguin.ws() for conversation in acknowledged}
        try:
            for conversation, socket in sockets.items():
                socket.send(json.dumps({"text": "a long one", "model_id": "sim-slow", "conversation_id": conversation}))
            for conversation, socket in sockets.items():
                frames = [json.loads(socket.recv(timeout=120)) for _ in range(2)]
                assert [f["event"] for f in frames] == ["start", "token"], frames
                acknowledged[conversation].append("a long one")
            cluster.remove_worker(1)
            lost = 0
            for conversation, socket in sockets.items():
                last = until_end(socket)[-1]
                if last["event"] == "complete":
                    acknowledged[conversation].append(last["data"]["response"])
                else:
                    assert last["data"]["code"] == "conversation_lost", last
                    lost += 1
        finally:
            for socket in sockets.values():
                socket.close()
        assert lost == placed[cluster.workers[1]]

        for conversation, said in acknowledged.items():
            reply = chat(client, conversation, "still here?")
            said += ["still here?", reply["response"]]
            stored = [m["content"] for m in client.get(f"/api/v1/conversations/{conversation}").json()["messages"]]
            assert stored == said, conversation
        nodes = {n["node_id"]: n for n in client.get("/api/v1/system/info").json()["nodes"]}
        assert not nodes[cluster.workers[1]]["alive"]
        assert nodes[cluster.workers[0]]["active_conversations"] == 12

        exported = metric_names(nodes.values())
        for name in ("ray_penguin_turns_total", "ray_penguin_activations_total", "ray_penguin_tokens_total"):
            assert name in exported, sorted(n for n in exported if "penguin" in n)


def wait_for_spare(client: httpx.Client, timeout_s: float = 60) -> None:
    """Until the host started ahead for the next conversation runs (or no more may start): the next conversation
    goes to it, so that the conversations spread over the hosts, which Ray spreads over the nodes."""
    deadline = time.monotonic() + timeout_s
    while True:
        info = client.get("/api/v1/system/info").json()
        hosts, most = info["hosts"], info["conversation_manager"]["max_hosts"]
        if any(h["conversations"] == 0 for h in hosts) or len(hosts) >= most:
            return
        assert time.monotonic() < deadline, info
        time.sleep(0.1)


def metric_names(nodes: Any, timeout_s: float = 60) -> set[str]:
    """The metric names the alive nodes' Prometheus endpoints export, once the project's appear."""
    deadline = time.monotonic() + timeout_s
    while True:
        names: set[str] = set()
        for node in nodes:
            if not node["alive"] or not node["metrics_port"]:
                continue
            text = httpx.get(f"http://{node['address']}:{node['metrics_port']}/metrics", timeout=10).text
            names |= {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
        if "ray_penguin_turns_total" in names or time.monotonic() > deadline:
            return names
        time.sleep(2)
