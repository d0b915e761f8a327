"""Is each system actor alive? Asked of Ray, never assumed."""

from __future__ import annotations

import asyncio
from typing import Literal

import ray

from penguin_actors.edge.names import SYSTEM_ROLES

ActorState = Literal["alive", "unresponsive", "not_running", "absent"]


async def actor_state(name: str, namespace: str, timeout_s: float = 2.0) -> ActorState:
    """The state of one named actor: ``not_running`` if Ray has none, ``unresponsive`` if it does not answer."""
    try:
        handle = ray.get_actor(name, namespace=namespace)
    except ValueError:
        return "not_running"
    try:
        await asyncio.wait_for(handle.__ray_ready__.remote(), timeout_s)
    except (TimeoutError, ray.exceptions.RayActorError):
        return "unresponsive"
    return "alive"


async def system_actor_states(namespace: str) -> dict[str, ActorState]:
    """The state of every system actor, asked concurrently."""
    states = await asyncio.gather(*(actor_state(name, namespace) for name in SYSTEM_ROLES))
    return dict(zip(SYSTEM_ROLES, states, strict=True))
