"""Pure rules over the store's pointers: where a conversation's messages are, what is reachable,
and which automatic checkpoints the retention policy drops. No I/O, so they are easy to test and
cost nothing to reason about."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

from penguin_actors.config import CheckpointSettings
from penguin_actors.errors import Conflict
from penguin_actors.store.records import CheckpointRecord, LineageRecord
from penguin_actors.store.rows import MessageRange

HOUR_S = 3600.0
DAY_S = 86400.0


def message_ranges(lineages: Mapping[str, LineageRecord], lineage_id: str, seq: int) -> list[MessageRange]:
    """The ``(lineage, start, end)`` ranges of messages ``[0, seq)`` along the lineage's chain, oldest first."""
    ranges: list[MessageRange] = []
    end: int = seq
    current: str | None = lineage_id
    seen: set[str] = set()
    while current is not None and end > 0:
        lineage = lineages.get(current)
        if lineage is None or current in seen:
            raise Conflict(f"the messages of lineage {current} are no longer stored", lineage_id=current)
        seen.add(current)
        start = min(lineage.fork_seq, end)
        if end > start:
            ranges.append((current, start, end))
        end, current = start, lineage.parent_lineage
    ranges.reverse()
    return ranges


def unreachable_lineages(lineages: Mapping[str, LineageRecord], roots: Iterable[str]) -> list[str]:
    """Lineages that no root (a conversation's or a checkpoint's lineage) reaches through its parents."""
    reachable: set[str] = set()
    for root in roots:
        current: str | None = root
        while current is not None and current not in reachable:
            reachable.add(current)
            lineage = lineages.get(current)
            current = lineage.parent_lineage if lineage else None
    return [lineage_id for lineage_id in lineages if lineage_id not in reachable]


def expired_checkpoints(
    checkpoints: Iterable[CheckpointRecord], order: Mapping[str, int], now: float, policy: CheckpointSettings
) -> list[str]:
    """The ids of the ``auto`` checkpoints the retention policy drops at ``now``.

    - younger than ``retention_hours``: all kept;
    - older than ``max_age_days``: all dropped;
    - in between, thinned: of each conversation's auto checkpoints created in the same
      clock hour (``floor(created_at / 3600)``), only the newest is kept. Buckets are fixed
      clock hours, so thinning is stable: running it again drops nothing more until
      checkpoints pass ``max_age_days``.

    Manual, branch and rollback checkpoints are never dropped. ``order`` breaks ties of
    ``created_at`` by creation order.
    """
    keep_after = now - policy.retention_hours * HOUR_S
    drop_before = now - policy.max_age_days * DAY_S
    doomed: list[str] = []
    buckets: dict[tuple[str, int], list[CheckpointRecord]] = defaultdict(list)
    for checkpoint in checkpoints:
        if checkpoint.kind != "auto" or checkpoint.created_at > keep_after:
            continue
        if checkpoint.created_at < drop_before:
            doomed.append(checkpoint.id)
        else:
            buckets[(checkpoint.conversation_id, math.floor(checkpoint.created_at / HOUR_S))].append(checkpoint)
    for group in buckets.values():
        group.sort(key=lambda c: (c.created_at, order[c.id]))
        doomed.extend(c.id for c in group[:-1])
    return doomed
