"""Checkpoint routes through Serve: automatic and manual checkpoints, rollback, branch, stats, cleanup."""

from __future__ import annotations

import json

import httpx
import pytest

from penguin_actors.testing.fake_llm import FakeLLM, Reply

pytestmark = [pytest.mark.ray, pytest.mark.both_modes]


def chat(client: httpx.Client, text: str, conversation_id: str | None = None, **fields: object) -> dict[str, object]:
    body = {"text": text, **fields, **({"conversation_id": conversation_id} if conversation_id else {})}
    answer = client.post("/api/v1/chat/message", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def messages(client: httpx.Client, conversation_id: str) -> list[str]:
    return [m["content"] for m in client.get(f"/api/v1/conversations/{conversation_id}").json()["messages"]]


def checkpoints(client: httpx.Client, conversation_id: str) -> list[dict[str, object]]:
    answer = client.get("/api/v1/checkpoints", params={"session_id": conversation_id})
    return answer.json()["checkpoints"]  # type: ignore[no-any-return]


def manual(client: httpx.Client, conversation_id: str, name: str = "mark") -> str:
    body = {"name": name, "description": f"{name} description", "conversation_id": conversation_id}
    answer = client.post("/api/v1/checkpoints/create", json=body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "created" and created["name"] == name
    return str(created["checkpoint_id"])


def test_every_committed_message_gets_an_automatic_checkpoint(client: httpx.Client) -> None:
    """With frequency 1, a turn leaves automatic checkpoints after the user message and after the reply."""
    conversation = str(chat(client, "first")["conversation_id"])
    listed = checkpoints(client, conversation)
    autos = sorted(c["message_count"] for c in listed if c["type"] == "auto")  # type: ignore[type-var]
    assert autos == [1, 2]
    for item in listed:
        assert {"id", "name", "description", "created_at", "type", "session_id", "message_count"} <= set(item)
        assert item["session_id"] == conversation


def test_manual_checkpoint_defaults_to_the_most_recent_conversation(client: httpx.Client) -> None:
    """Without conversation_id, a checkpoint is taken of the most recently active conversation."""
    conversation = str(chat(client, "recent one")["conversation_id"])
    answer = client.post("/api/v1/checkpoints/create", json={"name": "implicit"})
    assert answer.status_code == 201 and answer.json()["conversation_id"] == conversation
    newest = checkpoints(client, conversation)[0]
    assert newest["type"] == "manual" and newest["name"] == "implicit" and newest["message_count"] == 2


def test_rollback_then_chat_then_rollback_again(client: httpx.Client, llm: FakeLLM) -> None:
    """Rollback leaves exactly the checkpoint's messages; chat continues from there; the marker undoes it."""
    conversation = str(chat(client, "one", model_id="fake-openai")["conversation_id"])
    point = manual(client, conversation, "after one")
    chat(client, "two", conversation, model_id="fake-openai")
    before = messages(client, conversation)
    assert len(before) == 4
    rolled = client.post(f"/api/v1/checkpoints/{point}/rollback").json()
    assert rolled["status"] == "success" and rolled["checkpoint_id"] == point
    assert rolled["message"] == f"Successfully rolled back to checkpoint {point}"
    assert messages(client, conversation) == before[:2]
    chat(client, "three", conversation, model_id="fake-openai")
    sent = json.dumps(llm.requests[-1].body["messages"])
    assert "one" in sent and "two" not in sent and "three" in sent
    assert len(messages(client, conversation)) == 4
    undo = client.post(f"/api/v1/checkpoints/{rolled['rollback_checkpoint_id']}/rollback")
    assert undo.status_code == 200
    assert messages(client, conversation) == before


def test_branch_is_a_real_conversation_that_never_leaks(client: httpx.Client) -> None:
    """A branch holds the messages up to its checkpoint, is listed and chat-able, and stays apart from its source."""
    source = str(chat(client, "trunk one")["conversation_id"])
    point = manual(client, source)
    answer = client.post(f"/api/v1/checkpoints/{point}/branch", json={"name": "Alt", "description": "other path"})
    assert answer.status_code == 201
    created = answer.json()
    assert created["status"] == "created" and created["source_checkpoint_id"] == point
    assert created["name"] == "Alt" and created["description"] == "other path"
    branch = created["branch_id"]
    listed = {c["id"] for c in client.get("/api/v1/conversations", params={"limit": 500}).json()["conversations"]}
    assert branch in listed
    assert messages(client, branch) == messages(client, source)
    chat(client, "branch only", branch)
    chat(client, "trunk two", source)
    assert not any("trunk two" in m for m in messages(client, branch))
    assert not any("branch only" in m for m in messages(client, source))
    deeper = client.post(f"/api/v1/checkpoints/{manual(client, branch)}/branch", json={"name": "Deeper"}).json()
    assert messages(client, deeper["branch_id"]) == messages(client, branch)


def test_stats_count_by_kind(client: httpx.Client) -> None:
    """Stats count checkpoints by kind and echo the policy."""
    before = client.get("/api/v1/checkpoints/stats").json()
    conversation = str(chat(client, "stats")["conversation_id"])
    manual(client, conversation)
    after = client.get("/api/v1/checkpoints/stats").json()
    assert after["enabled"] is True
    assert after["manual_checkpoints"] == before["manual_checkpoints"] + 1
    assert after["auto_checkpoints"] == before["auto_checkpoints"] + 2
    assert after["total_checkpoints"] == before["total_checkpoints"] + 3
    assert after["config"] == {"frequency": 1, "retention_hours": 24, "max_age_days": 30}


def test_cleanup_reports_the_true_count(client: httpx.Client) -> None:
    """Cleanup answers completed with the number it removed, which matches the change in stats."""
    before = client.get("/api/v1/checkpoints/stats").json()["total_checkpoints"]
    result = client.post("/api/v1/checkpoints/cleanup").json()
    after = client.get("/api/v1/checkpoints/stats").json()["total_checkpoints"]
    assert result["status"] == "completed" and result["cleaned_count"] == before - after
    assert result["message"] == f"Cleaned up {result['cleaned_count']} old checkpoints"


def test_rollback_during_a_turn_is_409(client: httpx.Client, llm: FakeLLM) -> None:
    """Rolling back a conversation while its turn runs answers 409 and changes nothing."""
    conversation = str(chat(client, "start")["conversation_id"])
    point = manual(client, conversation)
    llm.script(Reply(text=" ".join(["slow"] * 40), chunk_delay_s=0.05))
    with httpx.Client(base_url=str(client.base_url), timeout=30) as other:
        body = {"text": "long", "conversation_id": conversation, "model_id": "fake-openai", "streaming": True}
        with other.stream("POST", "/api/v1/chat/message", json=body) as streaming:
            lines = streaming.iter_lines()
            next(line for line in lines if line.startswith("event: token"))
            answer = client.post(f"/api/v1/checkpoints/{point}/rollback")
            assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"
            for _ in lines:
                pass
    assert len(messages(client, conversation)) == 4


def test_unknown_and_deleted_checkpoints_are_404(client: httpx.Client) -> None:
    """Unknown checkpoint ids answer 404; a deleted conversation's checkpoints are gone with it."""
    for path in ("/api/v1/checkpoints/ckpt_nope/rollback", "/api/v1/checkpoints/ckpt_nope/branch"):
        assert client.post(path).status_code == 404
    conversation = str(chat(client, "doomed")["conversation_id"])
    point = manual(client, conversation)
    client.delete(f"/api/v1/conversations/{conversation}")
    assert client.post(f"/api/v1/checkpoints/{point}/rollback").status_code == 404
    assert client.post(f"/api/v1/checkpoints/{point}/branch").status_code == 404


@pytest.mark.parametrize(
    "body", [{"name": "x" * 201}, {"description": "x" * 2001}, {"conversation_id": "bad id"}, {"extra": 1}]
)
def test_bad_checkpoint_requests_are_422(client: httpx.Client, body: dict[str, object]) -> None:
    """Over-long names or descriptions, malformed ids and unknown fields answer 422."""
    assert client.post("/api/v1/checkpoints/create", json=body).status_code == 422
