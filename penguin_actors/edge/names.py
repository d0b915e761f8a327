"""The names of the system actors in their namespace (``ray.namespace``, default ``penguin``).

Conversation hosts are named by the directory: ``host:<n>``, or ``conv:<id>`` for a host of one.
"""

from __future__ import annotations

STORE = "checkpoints"
MODELS = "models"
TASKS = "tasks"
DIRECTORY = "directory"

# The system actors by name, with the role (the plain class) each one runs.
SYSTEM_ROLES: dict[str, str] = {
    STORE: "CheckpointStore",
    MODELS: "ModelRegistry",
    TASKS: "TaskEngine",
    DIRECTORY: "ConversationDirectory",
}
