"""The store's LanceDB backend: the only code that imports lancedb (``backend.py``, ``schema.py``, ``vectors.py``)."""

from penguin_actors.store.lance.backend import LanceBackend

__all__ = ["LanceBackend"]
