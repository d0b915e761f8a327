"""The HTTP/WebSocket layer of Penguin Actors: a FastAPI app behind a Ray Serve ingress.

``serve run serve_app:app`` builds the application from ``penguin.yaml`` and
``PENGUIN_*`` environment variables when ``app`` is first read.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from penguin_actors.config import load_settings
        from serve_app.app import build

        return build(load_settings())
    raise AttributeError(f"module 'serve_app' has no attribute {name!r}")
