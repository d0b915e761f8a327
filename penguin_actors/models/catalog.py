"""The built-in model catalog, used when the settings list none."""

from __future__ import annotations

from collections.abc import Mapping

from penguin_actors.config import ModelConfig, Settings
from penguin_actors.errors import NotFound

SIM_MODEL_ID = "sim"

BUILTIN_CATALOG: tuple[ModelConfig, ...] = (
    ModelConfig(
        id="claude-sonnet",
        name="anthropic/claude-sonnet-4-5",
        provider="anthropic",
        api_key_env="ANTHROPIC_API_KEY",
        vision_enabled=True,
        max_tokens=8192,
        context_window=200_000,
        price_input_per_mtok=3.0,
        price_output_per_mtok=15.0,
    ),
    ModelConfig(
        id="claude-haiku",
        name="anthropic/claude-haiku-4-5",
        provider="anthropic",
        api_key_env="ANTHROPIC_API_KEY",
        vision_enabled=True,
        max_tokens=8192,
        context_window=200_000,
        price_input_per_mtok=1.0,
        price_output_per_mtok=5.0,
    ),
    ModelConfig(
        id="gpt-4o",
        name="openai/gpt-4o",
        provider="openai",
        api_key_env="OPENAI_API_KEY",
        vision_enabled=True,
        max_tokens=4096,
        context_window=128_000,
        price_input_per_mtok=2.5,
        price_output_per_mtok=10.0,
    ),
    ModelConfig(
        id="gpt-4o-mini",
        name="openai/gpt-4o-mini",
        provider="openai",
        api_key_env="OPENAI_API_KEY",
        vision_enabled=True,
        max_tokens=4096,
        context_window=128_000,
        price_input_per_mtok=0.15,
        price_output_per_mtok=0.6,
    ),
    ModelConfig(
        id=SIM_MODEL_ID,
        name="sim/penguin-sim",
        provider="sim",
        vision_enabled=True,
        max_tokens=4096,
        context_window=32_000,
        first_token_delay_s=0.3,
        tokens_per_s=40,
        reply_tokens=60,
    ),
)


def catalog_of(settings: Settings) -> dict[str, ModelConfig]:
    """The models these settings offer, by id: their catalog, or the built-in one. Fixed while the server runs."""
    return {m.id: m for m in (settings.models.catalog or BUILTIN_CATALOG)}


def require_model(catalog: Mapping[str, ModelConfig], model_id: str) -> ModelConfig:
    """The catalog's model ``model_id``; NotFound lists the valid ids."""
    try:
        return catalog[model_id]
    except KeyError:
        known = list(catalog)
        raise NotFound(f"no model {model_id!r}: choose one of {', '.join(known)}", valid_ids=known) from None
