"""The Ray edge: everything that calls Ray. The rest of ``penguin_actors`` is plain Python.

- ``auth.py``: Ray's token authentication, chosen before Ray is loaded;
- ``cluster.py``: start a local Ray or join a cluster; the cluster's nodes;
- ``names.py``, ``system.py``: the actors' names; the system actors, get-or-create, and their states;
- ``actors.py``: the Ray-facing actor classes; ``spawner.py`` starts conversation actors;
  ``tool_runner.py`` runs tool calls as Ray tasks;
- ``calls.py``, ``proxy.py``: calling actors, typed proxies of them;
- ``gateway.py``: ``Gateway`` and ``Conversations``, how the ingress and the task engine reach the runtime;
- ``node_check.py``: does every node reach the workspace and the store; ``metrics.py``: Ray's instruments.

Importing this package does not load Ray (``auth`` must run first): its names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from penguin_actors.edge.gateway import ConversationLost, Conversations, Gateway, SentTurn
    from penguin_actors.edge.system import SYSTEM_ACTORS, ensure_system_actors

_LAZY = {
    "Conversations": "penguin_actors.edge.gateway",
    "ConversationLost": "penguin_actors.edge.gateway",
    "Gateway": "penguin_actors.edge.gateway",
    "SentTurn": "penguin_actors.edge.gateway",
    "SYSTEM_ACTORS": "penguin_actors.edge.system",
    "ensure_system_actors": "penguin_actors.edge.system",
}

__all__ = ["SYSTEM_ACTORS", "ConversationLost", "Conversations", "Gateway", "SentTurn", "ensure_system_actors"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
