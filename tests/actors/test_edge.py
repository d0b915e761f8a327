"""The Ray edge: system actors are get-or-create, and their errors reach callers typed."""

from __future__ import annotations

import pytest
import ray

from penguin_actors.edge.calls import call, get_actor
from penguin_actors.edge.system import ensure_system_actors
from penguin_actors.errors import NotFound, Unavailable
from tests.support import Server

pytestmark = pytest.mark.ray


def test_a_second_start_joins_the_running_system_actors(server: Server) -> None:
    """ensure_system_actors on a cluster that has them returns the same actors, state intact."""
    running = ray.get_actor("models", namespace="penguin")
    before = ray.get(running.current.remote())
    handles = ensure_system_actors(server.settings)
    assert handles["models"]._actor_id == running._actor_id
    assert ray.get(handles["models"].current.remote()) == before


async def test_actor_errors_reach_the_caller_as_themselves(server: Server) -> None:
    """A PenguinError raised in an actor is raised again, with its details, by edge.calls.call."""
    models = ray.get_actor("models", namespace="penguin")
    with pytest.raises(NotFound) as info:
        await call(models.load, "no-such-model")
    assert "sim" in info.value.details["valid_ids"]


def test_looking_up_a_missing_actor_says_what_to_do(server: Server) -> None:
    """A missing actor is Unavailable, with the command that starts it."""
    with pytest.raises(Unavailable, match="penguin-actors serve"):
        get_actor("no-such-actor", "penguin")
