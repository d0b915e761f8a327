"""Dependencies of the route handlers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from penguin_actors.config import Settings
from penguin_actors.gateway import Gateway


def get_settings(conn: HTTPConnection) -> Settings:
    settings = conn.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def get_gateway(conn: HTTPConnection) -> Gateway:
    gateway = conn.app.state.gateway
    assert isinstance(gateway, Gateway)
    return gateway


def get_models(gateway: Annotated[Gateway, Depends(get_gateway)]) -> Any:
    return gateway.system("models")


def get_tasks(gateway: Annotated[Gateway, Depends(get_gateway)]) -> Any:
    return gateway.system("tasks")


SettingsDep = Annotated[Settings, Depends(get_settings)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
ModelsDep = Annotated[Any, Depends(get_models)]
TasksDep = Annotated[Any, Depends(get_tasks)]
