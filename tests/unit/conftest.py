"""Unit tests run without Ray: starting or joining one here is an error, not a slow test."""

from __future__ import annotations

import pytest


def _refuse(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a unit test tried to start Ray: drive the plain class, or move the test to tests/actors")


@pytest.fixture(autouse=True)
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "init", _refuse)
