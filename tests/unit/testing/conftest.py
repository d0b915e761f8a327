"""Fixtures of the fake servers' own tests."""

from __future__ import annotations

import pytest

from penguin_actors.testing.fake_llm import FakeLLM


@pytest.fixture
def fake(fake_llm: FakeLLM) -> FakeLLM:
    """The session's fake LLM with no queued replies and no recorded requests."""
    fake_llm.reset()
    return fake_llm
