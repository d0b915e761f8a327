"""Ray's token authentication, chosen on purpose before ``import ray`` (Ray reads it when loaded).

Ray 2.59+ turns token authentication on for new local clusters and writes the token to
``~/.ray/auth_token`` when missing; a process joining a cluster needs token mode and
the token (that file, ``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``). An explicit
``RAY_AUTH_MODE`` in the environment always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

from penguin_actors.config import Settings


def token_available() -> bool:
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(path).is_file() if path else (Path.home() / ".ray" / "auth_token").is_file()


def choose_ray_auth_mode(settings: Settings, *, joining: bool) -> str:
    """Set ``RAY_AUTH_MODE`` for this process and its children; the mode chosen.

    ``token`` starting a local Ray leaves the variable unset: that is Ray's own way to
    token auth, and the one that makes the token. Joining, it sets ``token`` when a
    token is at hand. ``disabled`` sets ``disabled``, for a single trusted host.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return os.environ["RAY_AUTH_MODE"]
    if settings.ray.auth_mode == "disabled":
        os.environ["RAY_AUTH_MODE"] = "disabled"
    elif joining and token_available():
        os.environ["RAY_AUTH_MODE"] = "token"
    return settings.ray.auth_mode
