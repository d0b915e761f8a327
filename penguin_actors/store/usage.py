"""Token usage as providers reported it: per conversation and model, with cost where the model is priced.

Usage is kept on the conversation records (``ConversationRecord.usage``), so a turn's
usage is committed with its reply in one group commit, in the same journal; a deleted
conversation's usage joins the ``retired`` totals. ``read_legacy`` reads what an
earlier version kept in ``<workspace>/.penguin/usage.json`` and its journal, once, at
the first start with this store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from penguin_actors.config import ModelConfig
from penguin_actors.store.records import ConversationRecord
from penguin_actors.types import Usage

log = logging.getLogger(__name__)

UsageByModel = dict[str, Usage]
LEGACY_FILE = "usage.json"
MIGRATED_SUFFIX = ".migrated"


def added(by_model: Mapping[str, Usage], model_id: str, usage: Usage) -> UsageByModel:
    """A copy of ``by_model`` with ``usage`` added to ``model_id``'s."""
    total = dict(by_model)
    total[model_id] = total.get(model_id, Usage()) + usage
    return total


def merged(*tallies: Mapping[str, Usage]) -> UsageByModel:
    total: UsageByModel = {}
    for tally in tallies:
        for model_id, usage in tally.items():
            total = added(total, model_id, usage)
    return total


def summary(
    records: Iterable[ConversationRecord],
    retired: Mapping[str, Usage],
    session_id: str | None,
    catalog: Mapping[str, ModelConfig],
) -> dict[str, Any]:
    """``total`` and ``session`` as ``{input, output}``, ``by_model`` with cost where priced, ``session_id``."""
    by_id = {record.id: record for record in records}
    by_model = merged(retired, *(r.usage for r in by_id.values()))
    total = sum(by_model.values(), Usage())
    session = by_id.get(session_id) if session_id is not None else None
    session_usage = sum(session.usage.values(), Usage()) if session is not None else Usage()
    rows = {model_id: _row(usage, catalog.get(model_id)) for model_id, usage in by_model.items()}
    costs = [row["cost_usd"] for row in rows.values() if row["cost_usd"] is not None]
    return {
        "total": _counts(total),
        "session": _counts(session_usage),
        "session_id": session_id,
        "by_model": rows,
        "total_cost_usd": round(sum(costs), 6) if costs else None,
    }


def _counts(usage: Usage) -> dict[str, int]:
    return {"input": usage.input_tokens, "output": usage.output_tokens}


def _row(usage: Usage, model: ModelConfig | None) -> dict[str, Any]:
    cost = None
    if model is not None and model.price_input_per_mtok is not None and model.price_output_per_mtok is not None:
        cost = round(
            (usage.input_tokens * model.price_input_per_mtok + usage.output_tokens * model.price_output_per_mtok) / 1e6,
            6,
        )
    return {**_counts(usage), "cost_usd": cost}


# --- the usage files of earlier versions ----------------------------------------------------


def read_legacy(state_dir: Path) -> dict[str, UsageByModel] | None:
    """Usage per conversation from ``usage.json`` and its journal in ``state_dir``; None if there is none.

    The snapshot names its journal's generation; a torn or unreadable journal line is skipped.
    """
    snapshot_path = state_dir / LEGACY_FILE
    journals = sorted(state_dir.glob("usage.journal.*.jsonl"))
    if not snapshot_path.exists() and not journals:
        return None
    snapshot: dict[str, Any] = {}
    if snapshot_path.exists():
        try:
            snapshot = json.loads(snapshot_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("the old usage file %s cannot be read (%s): its totals are not migrated", snapshot_path, exc)
    found: dict[str, UsageByModel] = {
        conversation: {model: Usage.model_validate(u) for model, u in models.items()}
        for conversation, models in snapshot.get("by_conversation", {}).items()
    }
    journal = state_dir / f"usage.journal.{int(snapshot.get('generation', 0))}.jsonl"
    if journal.exists():
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                if "forget" not in entry:
                    usage = Usage(input_tokens=entry["i"], output_tokens=entry["o"])
                    found[entry["c"]] = added(found.get(entry["c"], {}), entry["m"], usage)
            except (ValueError, KeyError, TypeError):
                log.warning("skipping an unreadable line of %s", journal)
    return found


def retire_legacy(state_dir: Path) -> None:
    """Rename the old usage files once their figures are in the store, so they are never counted twice."""
    for path in [state_dir / LEGACY_FILE, *state_dir.glob("usage.journal.*.jsonl")]:
        if path.exists():
            path.replace(path.with_name(path.name + MIGRATED_SUFFIX))
