"""Dependencies of the route handlers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from penguin_actors import runtime
from penguin_actors.config import Settings


class ActorHandles:
    """Named actor handles, looked up once per replica and reused (a handle survives actor restarts)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._handles: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = runtime.get_actor(name, self.namespace)
        return handle


def get_settings(conn: HTTPConnection) -> Settings:
    settings = conn.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def get_handles(conn: HTTPConnection) -> ActorHandles:
    handles = conn.app.state.handles
    assert isinstance(handles, ActorHandles)
    return handles


def get_models(handles: Annotated[ActorHandles, Depends(get_handles)]) -> Any:
    return handles.get("models")


SettingsDep = Annotated[Settings, Depends(get_settings)]
HandlesDep = Annotated[ActorHandles, Depends(get_handles)]
ModelsDep = Annotated[Any, Depends(get_models)]
