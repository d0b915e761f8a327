"""The checkpoint store: conversations as an append-only log of messages, checkpoints as pointers into it.

- ``CheckpointStore`` (``checkpoints.py``, on ``log.py``'s ``ConversationLog``): the domain, the
  one writer of the database; ``state.py`` its records in memory, ``usage.py`` token usage.
- ``pipeline.py``: how writes reach the backend (lock, ``group_commit.py``, ``journal.py`` and
  ``applier.py``, compaction).
- ``records.py``, ``rows.py``, ``lineage.py``: the records, the rows and the pure pointer rules.
- ``backend.py``: the storage interface by capability; ``lance/`` its LanceDB backend.
- ``memory/``: notes, memory search by words and meaning, embeddings.
"""

from penguin_actors.store.backend import StoreBackend
from penguin_actors.store.checkpoints import CheckpointStore
from penguin_actors.store.records import CheckpointRecord, ConversationRecord, LineageRecord, NoteRecord

__all__ = ["CheckpointRecord", "CheckpointStore", "ConversationRecord", "LineageRecord", "NoteRecord", "StoreBackend"]
