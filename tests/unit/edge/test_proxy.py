"""Typed proxies: a proxy's methods are its class's async methods; anything else is refused before Ray is asked."""

from __future__ import annotations

import inspect

import pytest

from penguin_actors.conversation import ConversationHost
from penguin_actors.edge.proxy import ActorProxy, proxy
from penguin_actors.models import ModelRegistry
from penguin_actors.store import CheckpointStore


def test_a_proxy_offers_the_async_methods_and_refuses_the_rest() -> None:
    models = proxy(ModelRegistry, "models", "penguin")
    assert isinstance(models, ActorProxy) and callable(models.get)
    with pytest.raises(AttributeError, match=r"ModelRegistry\.ids is not an async method"):
        models.ids  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_method"):
        proxy(CheckpointStore, "checkpoints", "penguin").no_such_method  # noqa: B018


def test_a_proxy_asks_ray_only_when_a_call_is_awaited() -> None:
    """Calling a proxy's method makes a coroutine; the actor is looked up when it runs."""
    store = proxy(CheckpointStore, "checkpoints", "penguin")
    assert inspect.iscoroutinefunction(CheckpointStore.load_messages)
    coroutine = store.load_messages("conv_x")
    assert inspect.iscoroutine(coroutine)
    coroutine.close()


def test_every_conversation_call_of_the_gateway_is_a_host_method() -> None:
    """What ``Conversations`` calls on a host by name exists there, as an async method taking the id first."""
    called = {"start_turn", "cancel", "wait", "rollback", "update", "add_context_file"}
    for method in called:
        attribute = getattr(ConversationHost, method)
        assert inspect.iscoroutinefunction(attribute), method
        assert list(inspect.signature(attribute).parameters)[1] == "conversation_id", method
    assert inspect.isasyncgenfunction(ConversationHost.events)
