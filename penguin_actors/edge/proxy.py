"""Typed proxies of named actors: ``proxy(CheckpointStore, "checkpoints", ns)`` is typed as a CheckpointStore.

The plain classes the actors run expose their remote surface as async methods (and
async generators for streams), so awaiting a proxy's method means what awaiting the
class's own method means, and the type checker checks every call against the real
class. A proxy refuses a method that is not async: through Ray it could not be called
with that meaning.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

from penguin_actors.edge.calls import call, get_actor, stream

T = TypeVar("T")


class ActorProxy:
    """The actor ``name`` behind ``cls``'s async methods; its handle is looked up on first use."""

    def __init__(self, cls: type, name: str, namespace: str) -> None:
        self._cls = cls
        self._name = name
        self._namespace = namespace
        self._handle: Any = None

    def handle(self) -> Any:
        if self._handle is None:
            self._handle = get_actor(self._name, self._namespace)
        return self._handle

    def __getattr__(self, method: str) -> Callable[..., Any]:
        attribute = getattr(self._cls, method, None)
        if inspect.isasyncgenfunction(attribute):
            return lambda *args, **kwargs: self._stream(method, *args, **kwargs)
        if inspect.iscoroutinefunction(attribute):

            async def invoke(*args: Any, **kwargs: Any) -> Any:
                return await call(getattr(self.handle(), method), *args, **kwargs)

            return invoke
        raise AttributeError(
            f"{self._cls.__name__}.{method} is not an async method of the actor {self._name!r}: "
            "a proxy calls only those"
        )

    async def _stream(self, method: str, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for item in stream(getattr(self.handle(), method), *args, **kwargs):
            yield item


def proxy(cls: type[T], name: str, namespace: str) -> T:
    """The actor ``name`` in ``namespace``, typed as the plain class ``cls`` it runs."""
    return cast(T, ActorProxy(cls, name, namespace))
