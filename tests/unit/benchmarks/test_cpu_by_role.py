"""The load benchmark's CPU accounting: seconds by process role between two snapshots."""

from __future__ import annotations

import os

import pytest

from benchmarks import harness
from benchmarks.steps import cpu_figures


def test_cpu_is_summed_by_role_and_a_new_process_counts_from_zero() -> None:
    before = {
        1: ("ray::host:1:ConversationHostActor.events", 2.0),
        2: ("ray::ProxyActor", 5.0),
        9: ("raylet", 1.0),
    }
    after = {
        1: ("ray::ConversationHostActor.events", 2.5),
        2: ("ray::ProxyActor", 5.25),
        3: ("ray::conv:c1:ConversationHostActor.start_turn", 0.75),  # a solo host, started during the step
        # 9 ended during the step: not counted
    }

    roles = harness.cpu_by_role(before, after)

    assert roles == {"ConversationHostActor": 1.25, "ProxyActor": 0.25}
    assert list(roles) == ["ConversationHostActor", "ProxyActor"]  # most first


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("ray::host:12:ConversationHostActor.wait", "ConversationHostActor"),
        ("ray::conv:conv_ab12:ConversationHostActor.__init__", "ConversationHostActor"),
        ("ray::ConversationHostActor", "ConversationHostActor"),
        ("ray::CheckpointStore.append_messages", "CheckpointStore"),
        ("python -m serve_app", "python -m serve_app"),
    ],
)
def test_every_conversation_process_is_one_role_whatever_its_name(title: str, role: str) -> None:
    assert harness.process_group(title) == role
    assert harness.CONVERSATION_ROLE == "ConversationHostActor"


def test_cpu_figures_per_turn_and_share_of_the_machine() -> None:
    figures = cpu_figures({"ConversationHostActor": 1.5, "ProxyActor": 0.5}, elapsed_s=2.0, turns=10)

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
