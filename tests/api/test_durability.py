"""Durability through Serve: what was acknowledged survives the store's actor crashing and restarting."""

from __future__ import annotations

import time

import httpx
import pytest
import ray

pytestmark = pytest.mark.ray


def test_store_restart_loses_no_acknowledged_message(client: httpx.Client) -> None:
    """After the CheckpointStore actor is killed and restarted by Ray, every conversation holds its messages."""
    conversations = []
    for i in range(3):
        first = client.post("/api/v1/chat/message", json={"text": f"durable {i}"})
        assert first.status_code == 200, first.text
        again = {"text": f"again {i}", "conversation_id": first.json()["conversation_id"]}
        body = client.post("/api/v1/chat/message", json=again).json()
        conversations.append(body["conversation_id"])
    before = {c: client.get(f"/api/v1/conversations/{c}").json()["messages"] for c in conversations}
    ray.kill(ray.get_actor("checkpoints", namespace="penguin"), no_restart=False)
    deadline = time.monotonic() + 60
    while (health := client.get("/api/v1/health").json())["actors"]["checkpoints"] != "alive":
        assert time.monotonic() < deadline, health
        time.sleep(0.2)
    for conversation in conversations:
        answer = client.get(f"/api/v1/conversations/{conversation}")
        assert answer.status_code == 200, answer.text
        assert answer.json()["messages"] == before[conversation]
        reply = client.post("/api/v1/chat/message", json={"text": "after restart", "conversation_id": conversation})
        assert reply.status_code == 200, reply.text
        assert len(client.get(f"/api/v1/conversations/{conversation}").json()["messages"]) == 6
