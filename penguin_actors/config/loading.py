"""Loading the settings: ``penguin.yaml``, ``PENGUIN_*`` environment variables and overrides, in that order.

Precedence, lowest first: defaults, the YAML file, environment variables, explicit
overrides (command-line flags). Environment variables name a key either by a
shortcut (``PENGUIN_WORKSPACE``, ``PENGUIN_API_KEY``, ``PENGUIN_HOST``,
``PENGUIN_PORT``, ``PENGUIN_STORAGE_URI``, ``PENGUIN_RAY_ADDRESS``) or by its
path with ``__`` between levels (``PENGUIN_ACTIVATION__MAX_ACTIVE=8``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from penguin_actors.config.sections import Settings
from penguin_actors.errors import ConfigError

ENV_PREFIX = "PENGUIN_"
ENV_SHORTCUTS = {
    "PENGUIN_WORKSPACE": ("workspace",),
    "PENGUIN_STORAGE_URI": ("storage_uri",),
    "PENGUIN_API_KEY": ("server", "api_key"),
    "PENGUIN_HOST": ("server", "host"),
    "PENGUIN_PORT": ("server", "port"),
    "PENGUIN_RAY_ADDRESS": ("ray", "address"),
}
# Read by load_settings itself, never a key of the settings.
ENV_IGNORED = {"PENGUIN_CONFIG"}
DEFAULT_CONFIG_FILE = "penguin.yaml"
# Keys whose invalid values an error message does not repeat.
HIDDEN_VALUES = {"api_key", "api_key_env"}


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Load the settings; a bad file or value raises ConfigError naming the key.

    ``path`` defaults to ``$PENGUIN_CONFIG``, then ``./penguin.yaml`` if it exists.
    ``overrides`` maps dotted keys (``"server.port"``) to values and wins over all.
    """
    env = os.environ if env is None else env
    data = _read_yaml(path or env.get("PENGUIN_CONFIG"))
    for name, value in env.items():
        keys = _env_keys(name)
        if keys:
            _set(data, keys, _env_value(value))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(data, tuple(dotted.split(".")), value)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    return settings.model_copy(update={"workspace": settings.workspace.expanduser().resolve()})


def _read_yaml(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if path is None:
        if not Path(DEFAULT_CONFIG_FILE).is_file():
            return {}
        path = DEFAULT_CONFIG_FILE
    file = Path(path)
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist: pass an existing file or none") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config file {file} cannot be read as YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {file} must hold a mapping of keys, not {type(loaded).__name__}")
    return loaded


def _env_keys(name: str) -> tuple[str, ...] | None:
    if name in ENV_SHORTCUTS:
        return ENV_SHORTCUTS[name]
    if not name.startswith(ENV_PREFIX) or name in ENV_IGNORED:
        return None
    return tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))


def _env_value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return raw
    return raw


def _set(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        key = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            lines.append(f"{key}: unknown key; allowed here: {allowed}")
        elif loc and loc[-1] in HIDDEN_VALUES:
            lines.append(f"{key}: {err['msg']}")  # the value may be a key pasted in the wrong place
        else:
            lines.append(f"{key}: {err['msg']} (got {err.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _allowed_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] | None = Settings
    for part in loc:
        if part.isdigit() or model is None:
            continue  # an index into a list of sections
        field = model.model_fields.get(part)
        model = _section_of(field.annotation) if field else None
    return sorted(model.model_fields) if model else []


def _section_of(annotation: Any) -> type[BaseModel] | None:
    """The settings section an annotation holds, looking inside ``list[...]`` and ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _section_of(arg)
        if found:
            return found
    return None
