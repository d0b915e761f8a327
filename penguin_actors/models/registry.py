"""ModelRegistry: the configured models and the current default.

A plain class; ``edge`` runs it as the named detached actor ``models``, whose callers
await its public methods. The current default chosen at run time is kept in a small
JSON file under ``<workspace>/.penguin`` so a restart keeps it. Token usage is the
checkpoint store's (``store/usage.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, Field

from penguin_actors.config import ModelConfig, Settings
from penguin_actors.errors import ConfigError
from penguin_actors.jsonfile import read_json, write_json_atomic
from penguin_actors.models.base import DEFAULT_KEY_ENV
from penguin_actors.models.catalog import BUILTIN_CATALOG, SIM_MODEL_ID, catalog_of, require_model

log = logging.getLogger(__name__)


class ModelEntry(BaseModel):
    """A model as the API lists it."""

    id: str
    name: str
    provider: str
    vision_enabled: bool
    max_tokens: int
    temperature: float
    context_window: int
    current: bool
    available: bool = Field(description="its provider key is set, or it needs none")
    key_env: str | None = Field(description="the environment variable its key is read from")
    simulated: bool


class LoadResult(BaseModel):
    model_id: str
    current_model: str
    available: bool
    warning: str | None = None


class ModelRegistry:
    """Holds the catalog and the current default model."""

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        self._catalog = catalog_of(settings)
        if len(self._catalog) != len(settings.models.catalog or BUILTIN_CATALOG):
            raise ConfigError("models.catalog: two models share an id; give each a unique id")
        configured = settings.models.default
        if configured is not None and configured not in self._catalog:
            raise ConfigError(f"models.default: {configured!r} is not in the catalog; known: {self.ids()}")
        state_dir = Path(settings.workspace) / ".penguin"
        self._state_path = state_dir / "models.json"
        self._configured_default = configured
        self._current = self._initial_current(configured)

    # --- catalog --------------------------------------------------------------

    def ids(self) -> list[str]:
        return list(self._catalog)

    def key_env(self, model: ModelConfig) -> str | None:
        return model.api_key_env or DEFAULT_KEY_ENV.get(model.provider)

    def available(self, model: ModelConfig) -> bool:
        """True if the model can be called: its key is set, or its provider needs none."""
        if model.provider in ("sim", "openai-compatible") and not model.api_key_env:
            return True
        key_env = self.key_env(model)
        return bool(key_env and self._env.get(key_env))

    async def get(self, model_id: str | None = None) -> ModelConfig:
        """The model with this id (the current default when None); NotFound lists the valid ids."""
        return require_model(self._catalog, model_id or self._current)

    async def list_models(self) -> list[ModelEntry]:
        return [self._entry(m) for m in self._catalog.values()]

    async def current(self) -> ModelEntry:
        return self._entry(self._catalog[self._current])

    async def load(self, model_id: str) -> LoadResult:
        """Make ``model_id`` the default for new turns; the choice survives a restart."""
        model = await self.get(model_id)
        self._current = model.id
        self._save_state()
        available = self.available(model)
        warning = None
        if not available:
            warning = f"{self.key_env(model)} is not set: calls to {model.id} will fail until it is"
        return LoadResult(model_id=model.id, current_model=model.name, available=available, warning=warning)

    async def startup_note(self) -> str:
        """One line for the server's start banner: which model answers, and why."""
        model = self._catalog[self._current]
        if model.provider == "sim":
            keys = " or ".join(sorted({v for v in DEFAULT_KEY_ENV.values()}))
            return f"{model.id} (simulated replies: set {keys} to use a real model)"
        if not self.available(model):
            return f"{model.id} ({self.key_env(model)} is not set: its calls will fail)"
        return f"{model.id} ({model.name})"

    # --- internals ------------------------------------------------------------

    def _entry(self, model: ModelConfig) -> ModelEntry:
        return ModelEntry(
            id=model.id,
            name=model.name,
            provider=model.provider,
            vision_enabled=model.vision_enabled,
            max_tokens=model.max_tokens,
            temperature=model.temperature,
            context_window=model.context_window,
            current=model.id == self._current,
            available=self.available(model),
            key_env=self.key_env(model),
            simulated=model.provider == "sim",
        )

    def _initial_current(self, configured: str | None) -> str:
        saved = read_json(self._state_path)
        # A choice made at run time wins, unless the configured default changed since.
        if saved.get("current") in self._catalog and saved.get("configured_default") == configured:
            return str(saved["current"])
        if configured is not None:
            return configured
        # Without models.default: the first model whose provider key is set, else the simulated one.
        for model in self._catalog.values():
            key_env = self.key_env(model)
            if model.provider != "sim" and key_env and self._env.get(key_env):
                return model.id
        if SIM_MODEL_ID in self._catalog:
            return SIM_MODEL_ID
        return next(iter(self._catalog))

    def _save_state(self) -> None:
        state = {"current": self._current, "configured_default": self._configured_default}
        write_json_atomic(self._state_path, state)
