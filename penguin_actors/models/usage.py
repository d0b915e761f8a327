"""UsageLedger: token counts per conversation and model, as providers reported them, with cost."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from penguin_actors.config import ModelConfig
from penguin_actors.jsonfile import read_json, write_json_atomic
from penguin_actors.types import Usage


class UsageLedger:
    """Adds up usage; persisted to ``path`` after each record so a restart keeps the totals."""

    def __init__(self, path: Path) -> None:
        self._path = path
        saved = read_json(path)
        self._by_conversation: dict[str, dict[str, Usage]] = {
            conv: {model: Usage.model_validate(u) for model, u in models.items()}
            for conv, models in saved.get("by_conversation", {}).items()
        }
        self._last_active: dict[str, float] = dict(saved.get("last_active", {}))

    def record(self, conversation_id: str, model_id: str, usage: Usage, *, at: float) -> None:
        models = self._by_conversation.setdefault(conversation_id, {})
        models[model_id] = models.get(model_id, Usage()) + usage
        self._last_active[conversation_id] = at
        write_json_atomic(
            self._path,
            {
                "by_conversation": {
                    c: {m: u.model_dump() for m, u in ms.items()} for c, ms in self._by_conversation.items()
                },
                "last_active": self._last_active,
            },
        )

    def forget(self, conversation_id: str) -> None:
        """Drop a deleted conversation from the session view; the totals keep its tokens."""
        self._last_active.pop(conversation_id, None)

    def summary(self, conversation_id: str | None, catalog: Mapping[str, ModelConfig]) -> dict[str, Any]:
        """``total`` and ``session`` as ``{input, output}``, plus ``by_model`` with cost where priced."""
        session_id = conversation_id or self._most_recent()
        by_model: dict[str, Usage] = {}
        for models in self._by_conversation.values():
            for model_id, usage in models.items():
                by_model[model_id] = by_model.get(model_id, Usage()) + usage
        total = sum(by_model.values(), Usage())
        session = sum(self._by_conversation.get(session_id or "", {}).values(), Usage())
        rows = {model_id: _row(usage, catalog.get(model_id)) for model_id, usage in by_model.items()}
        costs = [row["cost_usd"] for row in rows.values() if row["cost_usd"] is not None]
        return {
            "total": _counts(total),
            "session": _counts(session),
            "session_id": session_id,
            "by_model": rows,
            "total_cost_usd": round(sum(costs), 6) if costs else None,
        }

    def _most_recent(self) -> str | None:
        return max(self._last_active, key=self._last_active.__getitem__) if self._last_active else None


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
