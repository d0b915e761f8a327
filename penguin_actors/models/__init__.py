"""Models: the catalog and the current default (``ModelRegistry``), and the providers that call them.

``registry.py`` the registry (the actor ``models``), ``catalog.py`` the models offered, ``providers.py``
building a provider for a model: ``anthropic_provider.py``, ``openai_provider.py`` (also any
OpenAI-compatible server) and ``sim_provider.py``; ``retry.py`` retries, ``prompt.py`` fitting a history
to a context window, ``base.py`` the interface every provider implements.
"""

from penguin_actors.models.base import ModelProvider
from penguin_actors.models.catalog import catalog_of, require_model
from penguin_actors.models.registry import LoadResult, ModelEntry, ModelRegistry

__all__ = ["LoadResult", "ModelEntry", "ModelProvider", "ModelRegistry", "catalog_of", "require_model"]
