"""Settings: one pydantic model (``sections.py``), loaded from penguin.yaml and PENGUIN_* variables (``loading.py``)."""

from penguin_actors.config.loading import load_settings
from penguin_actors.config.sections import (
    ActivationSettings,
    AgentSettings,
    CheckpointSettings,
    EmbeddingSettings,
    LimitSettings,
    MemorySettings,
    ModelConfig,
    ModelsSettings,
    Provider,
    RaySettings,
    Section,
    ServerSettings,
    ServeSettings,
    Settings,
    StorageSettings,
    TaskSettings,
    ToolSettings,
)

__all__ = [
    "ActivationSettings",
    "AgentSettings",
    "CheckpointSettings",
    "EmbeddingSettings",
    "LimitSettings",
    "MemorySettings",
    "ModelConfig",
    "ModelsSettings",
    "Provider",
    "RaySettings",
    "Section",
    "ServeSettings",
    "ServerSettings",
    "Settings",
    "StorageSettings",
    "TaskSettings",
    "ToolSettings",
    "load_settings",
]
