"""StoreState: the checkpoint store's records in memory, its read path.

Conversations, lineages and checkpoints are loaded at open and kept here; messages
stay in the backend. The store changes this state only after the backend (or the
journal) holds the change, under its write lock. Helpers make new records with
fresh ids and find what a pointer reaches.
"""

from __future__ import annotations

import secrets
from collections.abc import Container, Iterable

from penguin_actors.errors import Invalid, NotFound
from penguin_actors.store.lineage import message_ranges, unreachable_lineages
from penguin_actors.store.records import CheckpointKind, CheckpointRecord, ConversationRecord, LineageRecord
from penguin_actors.store.rows import MessageRange


def new_id(prefix: str, taken: Container[str]) -> str:
    while True:
        candidate = f"{prefix}{secrets.token_hex(6)}"
        if candidate not in taken:
            return candidate


def clean(text: str | None, what: str) -> str | None:
    """``text`` stripped; None stays None; blank text is refused."""
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned:
        raise Invalid(f"{what} may not be blank: give some text or leave it out")
    return cleaned


class StoreState:
    def __init__(self) -> None:
        self.conversations: dict[str, ConversationRecord] = {}
        self.lineages: dict[str, LineageRecord] = {}
        self.checkpoints: dict[str, CheckpointRecord] = {}
        self.order: dict[str, int] = {}  # checkpoint id -> creation order, to break created_at ties
        self._next_order = 0

    def load(
        self,
        conversations: Iterable[ConversationRecord],
        lineages: Iterable[LineageRecord],
        checkpoints: Iterable[CheckpointRecord],
    ) -> None:
        """Replace the state with these records; a later record of the same conversation id wins."""
        self.conversations = {c.id: c for c in conversations}
        self.lineages = {lineage.id: lineage for lineage in lineages}
        self.checkpoints, self.order = {}, {}
        for checkpoint in sorted(checkpoints, key=lambda c: (c.created_at, c.id)):
            self.remember(checkpoint)

    # --- conversations ----------------------------------------------------------------

    def require(self, conversation_id: str) -> ConversationRecord:
        record = self.conversations.get(conversation_id)
        if record is None:
            raise not_found(conversation_id)
        return record

    def by_activity(self) -> list[ConversationRecord]:
        """Conversations, the most recently active first."""
        return sorted(self.conversations.values(), key=_activity, reverse=True)

    def most_recent(self) -> ConversationRecord | None:
        return max(self.conversations.values(), key=_activity) if self.conversations else None

    def new_conversation_id(self) -> str:
        return new_id("conv_", self.conversations)

    # --- lineages ------------------------------------------------------------------------

    def new_lineage(self, conversation_id: str, now: float, at: CheckpointRecord | None = None) -> LineageRecord:
        """A root lineage, or one forked at the checkpoint ``at``."""
        return LineageRecord(
            id=new_id("lin_", self.lineages),
            conversation_id=conversation_id,
            parent_lineage=at.lineage_id if at else None,
            fork_seq=at.seq if at else 0,
            created_at=now,
        )

    def ranges(self, lineage_id: str, seq: int) -> list[MessageRange]:
        """Where messages ``[0, seq)`` along the lineage's chain are; Conflict if some are gone."""
        return message_ranges(self.lineages, lineage_id, seq)

    def unreachable(self) -> list[str]:
        """Lineages that no conversation or checkpoint reaches."""
        roots = [c.lineage_id for c in self.conversations.values()]
        roots += [c.lineage_id for c in self.checkpoints.values()]
        return unreachable_lineages(self.lineages, roots)

    # --- checkpoints ----------------------------------------------------------------------

    def require_checkpoint(self, checkpoint_id: str) -> CheckpointRecord:
        checkpoint = self.checkpoints.get(checkpoint_id)
        if checkpoint is None:
            raise NotFound(
                f"no checkpoint {checkpoint_id!r}: it does not exist, was cleaned up, or its conversation was deleted"
            )
        return checkpoint

    def checkpoint_at(
        self,
        conversation_id: str,
        lineage_id: str,
        seq: int,
        kind: CheckpointKind,
        now: float,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> CheckpointRecord:
        return CheckpointRecord(
            id=new_id("ckpt_", self.checkpoints),
            conversation_id=conversation_id,
            lineage_id=lineage_id,
            seq=seq,
            kind=kind,
            name=clean(name, "name"),
            description=clean(description, "description"),
            created_at=now,
            message_count=seq,
        )

    def remember(self, checkpoint: CheckpointRecord) -> None:
        self.checkpoints[checkpoint.id] = checkpoint
        self.order[checkpoint.id] = self._next_order
        self._next_order += 1

    def forget(self, checkpoint_ids: Iterable[str]) -> None:
        for checkpoint_id in checkpoint_ids:
            self.checkpoints.pop(checkpoint_id, None)
            self.order.pop(checkpoint_id, None)

    def newest_checkpoints(self, conversation_id: str | None, limit: int) -> list[CheckpointRecord]:
        """Checkpoints newest first: of one conversation, or of all."""
        found = [c for c in self.checkpoints.values() if conversation_id in (None, c.conversation_id)]
        found.sort(key=lambda c: (c.created_at, self.order[c.id]), reverse=True)
        return found[:limit]


def not_found(conversation_id: str) -> NotFound:
    return NotFound(f"no conversation {conversation_id!r}: it does not exist or was deleted")


def _activity(record: ConversationRecord) -> tuple[float, float, str]:
    return (record.last_active, record.created_at, record.id)
