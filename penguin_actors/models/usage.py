"""UsageLedger: token counts per conversation and model, as providers reported them, with cost."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from penguin_actors.config import ModelConfig
from penguin_actors.jsonfile import read_json, write_json_atomic
from penguin_actors.types import Usage

log = logging.getLogger(__name__)


class UsageLedger:
    """Adds up usage, kept across restarts as a snapshot (``path``) and a journal beside it.

    Each record is one appended journal line, so its cost does not grow with the number of
    conversations. After ``compact_every`` lines the state is written as a new snapshot and
    the journal starts over; the snapshot names its journal's generation, so a crash between
    the two steps never counts a line twice.
    """

    def __init__(self, path: Path, *, compact_every: int = 1000) -> None:
        self._path = path
        self._compact_every = compact_every
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = read_json(path)
        self._by_conversation: dict[str, dict[str, Usage]] = {
            conv: {model: Usage.model_validate(u) for model, u in models.items()}
            for conv, models in saved.get("by_conversation", {}).items()
        }
        self._last_active: dict[str, float] = dict(saved.get("last_active", {}))
        self._generation = int(saved.get("generation", 0))
        self._lines = self._replay(self._journal_path(self._generation))
        for stale in path.parent.glob(f"{path.stem}.journal.*.jsonl"):
            if stale != self._journal_path(self._generation):
                stale.unlink(missing_ok=True)

    def record(self, conversation_id: str, model_id: str, usage: Usage, *, at: float) -> None:
        self._apply({"c": conversation_id, "m": model_id, "i": usage.input_tokens, "o": usage.output_tokens, "at": at})

    def forget(self, conversation_id: str) -> None:
        """Drop a deleted conversation from the session view; the totals keep its tokens."""
        self._apply({"forget": conversation_id})

    def _apply(self, entry: dict[str, Any]) -> None:
        self._change(entry)
        with self._journal_path(self._generation).open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry) + "\n")
        self._lines += 1
        if self._lines >= self._compact_every:
            self._compact()

    def _change(self, entry: dict[str, Any]) -> None:
        if "forget" in entry:
            self._last_active.pop(entry["forget"], None)
            return
        models = self._by_conversation.setdefault(entry["c"], {})
        models[entry["m"]] = models.get(entry["m"], Usage()) + Usage(input_tokens=entry["i"], output_tokens=entry["o"])
        self._last_active[entry["c"]] = entry["at"]

    def _replay(self, journal: Path) -> int:
        """Apply the journal's lines; a torn last line (a crash mid-write) is skipped. The lines applied."""
        try:
            text = journal.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        if text and not text.endswith("\n"):  # end the torn line, so the next record starts its own
            with journal.open("a", encoding="utf-8") as repaired:
                repaired.write("\n")
        lines = text.splitlines()
        applied = 0
        for line in lines:
            try:
                self._change(json.loads(line))
            except (ValueError, KeyError, TypeError):
                log.warning("skipping an unreadable line of %s", journal)
                continue
            applied += 1
        return applied

    def _compact(self) -> None:
        old = self._journal_path(self._generation)
        self._generation += 1
        write_json_atomic(
            self._path,
            {
                "generation": self._generation,
                "by_conversation": {
                    c: {m: u.model_dump() for m, u in ms.items()} for c, ms in self._by_conversation.items()
                },
                "last_active": self._last_active,
            },
        )
        old.unlink(missing_ok=True)
        self._lines = 0

    def _journal_path(self, generation: int) -> Path:
        return self._path.with_name(f"{self._path.stem}.journal.{generation}.jsonl")

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
