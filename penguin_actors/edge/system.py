"""The system actors: the store, the model registry, the task engine and the directory, each named and detached.

Their states are ``health.py``'s.

``SYSTEM_ACTORS`` names each one with the class Ray runs for it. They are get-or-create,
so a second ``serve`` (or a second ingress replica) joining a cluster finds them instead
of starting duplicates; they restart forever, and never replay a call that crashed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ray

from penguin_actors.config import Settings
from penguin_actors.edge.actors import DirectoryActor, TaskEngineActor
from penguin_actors.edge.cluster import HEAD_NODE_RESOURCE
from penguin_actors.edge.names import DIRECTORY, MODELS, STORE, SYSTEM_ROLES, TASKS
from penguin_actors.models import ModelRegistry
from penguin_actors.store import CheckpointStore


@dataclass(frozen=True)
class SystemActor:
    """A named, detached system actor whose logic is the plain class ``cls``."""

    name: str
    role: str
    cls: type


_CLASSES: dict[str, type] = {
    STORE: CheckpointStore,
    MODELS: ModelRegistry,
    TASKS: TaskEngineActor,
    DIRECTORY: DirectoryActor,
}
SYSTEM_ACTORS: tuple[SystemActor, ...] = tuple(
    SystemActor(name, SYSTEM_ROLES[name], _CLASSES[name]) for name in SYSTEM_ROLES
)


def actor_options(name: str, namespace: str, *, on_head: bool = False) -> dict[str, Any]:
    """Options of a system actor: named, detached, restarted forever, never replaying a call.

    ``on_head`` keeps it on the head node (a tiny share of the head's own resource).
    """
    resources = {HEAD_NODE_RESOURCE: 0.001} if on_head else {}
    return {
        "resources": resources,
        "name": name,
        "namespace": namespace,
        "lifetime": "detached",
        "get_if_exists": True,
        "max_restarts": -1,
        # A call retried after it crashed its actor crashes the restarted one too.
        "max_task_retries": 0,
        # These actors mostly wait on I/O and other actors.
        "num_cpus": 0,
    }


def ensure_system_actors(settings: Settings) -> dict[str, Any]:
    """Get or create every system actor, and wait until each is ready; a second start joins the running ones.

    The directory starts its spare conversation hosts too, so that the first conversation waits for no process.
    """
    handles = {}
    for spec in SYSTEM_ACTORS:
        options = actor_options(spec.name, settings.ray.namespace, on_head=settings.ray.system_actors_on_head)
        handles[spec.name] = ray.remote(spec.cls).options(**options).remote(settings)
    ray.get([h.__ray_ready__.remote() for h in handles.values()])
    ray.get(handles[DIRECTORY].warm_up.remote())
    return handles


def kill_system_actors(namespace: str) -> None:
    """Stop the system actors (used when this process owns the cluster's lifetime)."""
    for spec in SYSTEM_ACTORS:
        try:
            ray.kill(ray.get_actor(spec.name, namespace=namespace), no_restart=True)
        except ValueError:
            continue
