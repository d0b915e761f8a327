"""Calling actors: a PenguinError raised in an actor reaches the caller as itself, a dead actor as Unavailable."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import ray

from penguin_actors.errors import PenguinError, Unavailable


class ActorGone(Unavailable):
    """The actor a call went to died (or was stopped) before it answered."""


def get_actor(name: str, namespace: str) -> Any:
    """Look up a named actor; raise Unavailable with what to do when it does not exist."""
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        raise Unavailable(
            f"actor {name!r} is not running in namespace {namespace!r}: start the server with `penguin-actors serve`"
        ) from None


async def call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Await an actor method with ``actor_errors``' mapping."""
    with actor_errors():
        return await method.remote(*args, **kwargs)


async def stream(method: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
    """The items of an actor generator method, with ``actor_errors``' mapping."""
    with actor_errors():
        async for ref in method.remote(*args, **kwargs):
            yield await ref


def call_blocking(method: Any, *args: Any, timeout_s: float = 60.0, **kwargs: Any) -> Any:
    """``call`` for code without an event loop (a tool's Ray task); Unavailable after ``timeout_s``."""
    with actor_errors():
        try:
            return ray.get(method.remote(*args, **kwargs), timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            raise Unavailable(f"an actor this call needs did not answer within {timeout_s:g} s: try again") from None


@contextlib.contextmanager
def actor_errors() -> Iterator[None]:
    try:
        yield
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, PenguinError):
            raise exc.cause from None
        raise
    except ray.exceptions.RayActorError as exc:
        raise ActorGone(f"an actor this request needs is not running ({type(exc).__name__}): try again") from None
