"""The two shapes of the server a benchmark measures, one server after the other: ``hosted`` and ``solo``.

- ``hosted``: the defaults, many conversations per Ray actor process (``host:<n>``, up to
  ``activation.conversations_per_actor`` each); its figures keep the report's old key ``server``.
- ``solo``: ``activation.conversations_per_actor: 1``, one Ray actor process per conversation
  (``conv:<id>``), the shape before hosts; its figures are under ``solo``.

Every server benchmark takes ``--modes`` (default ``hosted,solo``) and starts, for each mode in
turn, its own ``harness.Server`` with the mode's settings; only one server runs at a time.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmarks import harness
from penguin_actors.config import ActivationSettings

T = TypeVar("T")


DEFAULT_MODES = "hosted,solo"


@dataclass(frozen=True)
class Mode:
    """A server shape: its name, the report's key for its figures, and the activation settings it changes."""

    name: str
    key: str
    what: str
    activation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def solo(self) -> bool:
        return self.activation.get("conversations_per_actor") == 1


HOSTED = Mode("hosted", "server", "many conversations per Ray actor process (`host:<n>`; the defaults)")
SOLO = Mode(
    "solo",
    "solo",
    "one Ray actor process per conversation (`conv:<id>`; `activation.conversations_per_actor: 1`)",
    {"conversations_per_actor": 1},
)
MODES = (HOSTED, SOLO)
KEYS = {mode.key: mode.name for mode in MODES}  # report key -> mode name: server -> hosted, solo -> solo


def parse(text: str) -> tuple[Mode, ...]:
    """``hosted,solo`` → the modes, in the order given, each once; ValueError for an unknown name."""
    by_name = {mode.name: mode for mode in MODES}
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in by_name]
    if unknown or not names:
        raise ValueError(f"--modes takes a comma-separated subset of {list(by_name)}, not {text!r}")
    return tuple(by_name[name] for name in names)


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--modes",
        default=DEFAULT_MODES,
        help="server shapes, one server each, in turn: hosted (the defaults), solo (conversations_per_actor 1)",
    )


def from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Mode, ...]:
    """The modes ``--modes`` names (a parser error for an unknown one)."""
    try:
        return parse(args.modes)
    except ValueError as exc:
        parser.error(str(exc))


def per_host() -> int:
    """Conversations a host holds by default (``activation.conversations_per_actor``)."""
    return ActivationSettings().conversations_per_actor


def host_room(conversations: int) -> dict[str, Any]:
    """``conversations_per_actor`` giving ``conversations`` room on the default number of hosts (one per CPU of
    this machine), so the run measures the default number of processes; nothing when the default size does."""
    hosts = os.cpu_count() or 1
    size = math.ceil(conversations / hosts)
    return {"conversations_per_actor": size} if size > per_host() else {}


SOLO_MAX_CLIENTS = 64  # solo: a process per conversation; 256 of them (~17 GB) do not fit a small machine


def activation(mode: Mode, max_active: int, **extra: Any) -> dict[str, Any]:
    """A mode's ``activation`` section: ``max_active``, ``extra``, what the mode changes, and for ``hosted``
    enough hosts for ``max_active`` conversations."""
    section = {"max_active": max_active, **extra, **mode.activation}
    return section if mode.solo else section | host_room(max_active)


async def each(
    modes: Sequence[Mode],
    workdir: Path,
    config_of: Callable[[Mode], Mapping[str, Any]],
    serve: Callable[[Mode, harness.Server], Awaitable[T]],
    env: Mapping[str, str] | None = None,
) -> dict[str, T]:
    """For each mode in turn, start its server (``config_of(mode)``), run ``serve`` on it and stop it;
    the results by the mode's report key."""
    found: dict[str, T] = {}
    for mode in modes:
        with (
            harness.timed(f"server ({mode.name})"),
            harness.Server(workdir / f"server-{mode.name}", config_of(mode), env) as server,
        ):
            found[mode.key] = await serve(mode, server)
    return found
