"""Cold turns: the first message of a conversation created just before it, alone and with its create."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import harness
from benchmarks.baseline import LocalRuntime
from benchmarks.clients import TurnResult
from benchmarks.cold import ColdTurn, LocalColdClient, cold_figures, local_clients, run_cold_step
from benchmarks.scenarios import FULL_SHAPES, Scenario


def cold(began: float, sent: float, done: float, error: str | None = None) -> ColdTurn:
    return ColdTurn(began, TurnResult(sent=sent, first_token=sent + 0.001, done=done, error=error))


def test_a_round_runs_from_its_first_create_to_its_last_end() -> None:
    rounds = [[cold(10.0, 10.2, 10.3), cold(10.1, 10.4, 10.6)], [cold(20.0, 20.1, 20.2, error="HTTP 503")]]

    figures = cold_figures(rounds, FULL_SHAPES["sim-instant"])

    assert figures["wall_s"]["p50"] == pytest.approx((0.6 + 0.2) / 2)
    assert figures["errors"] == 1
    assert figures["latency_ms"]["p50"] == pytest.approx(150.0)  # the first message alone: 100 and 200 ms
    assert figures["create_first_ms"]["max"] == pytest.approx(500.0)  # create and first message together
    assert figures["create_first_ms"]["n"] == 2  # the failed turn is not counted


async def test_the_baseline_creates_activates_and_takes_the_first_turn(tmp_path: Path) -> None:
    model = FULL_SHAPES["sim-instant"].sim("sim-instant")
    config = harness.write_config(tmp_path / "penguin.yaml", harness.server_config([model], "sim-instant"))
    runtime = LocalRuntime(config, tmp_path, {}, "memory")
    try:
        turn = await LocalColdClient(runtime).cold_turn("hello", "sim-instant")
        scenario = Scenario("http-cold", "http", "sim-instant", (2,), 2, "cold", cold=True)
        figures = await run_cold_step(local_clients(runtime), None, scenario, 2, FULL_SHAPES["sim-instant"])
    finally:
        await runtime.close()

    assert turn.turn.error is None and turn.turn.response
    assert turn.create_first is not None and turn.turn.latency is not None
    assert turn.began <= turn.turn.sent and turn.create_first >= turn.turn.latency
    assert len(runtime.store.records) == 1 + 2 * 2  # a new conversation per turn
    assert figures["turns"] == 4 and figures["errors"] == 0
    assert figures["cpu"]["ms_per_turn"] is not None
