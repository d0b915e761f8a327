"""The checkpoint store's records: conversations, lineages, checkpoints and their counts.

A conversation points at its current lineage; a lineage is an append-only run of
messages that may start from a point of another lineage; a checkpoint is a
pointer ``(lineage_id, seq)`` covering messages ``[0, seq)``. Records are frozen:
the store hands out its own copies and replaces them rather than mutating them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from penguin_actors.types import Usage

CheckpointKind = Literal["auto", "manual", "branch", "rollback"]
DEFAULT_TITLE = "New conversation"
TITLE_CHARS = 60
CHECKPOINT_KINDS: tuple[CheckpointKind, ...] = ("auto", "manual", "branch", "rollback")


class StoreRecord(BaseModel):
    """Base of the store's records: unknown fields are refused and a record never changes in place."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BranchOrigin(StoreRecord):
    """Where a branch came from: the source conversation and the checkpoint it was taken at."""

    conversation_id: str
    checkpoint_id: str


class ConversationRecord(StoreRecord):
    id: str
    title: str | None = Field(description="None until the first user message names it (``title_of``)")
    created_at: float = Field(description="epoch seconds")
    last_active: float = Field(description="epoch seconds of the last append (or creation, rollback)")
    message_count: int = Field(ge=0)
    lineage_id: str = Field(description="the lineage new messages are appended to")
    model_id: str | None = Field(None, description="per-conversation model override; None = the default")
    branch_of: BranchOrigin | None = None
    usage: dict[str, Usage] = Field(
        default_factory=dict, description="token usage by model, as the providers reported it"
    )

    @property
    def display_title(self) -> str:
        return self.title or DEFAULT_TITLE


def title_of(text: str) -> str | None:
    """A conversation's title from its first user message: the words of its start (None for blank text)."""
    return " ".join(text.split())[:TITLE_CHARS] or None


class LineageRecord(StoreRecord):
    """A run of messages with seq ``fork_seq, fork_seq + 1, …``; earlier ones are the parent's."""

    id: str
    conversation_id: str = Field(description="the conversation it was created for")
    parent_lineage: str | None = None
    fork_seq: int = Field(0, ge=0, description="first seq of this lineage; [0, fork_seq) come from the parent")
    created_at: float

    @model_validator(mode="after")
    def _root_starts_at_zero(self) -> LineageRecord:
        if self.parent_lineage is None and self.fork_seq != 0:
            raise ValueError("a lineage without a parent starts at seq 0")
        return self


class CheckpointRecord(StoreRecord):
    """A pointer to messages ``[0, seq)`` of a conversation, along ``lineage_id``'s chain."""

    id: str
    conversation_id: str
    lineage_id: str
    seq: int = Field(ge=0, description="the number of messages the checkpoint covers")
    kind: CheckpointKind
    name: str | None = None
    description: str | None = None
    created_at: float
    message_count: int = Field(ge=0, description="always equal to seq")

    @model_validator(mode="after")
    def _count_is_seq(self) -> CheckpointRecord:
        if self.message_count != self.seq:
            raise ValueError(f"message_count ({self.message_count}) must equal seq ({self.seq})")
        return self


class CheckpointStats(StoreRecord):
    total: int = 0
    auto: int = 0
    manual: int = 0
    branch: int = 0
    rollback: int = 0


class NoteRecord(StoreRecord):
    """A note kept for later: written by the ``add_note`` tool, found by ``memory_search``."""

    id: str
    conversation_id: str | None = Field(None, description="the conversation that wrote it, if any")
    text: str
    created_at: float
