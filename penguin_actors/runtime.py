"""The Ray edge: start or join Ray, wrap plain classes as named actors, find them again.

Every other module is plain Python; this one (and ``serve_app``) is where Ray's
API is called, so the rest can be unit-tested without Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import ray

from penguin_actors.config import Settings
from penguin_actors.errors import PenguinError, Unavailable
from penguin_actors.ray_auth import choose_ray_auth_mode

log = logging.getLogger(__name__)

ActorState = Literal["alive", "unresponsive", "not_running", "absent"]


@dataclass(frozen=True)
class SystemActor:
    """A named, detached system actor: its logic is the plain class at ``target``.

    ``target`` is ``"module:Class"``, or None while the component is not built,
    in which case it is reported as ``absent`` and never created.
    """

    name: str
    role: str
    target: str | None


SYSTEM_ACTORS: tuple[SystemActor, ...] = (
    SystemActor("checkpoints", "CheckpointStore", "penguin_actors.checkpoints:CheckpointStore"),
    SystemActor("models", "ModelRegistry", "penguin_actors.models.registry:ModelRegistry"),
    SystemActor("tasks", "TaskEngine", "penguin_actors.task_actor:TaskEngineActor"),
    SystemActor("directory", "ConversationDirectory", "penguin_actors.actors:DirectoryActor"),
)


def check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast, with a clear message, when a ``host:port`` Ray address does not answer."""
    if address == "auto" or "://" in address:
        return
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise Unavailable(f"Ray address {address!r} is not host:port: pass e.g. 127.0.0.1:6379, or 'auto'")
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise Unavailable(
            f"cannot reach a Ray cluster at {address} within {timeout_s:g}s ({exc.strerror or exc}): "
            "start one with `ray start --head`, or leave --address unset to run a local Ray"
        ) from None


@dataclass(frozen=True)
class Connection:
    """What ``connect`` did: whether this process started Ray, and where its dashboard is."""

    started_local: bool
    address: str
    dashboard_url: str | None


def connect(settings: Settings) -> Connection:
    """Start a local Ray or join ``settings.ray.address`` (or ``RAY_ADDRESS``)."""
    address = settings.ray.address or os.environ.get("RAY_ADDRESS") or None
    choose_ray_auth_mode(settings, joining=bool(address))  # too late if Ray is loaded: callers do it first
    if address:
        check_reachable(address, settings.ray.connect_timeout_s)
        try:
            context = ray.init(address=address, namespace=settings.ray.namespace, logging_level=logging.WARNING)
        except ConnectionError as exc:
            raise Unavailable(f"cannot join the Ray cluster at {address}: {exc}") from None
        return Connection(False, context.address_info["gcs_address"], _url(context.dashboard_url))
    context = ray.init(
        address="local",  # a new local Ray: never join one found on this machine by accident
        namespace=settings.ray.namespace,
        num_cpus=settings.ray.num_cpus,
        include_dashboard=settings.ray.dashboard,
        dashboard_host=settings.ray.dashboard_host,
        dashboard_port=settings.ray.dashboard_port,
        logging_level=logging.WARNING,
    )
    dashboard = _url(context.dashboard_url) if settings.ray.dashboard else None
    return Connection(True, context.address_info["gcs_address"], dashboard)


def _url(address: str | None) -> str | None:
    if not address:
        return None
    return address if "://" in address else f"http://{address}"


def _load(target: str) -> type:
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert isinstance(cls, type)
    return cls


HEAD_NODE_RESOURCE = "node:__internal_head__"  # Ray gives the head node 1 of it


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


def ensure_system_actors(settings: Settings) -> dict[str, ray.actor.ActorHandle]:
    """Get or create every built system actor; a second start joins the running ones."""
    handles = {}
    for spec in SYSTEM_ACTORS:
        if spec.target is None:
            continue
        cls = ray.remote(_load(spec.target))
        options = actor_options(spec.name, settings.ray.namespace, on_head=settings.ray.system_actors_on_head)
        handle = cls.options(**options).remote(settings)
        handles[spec.name] = handle
    ray.get([h.__ray_ready__.remote() for h in handles.values()])
    return handles


def get_actor(name: str, namespace: str) -> ray.actor.ActorHandle:
    """Look up a named actor; raise Unavailable with what to do when it does not exist."""
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        raise Unavailable(
            f"actor {name!r} is not running in namespace {namespace!r}: start the server with `penguin-actors serve`"
        ) from None


async def actor_state(spec: SystemActor, namespace: str, timeout_s: float = 2.0) -> ActorState:
    """The state of one system actor, asked of Ray (never assumed)."""
    if spec.target is None:
        return "absent"
    try:
        handle = ray.get_actor(spec.name, namespace=namespace)
    except ValueError:
        return "not_running"
    try:
        await asyncio.wait_for(handle.__ray_ready__.remote(), timeout_s)
    except (TimeoutError, ray.exceptions.RayActorError):
        return "unresponsive"
    return "alive"


async def call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Await an actor method; its PenguinError reaches the caller as itself, a dead actor as Unavailable."""
    with _actor_errors():
        return await method.remote(*args, **kwargs)


async def stream(method: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    """The items of an actor generator method, with ``call``'s error mapping."""
    with _actor_errors():
        async for ref in method.remote(*args, **kwargs):
            yield await ref


def call_blocking(method: Any, *args: Any, timeout_s: float = 60.0, **kwargs: Any) -> Any:
    """``call`` for code without an event loop (a tool's Ray task); Unavailable after ``timeout_s``."""
    with _actor_errors():
        try:
            return ray.get(method.remote(*args, **kwargs), timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            raise Unavailable(f"an actor this call needs did not answer within {timeout_s:g} s: try again") from None


@contextlib.contextmanager
def _actor_errors() -> Iterator[None]:
    try:
        yield
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, PenguinError):
            raise exc.cause from None
        raise
    except ray.exceptions.RayActorError as exc:
        raise Unavailable(f"an actor this request needs is not running ({type(exc).__name__}): try again") from None


def kill_system_actors(namespace: str) -> None:
    """Stop the system actors (used when this process owns the cluster's lifetime)."""
    for spec in SYSTEM_ACTORS:
        try:
            ray.kill(ray.get_actor(spec.name, namespace=namespace), no_restart=True)
        except ValueError:
            continue


async def system_actor_states(namespace: str) -> dict[str, ActorState]:
    """The state of every system actor, asked concurrently."""
    states = await asyncio.gather(*(actor_state(spec, namespace) for spec in SYSTEM_ACTORS))
    return {spec.name: state for spec, state in zip(SYSTEM_ACTORS, states, strict=True)}


def cluster_nodes() -> list[dict[str, Any]]:
    """The cluster's nodes as Ray's GCS reports them (a blocking call: run it off the event loop)."""
    nodes = []
    for node in ray.nodes():
        resources = {k: float(v) for k, v in node.get("Resources", {}).items() if not k.startswith("node:")}
        nodes.append(
            {
                "node_id": node["NodeID"],
                "address": node.get("NodeManagerAddress", ""),
                "alive": bool(node.get("Alive")),
                "is_head": HEAD_NODE_RESOURCE in node.get("Resources", {}),
                "resources": resources,
                "metrics_port": node.get("MetricsExportPort"),
            }
        )
    return nodes
