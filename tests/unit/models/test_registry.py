"""ModelRegistry: default choice, switching, persistence, and errors that list the valid ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from penguin_actors.errors import ConfigError, NotFound
from penguin_actors.models.registry import ModelRegistry
from tests.support import make_settings

CATALOG = [
    {"id": "claude", "name": "anthropic/claude-x", "provider": "anthropic", "vision_enabled": True},
    {"id": "gpt", "name": "openai/gpt-x", "provider": "openai", "price_input_per_mtok": 2, "price_output_per_mtok": 8},
    {"id": "local", "name": "openai-compatible/llama", "provider": "openai-compatible", "base_url": "http://x/v1"},
    {"id": "sim", "name": "sim/penguin-sim", "provider": "sim"},
]


def registry(tmp_path: Path, env: dict[str, str] | None = None, **overrides: object) -> ModelRegistry:
    return ModelRegistry(make_settings(tmp_path, **overrides), env=env or {})


async def test_without_keys_the_default_is_sim(tmp_path: Path) -> None:
    """With no provider key set, the built-in catalog answers with the simulated model."""
    reg = registry(tmp_path)
    assert (await reg.current()).id == "sim" and (await reg.current()).simulated
    assert "simulated" in await reg.startup_note() and "ANTHROPIC_API_KEY" in await reg.startup_note()
    assert [m.id for m in await reg.list_models() if m.current] == ["sim"]


async def test_with_a_key_the_first_usable_model_is_default(tmp_path: Path) -> None:
    """A set provider key makes that provider's first model the default."""
    reg = registry(tmp_path, env={"OPENAI_API_KEY": "sk-test"}, **{"models.catalog": CATALOG})
    assert (await reg.current()).id == "gpt"
    assert {m.id: m.available for m in await reg.list_models()} == {
        "claude": False,
        "gpt": True,
        "local": True,
        "sim": True,
    }


async def test_configured_default_wins_over_keys(tmp_path: Path) -> None:
    """models.default names the default regardless of which keys are set."""
    reg = registry(tmp_path, env={"OPENAI_API_KEY": "k"}, **{"models.catalog": CATALOG, "models.default": "local"})
    assert (await reg.current()).id == "local"


async def test_unknown_configured_default_is_a_config_error(tmp_path: Path) -> None:
    """A default that is not in the catalog is refused, listing the catalog."""
    with pytest.raises(ConfigError, match="'nope' is not in the catalog"):
        registry(tmp_path, **{"models.catalog": CATALOG, "models.default": "nope"})


async def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    """Two catalog entries may not share an id."""
    with pytest.raises(ConfigError, match="share an id"):
        registry(tmp_path, **{"models.catalog": [CATALOG[3], CATALOG[3]]})


async def test_load_switches_and_survives_a_restart(tmp_path: Path) -> None:
    """A model loaded at run time is the default after the registry is rebuilt from disk."""
    reg = registry(tmp_path, **{"models.catalog": CATALOG})
    result = await reg.load("claude")
    assert result.model_id == "claude" and result.current_model == "anthropic/claude-x"
    assert not result.available and result.warning and "ANTHROPIC_API_KEY" in result.warning
    assert (await registry(tmp_path, **{"models.catalog": CATALOG}).current()).id == "claude"


async def test_changed_configured_default_beats_an_old_run_time_choice(tmp_path: Path) -> None:
    """Editing models.default after a /models/load makes the new configured default current."""
    await registry(tmp_path, **{"models.catalog": CATALOG}).load("claude")
    assert (await registry(tmp_path, **{"models.catalog": CATALOG, "models.default": "gpt"}).current()).id == "gpt"


async def test_unknown_model_is_not_found_with_valid_ids(tmp_path: Path) -> None:
    """Loading an unknown id fails and the error carries every valid id."""
    reg = registry(tmp_path, **{"models.catalog": CATALOG})
    with pytest.raises(NotFound) as info:
        await reg.load("gpt-5")
    assert info.value.details["valid_ids"] == ["claude", "gpt", "local", "sim"]
    assert "claude, gpt, local, sim" in info.value.message
    assert (await reg.current()).id == "sim"
