"""The LanceDB tables of the store: their names, Arrow schemas and the SQL literals their queries use.

- ``messages``: one row per message, ``(lineage_id, seq)`` → msgpack bytes, plus
  ``version``; ``text`` is the message's plain text, full-text indexed.
- ``conversations``: one row per version of a conversation; the newest wins. ``usage`` (JSON)
  was added later: ``LanceBackend.open`` adds it to a table made before.
- ``lineages``, ``checkpoints`` and ``notes``: rows added and deleted, never changed.
- ``documents``: small JSON records (tasks, projects, …) by ``(kind, id)``; the
  highest ``version`` wins, like conversations.
- ``embeddings`` (only once an embedding provider was configured): one vector per
  note or message, by ``ref``; rows added and deleted, never changed. Its vector
  length is the model's, so its schema is made by ``embedding_schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

MESSAGES = "messages"
CONVERSATIONS = "conversations"
LINEAGES = "lineages"
CHECKPOINTS = "checkpoints"
NOTES = "notes"
DOCUMENTS = "documents"
EMBEDDINGS = "embeddings"

SCHEMAS: dict[str, pa.Schema] = {
    MESSAGES: pa.schema(
        [
            ("lineage_id", pa.string()),
            ("seq", pa.int64()),
            ("version", pa.int64()),
            ("conversation_id", pa.string()),
            ("role", pa.string()),
            ("created_at", pa.float64()),
            ("data", pa.large_binary()),
            ("text", pa.large_string()),
        ]
    ),
    CONVERSATIONS: pa.schema(
        [
            ("id", pa.string()),
            ("version", pa.int64()),
            ("title", pa.string()),
            ("created_at", pa.float64()),
            ("last_active", pa.float64()),
            ("message_count", pa.int64()),
            ("lineage_id", pa.string()),
            ("model_id", pa.string()),
            ("branch_conversation_id", pa.string()),
            ("branch_checkpoint_id", pa.string()),
            ("usage", pa.string()),  # JSON {model_id: {input_tokens, output_tokens}}; added to older tables at open
        ]
    ),
    LINEAGES: pa.schema(
        [
            ("id", pa.string()),
            ("conversation_id", pa.string()),
            ("parent_lineage", pa.string()),
            ("fork_seq", pa.int64()),
            ("created_at", pa.float64()),
        ]
    ),
    CHECKPOINTS: pa.schema(
        [
            ("id", pa.string()),
            ("conversation_id", pa.string()),
            ("lineage_id", pa.string()),
            ("seq", pa.int64()),
            ("kind", pa.string()),
            ("name", pa.string()),
            ("description", pa.string()),
            ("created_at", pa.float64()),
        ]
    ),
    NOTES: pa.schema(
        [
            ("id", pa.string()),
            ("conversation_id", pa.string()),
            ("created_at", pa.float64()),
            ("text", pa.large_string()),
        ]
    ),
    DOCUMENTS: pa.schema(
        [
            ("kind", pa.string()),
            ("id", pa.string()),
            ("version", pa.int64()),
            ("data", pa.large_string()),
        ]
    ),
}


def embedding_schema(dimensions: int) -> pa.Schema:
    """The ``embeddings`` table for vectors of ``dimensions`` floats."""
    return pa.schema(
        [
            ("source", pa.string()),
            ("ref", pa.string()),
            ("lineage_id", pa.string()),
            ("conversation_id", pa.string()),
            ("role", pa.string()),
            ("created_at", pa.float64()),
            ("model", pa.string()),
            ("vector", pa.list_(pa.float32(), dimensions)),
        ]
    )


ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
IN_CHUNK = 500  # ids per IN (...) predicate


def lit(value: str) -> str:
    """``value`` as a SQL string literal; only id-shaped strings are accepted, so nothing needs escaping."""
    if not ID_PATTERN.match(value):
        raise ValueError(f"not a valid id: {value!r}")
    return f"'{value}'"


def quoted(value: str) -> str:
    """Any string as a SQL string literal (quotes doubled); for values that are not ids, such as model names."""
    return "'" + value.replace("'", "''") + "'"


def in_predicates(column: str, values: Iterable[str]) -> list[str]:
    """``column IN (...)`` predicates, one per chunk of values."""
    unique = sorted(set(values))
    return [
        f"{column} IN ({', '.join(lit(v) for v in unique[i : i + IN_CHUNK])})" for i in range(0, len(unique), IN_CHUNK)
    ]


def columns(rows: list[dict[str, Any]], schema: pa.Schema) -> dict[str, list[Any]]:
    """Row dicts as the column lists of ``schema`` (a missing field is null)."""
    return {name: [row.get(name) for row in rows] for name in schema.names}
