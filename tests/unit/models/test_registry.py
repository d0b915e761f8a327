"""ModelRegistry: default choice, switching, persistence, and errors that list the valid ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors.errors import ConfigError, NotFound
from penguin_actors.models.registry import ModelRegistry
from penguin_actors.types import Usage
from tests.support import make_settings

CATALOG = [
    {"id": "claude", "name": "anthropic/claude-x", "provider": "anthropic", "vision_enabled": True},
    {"id": "gpt", "name": "openai/gpt-x", "provider": "openai", "price_input_per_mtok": 2, "price_output_per_mtok": 8},
    {"id": "local", "name": "openai-compatible/llama", "provider": "openai-compatible", "base_url": "http://x/v1"},
    {"id": "sim", "name": "sim/penguin-sim", "provider": "sim"},
]


def registry(tmp_path: Path, env: dict[str, str] | None = None, **overrides: object) -> ModelRegistry:
    return ModelRegistry(make_settings(tmp_path, **overrides), env=env or {})


def test_without_keys_the_default_is_sim(tmp_path: Path) -> None:
    """With no provider key set, the built-in catalog answers with the simulated model."""
    reg = registry(tmp_path)
    assert reg.current().id == "sim" and reg.current().simulated
    assert "simulated" in reg.startup_note() and "ANTHROPIC_API_KEY" in reg.startup_note()
    assert [m.id for m in reg.list_models() if m.current] == ["sim"]


def test_with_a_key_the_first_usable_model_is_default(tmp_path: Path) -> None:
    """A set provider key makes that provider's first model the default."""
    reg = registry(tmp_path, env={"OPENAI_API_KEY": "sk-test"}, **{"models.catalog": CATALOG})
    assert reg.current().id == "gpt"
    assert {m.id: m.available for m in reg.list_models()} == {"claude": False, "gpt": True, "local": True, "sim": True}


def test_configured_default_wins_over_keys(tmp_path: Path) -> None:
    """models.default names the default regardless of which keys are set."""
    reg = registry(tmp_path, env={"OPENAI_API_KEY": "k"}, **{"models.catalog": CATALOG, "models.default": "local"})
    assert reg.current().id == "local"


def test_unknown_configured_default_is_a_config_error(tmp_path: Path) -> None:
    """A default that is not in the catalog is refused, listing the catalog."""
    with pytest.raises(ConfigError, match="'nope' is not in the catalog"):
        registry(tmp_path, **{"models.catalog": CATALOG, "models.default": "nope"})


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    """Two catalog entries may not share an id."""
    with pytest.raises(ConfigError, match="share an id"):
        registry(tmp_path, **{"models.catalog": [CATALOG[3], CATALOG[3]]})


def test_load_switches_and_survives_a_restart(tmp_path: Path) -> None:
    """A model loaded at run time is the default after the registry is rebuilt from disk."""
    reg = registry(tmp_path, **{"models.catalog": CATALOG})
    result = reg.load("claude")
    assert result.model_id == "claude" and result.current_model == "anthropic/claude-x"
    assert not result.available and result.warning and "ANTHROPIC_API_KEY" in result.warning
    assert registry(tmp_path, **{"models.catalog": CATALOG}).current().id == "claude"


def test_changed_configured_default_beats_an_old_run_time_choice(tmp_path: Path) -> None:
    """Editing models.default after a /models/load makes the new configured default current."""
    registry(tmp_path, **{"models.catalog": CATALOG}).load("claude")
    assert registry(tmp_path, **{"models.catalog": CATALOG, "models.default": "gpt"}).current().id == "gpt"


def test_unknown_model_is_not_found_with_valid_ids(tmp_path: Path) -> None:
    """Loading an unknown id fails and the error carries every valid id."""
    reg = registry(tmp_path, **{"models.catalog": CATALOG})
    with pytest.raises(NotFound) as info:
        reg.load("gpt-5")
    assert info.value.details["valid_ids"] == ["claude", "gpt", "local", "sim"]
    assert "claude, gpt, local, sim" in info.value.message
    assert reg.current().id == "sim"


def test_usage_is_kept_per_conversation_and_model_across_restarts(tmp_path: Path) -> None:
    """Recorded usage adds up per conversation and model, is priced, and survives a rebuild."""
    reg = registry(tmp_path, **{"models.catalog": CATALOG})
    reg.record_usage("c1", "gpt", Usage(input_tokens=1000, output_tokens=500))
    reg.record_usage("c1", "gpt", Usage(input_tokens=1000, output_tokens=500))
    reg.record_usage("c2", "sim", Usage(input_tokens=10, output_tokens=5))
    summary = registry(tmp_path, **{"models.catalog": CATALOG}).token_usage("c1")
    assert summary["total"] == {"input": 2010, "output": 1005}
    assert summary["session"] == {"input": 2000, "output": 1000} and summary["session_id"] == "c1"
    assert summary["by_model"]["gpt"] == {"input": 2000, "output": 1000, "cost_usd": pytest.approx(0.012)}
    assert summary["by_model"]["sim"]["cost_usd"] is None
    assert summary["total_cost_usd"] == pytest.approx(0.012)


def test_session_defaults_to_the_most_recently_active_conversation(tmp_path: Path) -> None:
    """Without a conversation id, the session is the conversation that used a model last."""
    reg = registry(tmp_path)
    assert reg.token_usage()["session"] == {"input": 0, "output": 0}
    reg.record_usage("a", "sim", Usage(input_tokens=1, output_tokens=1))
    reg.record_usage("b", "sim", Usage(input_tokens=2, output_tokens=2))
    assert reg.token_usage()["session_id"] == "b"
    assert reg.token_usage()["session"] == {"input": 2, "output": 2}
