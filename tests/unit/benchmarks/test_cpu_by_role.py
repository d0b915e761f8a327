"""The load benchmark's CPU accounting: seconds by process role between two snapshots."""

from __future__ import annotations

import os

from benchmarks import harness
from benchmarks.load import cpu_figures


def test_cpu_is_summed_by_role_and_a_new_process_counts_from_zero() -> None:
    before = {1: ("ray::conv:a:ConversationActor.events", 2.0), 2: ("ray::ProxyActor", 5.0), 9: ("raylet", 1.0)}
    after = {
        1: ("ray::ConversationActor.events", 2.5),
        2: ("ray::ProxyActor", 5.25),
        3: ("ray::ConversationActor.start_turn", 0.75),  # started during the step
        # 9 ended during the step: not counted
    }

    roles = harness.cpu_by_role(before, after)

    assert roles == {"ConversationActor": 1.25, "ProxyActor": 0.25}
    assert list(roles) == ["ConversationActor", "ProxyActor"]  # most first


def test_cpu_figures_per_turn_and_share_of_the_machine() -> None:
    figures = cpu_figures({"ConversationActor": 1.5, "ProxyActor": 0.5}, elapsed_s=2.0, turns=10)

    assert figures["total_s"] == 2.0
    assert figures["ms_per_turn"] == 200.0
    assert figures["machine_share"] == round(2.0 / 2.0 / (os.cpu_count() or 1), 3)
    assert cpu_figures({}, elapsed_s=0.0, turns=0)["ms_per_turn"] is None


def test_a_snapshot_of_this_process_tree_holds_this_process() -> None:
    snapshot = harness.tree_cpu(os.getpid())

    title, seconds = snapshot[os.getpid()]
    assert "pytest" in title or title.startswith("python")
    assert seconds > 0
    assert harness.tree_cpu(2**22 + 12345) == {}  # no such process
