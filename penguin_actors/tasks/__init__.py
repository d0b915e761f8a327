"""Tasks: background, synchronous and streamed tasks, run mode and projects.

``TaskEngine`` (``engine.py``) drives tasks as turns of their own conversations; ``records.py``
holds the task and project records, ``steps.py`` the pure rules of a task's steps, ``ports.py``
what the engine needs from the rest. ``edge`` runs the engine as the actor ``tasks``.
"""

from penguin_actors.tasks.engine import TaskEngine
from penguin_actors.tasks.ports import TaskConversations, TaskStore
from penguin_actors.tasks.records import ProjectRecord, TaskRecord, TaskSpec, TaskStatus

__all__ = ["ProjectRecord", "TaskConversations", "TaskEngine", "TaskRecord", "TaskSpec", "TaskStatus", "TaskStore"]
