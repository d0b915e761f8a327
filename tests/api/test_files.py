"""Uploads, context files and vision through Serve: limits, types told by content, paths kept inside."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import httpx
import pytest

from penguin_actors.testing.fake_llm import FakeLLM, Reply
from tests.support import Server

pytestmark = pytest.mark.ray


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def upload(client: httpx.Client, name: str, data: bytes, content_type: str = "image/png") -> httpx.Response:
    return client.post("/api/v1/upload", files={"file": (name, data, content_type)})


def test_png_upload_is_stored_with_a_generated_name(client: httpx.Client, server: Server) -> None:
    """A PNG is stored under uploads/ with a generated name; the response has path, filename, content_type."""
    answer = upload(client, "../../holiday photo.png", png())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    stored = Path(body["path"])
    assert stored.parent == server.settings.workspace / "uploads" and stored.suffix == ".png"
    assert stored.read_bytes() == png()
    assert body["filename"] == "holiday photo.png" and body["content_type"] == "image/png"


def test_text_renamed_png_is_refused(client: httpx.Client) -> None:
    """The type comes from the content: text named .png is refused with 400."""
    answer = upload(client, "fake.png", b"just some text, honestly")
    assert answer.status_code == 400 and "not one of the allowed types" in answer.json()["error"]["message"]


def test_too_large_upload_is_413(client: httpx.Client, server: Server) -> None:
    """An upload over limits.max_upload_bytes answers 413 and stores nothing."""
    before = set((server.settings.workspace / "uploads").glob("*"))
    answer = upload(client, "big.png", png() + b"\x00" * (server.settings.limits.max_upload_bytes + 1))
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert set((server.settings.workspace / "uploads").glob("*")) == before


def test_upload_without_file_is_422(client: httpx.Client) -> None:
    """A multipart body without the file field answers 422."""
    assert client.post("/api/v1/upload", files={"other": ("x.png", png(), "image/png")}).status_code == 422


@pytest.mark.parametrize("model", ["fake-openai", "fake-anthropic"])
def test_uploaded_image_reaches_a_vision_model(client: httpx.Client, llm: FakeLLM, model: str) -> None:
    """image_path from an upload is sent to the model as an image part in its wire format."""
    path = upload(client, "a.png", png()).json()["path"]
    llm.script(Reply(text="a red square"))
    answer = client.post("/api/v1/chat/message", json={"text": "what is it?", "image_path": path, "model_id": model})
    assert answer.status_code == 200, answer.text
    sent = json.dumps(llm.requests[-1].body["messages"])
    encoded = base64.b64encode(png()).decode()
    assert encoded in sent
    assert ("image_url" in sent) if model == "fake-openai" else ('"type": "image"' in sent)


def test_image_for_a_model_without_vision_is_400(client: httpx.Client, llm: FakeLLM) -> None:
    """A model without vision refuses an image with 400 before any model call."""
    path = upload(client, "a.png", png()).json()["path"]
    answer = client.post("/api/v1/chat/message", json={"text": "see?", "image_path": path, "model_id": "blind"})
    assert answer.status_code == 400 and "cannot see images" in answer.json()["error"]["message"]
    assert llm.requests == []


@pytest.mark.parametrize("image_path", ["/etc/hostname", "../outside.png", "uploads/missing.png"])
def test_image_path_outside_or_missing(client: httpx.Client, image_path: str) -> None:
    """image_path outside the workspace answers 400; a missing file 404."""
    answer = client.post("/api/v1/chat/message", json={"text": "see?", "image_path": image_path})
    assert answer.status_code == (404 if "missing" in image_path else 400), answer.text


def test_context_files_list_and_load(client: httpx.Client, server: Server, llm: FakeLLM) -> None:
    """Files under context/ are listed; loading one adds it to the conversation, and the model sees it."""
    folder = server.settings.workspace / "context"
    folder.mkdir(exist_ok=True)
    (folder / "style.md").write_text("Always answer in haiku.")
    listed = client.get("/api/v1/context-files").json()["files"]
    entry = next(f for f in listed if f["path"] == "style.md")
    assert entry["size"] == len("Always answer in haiku.") and entry["type"] == "text/markdown"
    conversation = client.post("/api/v1/conversations/create").json()["id"]
    loaded = client.post("/api/v1/context-files/load", json={"file_path": "style.md", "conversation_id": conversation})
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {
        "status": "loaded",
        "file_path": "context/style.md",
        "conversation_id": conversation,
        "message_count": 1,
    }
    client.post("/api/v1/chat/message", json={"text": "hi", "conversation_id": conversation, "model_id": "fake-openai"})
    assert "Always answer in haiku." in json.dumps(llm.requests[-1].body["messages"])


@pytest.mark.parametrize(("path", "status"), [("../secret.txt", 400), ("/etc/passwd", 400), ("nope.md", 404)])
def test_context_file_outside_or_missing(client: httpx.Client, path: str, status: int) -> None:
    """A path outside context/ answers 400; a missing file 404."""
    conversation = client.post("/api/v1/conversations/create").json()["id"]
    answer = client.post("/api/v1/context-files/load", json={"file_path": path, "conversation_id": conversation})
    assert answer.status_code == status, answer.text


def test_context_files_in_a_chat_request(client: httpx.Client, server: Server, llm: FakeLLM) -> None:
    """context_files of a chat request reach the model; one outside the workspace answers 400."""
    (server.settings.workspace / "notes.txt").write_text("the password is swordfish")
    body = {"text": "what is the password?", "context_files": ["notes.txt"], "model_id": "fake-openai"}
    assert client.post("/api/v1/chat/message", json=body).status_code == 200
    assert "swordfish" in json.dumps(llm.requests[-1].body["messages"])
    body["context_files"] = ["../../etc/passwd"]
    assert client.post("/api/v1/chat/message", json=body).status_code == 400
