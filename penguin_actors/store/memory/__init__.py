"""Memory: notes, and search over notes and past messages by words (full text) and by meaning (embeddings).

``notes.py`` the limits and result shape, ``recall.py`` the search, ``index.py`` the background
embedding of new items, ``embeddings.py`` the embedding provider (OpenAI or compatible).
"""

from penguin_actors.store.memory.notes import MemoryResult
from penguin_actors.store.memory.recall import Recall

__all__ = ["MemoryResult", "Recall"]
