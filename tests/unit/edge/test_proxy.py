"""Typed proxies: a proxy's methods are its class's async methods; anything else is refused before Ray is asked."""

from __future__ import annotations

import inspect

import pytest

from penguin_actors.conversation import Conversation
from penguin_actors.edge.gateway import Conversations
from penguin_actors.edge.proxy import ActorProxy, proxy
from penguin_actors.models import ModelRegistry
from penguin_actors.store import CheckpointStore
from tests.support import make_settings


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


def test_a_conversation_is_reached_through_its_class(tmp_path: object) -> None:
    """``Conversations.get`` is typed as a Conversation: its async methods, and a stream for ``events``."""
    conversations = Conversations(make_settings(tmp_path))  # type: ignore[arg-type]
    conversation = conversations.get("conv_x")
    assert inspect.isasyncgenfunction(Conversation.events)
    events = conversation.events("turn_x")
    assert hasattr(events, "__anext__")
    with pytest.raises(AttributeError, match=r"Conversation\.status is not an async method"):
        conversation.status  # noqa: B018
