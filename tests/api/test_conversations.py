"""Conversation routes through Serve: create, list, open, rename, delete, and their bad input."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.ray, pytest.mark.both_modes]


def create(client: httpx.Client, **body: object) -> dict[str, object]:
    answer = client.post("/api/v1/conversations/create", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_create_then_open(client: httpx.Client) -> None:
    """A created conversation has an id, a title and no messages, and can be opened."""
    created = create(client, title="Plans")
    assert created["conversation_id"] == created["id"] and created["title"] == "Plans"
    opened = client.get(f"/api/v1/conversations/{created['id']}").json()
    assert opened["messages"] == [] and opened["message_count"] == 0 and opened["title"] == "Plans"


def test_create_without_body_and_with_a_model(client: httpx.Client) -> None:
    """The body is optional; a model_id must be a known model."""
    assert client.post("/api/v1/conversations/create").status_code == 201
    assert create(client, model_id="fake-openai")["model_id"] == "fake-openai"
    unknown = client.post("/api/v1/conversations/create", json={"model_id": "gpt-17"})
    assert unknown.status_code == 404 and "sim" in unknown.json()["error"]["details"]["valid_ids"]


def test_list_is_newest_first_with_paging(client: httpx.Client) -> None:
    """The list is ordered by last activity, pages with limit/offset and reports the total."""
    ids = [create(client, title=f"page {i}")["id"] for i in range(3)]
    first = client.get("/api/v1/conversations", params={"limit": 2}).json()
    assert [c["id"] for c in first["conversations"]] == ids[::-1][:2]
    second = client.get("/api/v1/conversations", params={"limit": 2, "offset": 1}).json()
    assert second["conversations"][0]["id"] == ids[1]
    assert first["total"] == second["total"] >= 3
    for item in first["conversations"]:
        assert {"id", "title", "created_at", "last_active", "message_count"} <= set(item)


def test_rename(client: httpx.Client) -> None:
    """PATCH renames; the new title shows when opened and listed."""
    conversation = create(client, title="old")
    renamed = client.patch(f"/api/v1/conversations/{conversation['id']}", json={"title": "new"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "new"
    assert client.get(f"/api/v1/conversations/{conversation['id']}").json()["title"] == "new"


def test_patch_sets_and_clears_the_conversations_model(client: httpx.Client, llm: object) -> None:
    """PATCH model_id gives the conversation its own model for later turns; model_id null restores the default."""
    conversation = create(client)["id"]
    assert client.patch(f"/api/v1/conversations/{conversation}", json={"model_id": "fake-openai"}).status_code == 200
    turn = client.post("/api/v1/chat/message", json={"text": "who answers?", "conversation_id": conversation})
    assert turn.json()["model"] == "fake-openai"
    cleared = client.patch(f"/api/v1/conversations/{conversation}", json={"model_id": None})
    assert cleared.status_code == 200 and cleared.json()["model_id"] is None
    turn = client.post("/api/v1/chat/message", json={"text": "and now?", "conversation_id": conversation})
    assert turn.json()["model"] == "sim"
    unknown = client.patch(f"/api/v1/conversations/{conversation}", json={"model_id": "gpt-17"})
    assert unknown.status_code == 404 and "sim" in unknown.json()["error"]["details"]["valid_ids"]


def test_delete_then_404(client: httpx.Client) -> None:
    """A deleted conversation is gone: 404 to open, to delete again, and absent from the list."""
    conversation = create(client)
    assert client.delete(f"/api/v1/conversations/{conversation['id']}").json() == {
        "status": "deleted",
        "id": conversation["id"],
    }
    assert client.get(f"/api/v1/conversations/{conversation['id']}").status_code == 404
    assert client.delete(f"/api/v1/conversations/{conversation['id']}").status_code == 404
    listed = client.get("/api/v1/conversations", params={"limit": 500}).json()["conversations"]
    assert conversation["id"] not in {c["id"] for c in listed}


def test_unknown_conversation_is_404_never_created(client: httpx.Client) -> None:
    """Opening an unknown id answers 404 and does not create it."""
    answer = client.get("/api/v1/conversations/conv_doesnotexist")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/conversations/conv_doesnotexist").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/conversations/create", {"title": ""}),
        ("post", "/api/v1/conversations/create", {"title": "x" * 201}),
        ("post", "/api/v1/conversations/create", {"colour": "blue"}),
        ("patch", "/api/v1/conversations/any", {"title": ""}),
        ("patch", "/api/v1/conversations/any", {}),
        ("patch", "/api/v1/conversations/any", {"title": None}),
        ("get", "/api/v1/conversations?limit=0", None),
        ("get", "/api/v1/conversations?limit=501", None),
        ("get", "/api/v1/conversations?offset=-1", None),
    ],
)
def test_bad_input_is_422(client: httpx.Client, method: str, path: str, body: object) -> None:
    """Out-of-range paging, empty or long titles and unknown fields answer 422."""
    answer = client.request(method.upper(), path, json=body)
    assert answer.status_code == 422, answer.text
