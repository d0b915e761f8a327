"""System routes through Ray Serve: real values from the running cluster, contract shapes."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from penguin_actors import __version__
from penguin_actors.edge.system import SYSTEM_ACTORS

pytestmark = pytest.mark.ray


def test_health_reports_every_system_actor(client: httpx.Client) -> None:
    """Health lists each system actor with its state as Ray reports it, and the live node count."""
    body = client.get("/api/v1/health").json()
    assert body["status"] == "healthy"
    assert set(body["actors"]) == {spec.name for spec in SYSTEM_ACTORS}
    for spec in SYSTEM_ACTORS:
        assert body["actors"][spec.name] == "alive"
    assert body["ray"] == {"connected": True, "namespace": "penguin", "nodes_alive": 1, "dashboard_url": None}


def test_system_info_has_the_contract_keys(client: httpx.Client) -> None:
    """System info carries the contract's keys; components not running say so."""
    body = client.get("/api/v1/system/info").json()
    for key in (
        "penguin_version",
        "engine_available",
        "checkpoints_enabled",
        "current_model",
        "conversation_manager",
        "tool_manager",
        "memory_provider",
    ):
        assert key in body
    assert body["penguin_version"] == __version__
    assert body["checkpoints_enabled"] is True and body["engine_available"] is True
    assert body["memory_provider"] == {"initialized": True, "provider_type": "LanceDB"}
    assert body["tool_manager"] == {"active": True, "total_tools": 10}
    assert len(body["nodes"]) == 1
    node = body["nodes"][0]
    assert node["alive"] and node["is_head"] and node["resources"]["CPU"] == 2.0


def test_system_info_names_the_current_session(client: httpx.Client) -> None:
    """The current session is the most recently active conversation, with its message count."""
    chatted = client.post("/api/v1/chat/message", json={"text": "be current"}).json()
    manager = client.get("/api/v1/system/info").json()["conversation_manager"]
    assert manager["active"] is True
    assert manager["current_session_id"] == chatted["conversation_id"] and manager["total_messages"] == 2
    assert 1 <= manager["active_conversations"] <= manager["max_active_conversations"]


def test_system_status_is_timely_and_truthful(client: httpx.Client) -> None:
    """Status has the contract's keys, a current timestamp, and no invented token usage."""
    body = client.get("/api/v1/system/status").json()
    assert body["status"] == "active"
    assert body["continuous_mode"] is False
    assert body["initialization"]["core_initialized"] is True
    stamp = datetime.fromisoformat(body["timestamp"])
    assert abs((datetime.now(stamp.tzinfo) - stamp).total_seconds()) < 60


def test_capabilities_match_the_routes_served(client: httpx.Client) -> None:
    """A capability is true exactly when the route that provides it is served."""
    body = client.get("/api/v1/capabilities").json()
    assert body["api_version"] == "v1" and body["penguin_version"] == __version__
    paths = set(client.get("/api/openapi.json").json()["paths"])
    caps = body["capabilities"]
    assert caps["model_switching"] is ("/api/v1/models/load" in paths)
    assert caps["checkpoint_management"] is ("/api/v1/checkpoints/create" in paths)
    assert caps["file_upload"] is ("/api/v1/upload" in paths)
    assert caps["task_execution"] is ("/api/v1/tasks/execute" in paths)
    assert caps["context_files"] is ("/api/v1/context-files" in paths)


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_docs_pages_are_served(client: httpx.Client, path: str) -> None:
    """Swagger UI and ReDoc pages load and point at the app's OpenAPI document."""
    response = client.get(path)
    assert response.status_code == 200
    assert "/api/openapi.json" in response.text


def test_openapi_document_lists_the_api(client: httpx.Client) -> None:
    """The OpenAPI document describes the /api/v1 routes."""
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "Penguin Actors"
    assert {"/api/v1/health", "/api/v1/system/info", "/api/v1/system/status", "/api/v1/capabilities"} <= set(
        spec["paths"]
    )


def test_index_and_static_are_served(client: httpx.Client) -> None:
    """The page at / and its static assets come from the server itself."""
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/docs" in page.text
    assert client.get("/static/style.css").status_code == 200


def test_unknown_route_is_404_json_through_serve(client: httpx.Client) -> None:
    """Through the Serve proxy too, an unknown route answers the JSON error shape."""
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
