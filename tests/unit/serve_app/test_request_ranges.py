"""Ranges of the knobs a request may turn: max_iterations of a chat, time_limit of a task."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from serve_app.app import create_app
from serve_app.schemas import ChatRequest, TaskRequest
from tests.support import make_settings


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("value", [0, -1, 51, 10**9, 1.5, "five", None])
async def test_chat_max_iterations_out_of_range_is_422(http: httpx.AsyncClient, value: object) -> None:
    """A chat asking for max_iterations outside 1..50 (or not an integer) answers 422 naming the field."""
    response = await http.post("/api/v1/chat/message", json={"text": "hi", "max_iterations": value})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "max_iterations" in error["message"]


@pytest.mark.parametrize("value", [1, 50])
def test_chat_max_iterations_bounds_are_allowed(value: int) -> None:
    """1 and 50 are both valid max_iterations."""
    assert ChatRequest(text="hi", max_iterations=value).max_iterations == value


@pytest.mark.parametrize(
    ("field", "value"),
    [("time_limit", 0), ("time_limit", -5), ("time_limit", 1441), ("max_iterations", 0), ("max_iterations", 51)],
)
def test_task_limits_out_of_range_are_refused(field: str, value: float) -> None:
    """A task's time_limit outside (0, 1440] minutes, or max_iterations outside 1..50, fails validation."""
    with pytest.raises(ValidationError, match=field):
        TaskRequest.model_validate({"name": "t", field: value})


@pytest.mark.parametrize(("field", "value"), [("time_limit", 0.5), ("time_limit", 1440), ("max_iterations", 50)])
def test_task_limits_in_range_are_kept(field: str, value: float) -> None:
    """Values inside the ranges are kept as given."""
    assert getattr(TaskRequest.model_validate({"name": "t", field: value}), field) == value
