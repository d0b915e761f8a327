"""Rows of the LanceDB tables as the store's records, and back; the newest version of a versioned row."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from penguin_actors.store.records import BranchOrigin, ConversationRecord
from penguin_actors.types import Usage


def newest_versions(rows: list[dict[str, Any]], key: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The row with the highest ``version`` of each ``key`` (a tuple of those columns' values)."""
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        ident = tuple(row[k] for k in key)
        held = newest.get(ident)
        if held is None or row["version"] > held["version"]:
            newest[ident] = row
    return newest


def conversation_columns(records: Sequence[ConversationRecord], versions: list[int]) -> dict[str, list[Any]]:
    """The ``conversations`` table's columns for ``records``, each row with its version."""
    return {
        "id": [r.id for r in records],
        "version": versions,
        "title": [r.title for r in records],
        "created_at": [r.created_at for r in records],
        "last_active": [r.last_active for r in records],
        "message_count": [r.message_count for r in records],
        "lineage_id": [r.lineage_id for r in records],
        "model_id": [r.model_id for r in records],
        "branch_conversation_id": [r.branch_of.conversation_id if r.branch_of else None for r in records],
        "branch_checkpoint_id": [r.branch_of.checkpoint_id if r.branch_of else None for r in records],
        "usage": [_usage_json(r.usage) for r in records],
    }


def conversation_of(row: dict[str, Any]) -> ConversationRecord:
    branch_of = None
    if row["branch_conversation_id"] is not None and row["branch_checkpoint_id"] is not None:
        branch_of = BranchOrigin(
            conversation_id=row["branch_conversation_id"], checkpoint_id=row["branch_checkpoint_id"]
        )
    return ConversationRecord(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        last_active=row["last_active"],
        message_count=row["message_count"],
        lineage_id=row["lineage_id"],
        model_id=row["model_id"],
        branch_of=branch_of,
        usage={model_id: Usage.model_validate(u) for model_id, u in json.loads(row.get("usage") or "{}").items()},
    )


def _usage_json(usage: Mapping[str, Usage]) -> str | None:
    return json.dumps({model_id: u.model_dump() for model_id, u in usage.items()}) if usage else None
