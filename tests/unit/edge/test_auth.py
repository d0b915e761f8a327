"""Ray's token authentication is chosen on purpose, and an explicit RAY_AUTH_MODE always wins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from penguin_actors.edge.auth import choose_ray_auth_mode
from tests.support import make_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_local_start_leaves_token_mode_to_ray(tmp_path: Path) -> None:
    """Starting a local Ray with auth_mode token leaves RAY_AUTH_MODE unset: Ray turns tokens on and makes one."""
    assert choose_ray_auth_mode(make_settings(tmp_path), joining=False) == "token"
    assert "RAY_AUTH_MODE" not in os.environ


def test_joining_with_a_token_sets_token_mode(tmp_path: Path) -> None:
    """Joining with ~/.ray/auth_token at hand sets RAY_AUTH_MODE=token; without one, leaves it unset."""
    assert choose_ray_auth_mode(make_settings(tmp_path), joining=True) == "token"
    assert "RAY_AUTH_MODE" not in os.environ
    token = tmp_path / "home" / ".ray" / "auth_token"
    token.parent.mkdir(parents=True)
    token.write_text("t")
    choose_ray_auth_mode(make_settings(tmp_path), joining=True)
    assert os.environ["RAY_AUTH_MODE"] == "token"


def test_disabled_is_set_and_explicit_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """auth_mode disabled sets RAY_AUTH_MODE=disabled; a value already in the environment is kept."""
    assert choose_ray_auth_mode(make_settings(tmp_path, **{"ray.auth_mode": "disabled"}), joining=False) == "disabled"
    assert os.environ["RAY_AUTH_MODE"] == "disabled"
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert choose_ray_auth_mode(make_settings(tmp_path, **{"ray.auth_mode": "disabled"}), joining=True) == "token"
