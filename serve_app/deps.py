"""Dependencies of the route handlers, as ``Annotated`` aliases of the runtime's own types.

The store, the model registry and the task engine are typed proxies of their actors
(``edge/proxy.py``): each call is checked against the real class.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from penguin_actors.config import Settings
from penguin_actors.edge.gateway import Conversations, Gateway
from penguin_actors.models import ModelRegistry
from penguin_actors.store import CheckpointStore
from penguin_actors.tasks import TaskEngine


def get_settings(conn: HTTPConnection) -> Settings:
    settings = conn.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def get_gateway(conn: HTTPConnection) -> Gateway:
    gateway = conn.app.state.gateway
    assert isinstance(gateway, Gateway)
    return gateway


def get_conversations(gateway: Annotated[Gateway, Depends(get_gateway)]) -> Conversations:
    return gateway.conversations


def get_store(gateway: Annotated[Gateway, Depends(get_gateway)]) -> CheckpointStore:
    return gateway.store


def get_models(gateway: Annotated[Gateway, Depends(get_gateway)]) -> ModelRegistry:
    return gateway.models


def get_tasks(gateway: Annotated[Gateway, Depends(get_gateway)]) -> TaskEngine:
    return gateway.tasks


SettingsDep = Annotated[Settings, Depends(get_settings)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
ConversationsDep = Annotated[Conversations, Depends(get_conversations)]
StoreDep = Annotated[CheckpointStore, Depends(get_store)]
ModelsDep = Annotated[ModelRegistry, Depends(get_models)]
TasksDep = Annotated[TaskEngine, Depends(get_tasks)]
