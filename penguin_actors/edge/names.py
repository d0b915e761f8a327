"""The names of the runtime's Ray actors in their namespace (``ray.namespace``, default ``penguin``)."""

from __future__ import annotations

STORE = "checkpoints"
MODELS = "models"
TASKS = "tasks"
DIRECTORY = "directory"
CONVERSATION_PREFIX = "conv:"

# The system actors by name, with the role (the plain class) each one runs.
SYSTEM_ROLES: dict[str, str] = {
    STORE: "CheckpointStore",
    MODELS: "ModelRegistry",
    TASKS: "TaskEngine",
    DIRECTORY: "ConversationDirectory",
}


def conversation_actor_name(conversation_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{conversation_id}"
