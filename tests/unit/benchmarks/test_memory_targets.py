"""Held memory and the memory targets of the activation and soak benchmarks, judged on the hosted server."""

from __future__ import annotations

import pytest

from benchmarks import activation_report, harness, soak_report
from benchmarks.held import held_count, held_figures


def test_held_memory_is_all_processes_and_the_conversation_processes_per_conversation() -> None:
    processes = [
        harness.ProcessMemory(1, "ray::host:1:ConversationHostActor", 300.0, 400.0),
        harness.ProcessMemory(2, "ray::ConversationHostActor.activate", 200.0, 300.0),
        harness.ProcessMemory(3, "ray::CheckpointStore", 600.0, 700.0),
    ]

    figures = held_figures(processes, before_uss=700.0, count=100)

    assert figures["all_uss_mb"] == 1100.0
    assert figures["growth_per_conversation_mb"] == 4.0
    assert figures["hosts_uss_per_conversation_mb"] == 5.0
    assert figures["conversation_processes"] == 2
    assert list(figures["uss_by_role_mb"]) == ["CheckpointStore", "ConversationHostActor"]


def test_solo_mode_holds_at_most_32() -> None:
    assert held_count(1000, solo=True) == 32
    assert held_count(20, solo=True) == 20
    assert held_count(1000, solo=False) == 1000


def test_activation_targets_are_judged_on_hosted_with_solo_beside() -> None:
    hosted = {
        "cold_activation_s": {"p50": 0.01},
        "reactivation_1000_s": {"p50": 0.7},
        "held": {"all_uss_mb": 1500.0, "growth_per_conversation_mb": 1.0, "hosts_uss_per_conversation_mb": 1.5},
    }
    report = {"parameters": {"messages": 1000}, "server": hosted, "solo": {"held": {"all_uss_mb": 3000.0}}}

    verdicts = {v["target"]: v for v in activation_report.verdicts(report)}

    assert verdicts["cold activation p50 <= 0.5 s"]["pass"] is True
    assert verdicts["re-activation of 1,000 messages p50 <= 0.6 s"]["pass"] is False
    uss = verdicts["held: USS of all the server's processes <= 2,048 MB"]
    assert (uss["measured"], uss["solo"], uss["pass"]) == (1500.0, 3000.0, True)


@pytest.mark.parametrize(("growth", "verdict"), [(49.0, True), (51.0, False), (None, None)])
def test_the_soak_target_is_the_fitted_growth_after_warm_up(growth: float | None, verdict: bool | None) -> None:
    report = {"server": {"memory": {"fitted_growth_mb": growth}}, "baseline": {"memory": {"fitted_growth_mb": 1.0}}}

    [found] = soak_report.verdicts(report)

    assert found["pass"] is verdict
    assert found["solo"] is None and found["limit"] == 50.0
