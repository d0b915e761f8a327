"""The load report: targets judged on the hosted server, one relative to another step, modes side by side."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.clients import TurnResult
from benchmarks.cold import ColdTurn, cold_figures
from benchmarks.load import combine
from benchmarks.load_report import Target, evaluate, markdown, panels
from benchmarks.scenarios import FULL_SHAPES, Scenario
from benchmarks.steps import cpu_figures, step_figures

INSTANT = FULL_SHAPES["sim-instant"]
WARM = Scenario("http-instant", "http", "sim-instant", (1,), 1, "warm")
COLD = Scenario("http-cold", "http", "sim-instant", (1,), 1, "cold", cold=True)


def warm(latency_s: float) -> dict[str, Any]:
    figures = step_figures([[TurnResult(sent=1.0, done=1.0 + latency_s)]], INSTANT)
    return figures | {"cpu": cpu_figures({"ConversationHostActor": 0.01}, 1.0, 1)}


def cold_step(latency_s: float) -> dict[str, Any]:
    figures = cold_figures([[ColdTurn(0.5, TurnResult(sent=1.0, done=1.0 + latency_s))]], INSTANT)
    return figures | {"cpu": cpu_figures({"ConversationHostActor": 0.02}, 1.0, 1)}


def report(served: dict[str, dict[str, Any]], modes: list[str]) -> dict[str, Any]:
    base = {"http-instant": {"1": warm(0.001)}, "http-cold": {"1": cold_step(0.002)}}
    results = combine((WARM, COLD), dict(FULL_SHAPES), base, served)
    return {
        "parameters": {"modes": modes, "baseline_store": "memory", "settings": {}},
        "results": results,
        "warmup_errors": {"baseline": [], "server": []},
        "machine": {"cpu_count": 2, "cpu_model": "x", "python": "3.11", "platform": "linux", "date": "today"},
        "host": {"memory_total_mb": 1, "load_average": [0.0]},
        "total_seconds": 1.0,
    }


def test_a_relative_target_is_a_factor_of_the_same_modes_reference_step() -> None:
    served = {
        "server": {"http-instant": {"1": warm(0.020)}, "http-cold": {"1": cold_step(0.023)}},
        "solo": {"http-instant": {"1": warm(0.030)}, "http-cold": {"1": cold_step(0.500)}},
    }
    target = Target("http-cold", 1, "latency_ms.p50", "<=", 1.2, "x", of=("http-instant", 1))
    built = report(served, ["hosted", "solo"])

    [verdict] = evaluate(built, (target,))

    assert verdict["limit"] == pytest.approx(24.0)  # 1.2 x the hosted server's warm turn
    assert verdict["measured"] == pytest.approx(23.0) and verdict["solo"] == pytest.approx(500.0)
    assert verdict["pass"] is True
    assert built["results"]["http-cold"]["steps"]["1"]["solo_ratio"]["latency_ms.p50"] == pytest.approx(250.0)
    assert "1.2x http-instant N=1" in target.describe()


def test_the_tables_put_the_modes_side_by_side_and_a_missing_mode_is_not_measured() -> None:
    served = {"solo": {"http-instant": {"1": warm(0.030)}, "http-cold": {"1": cold_step(0.040)}}}
    built = report(served, ["solo"])
    built["targets"] = evaluate(built, (Target("http-cold", 1, "wall_s.p50", "<=", 1.5, " s"),))

    text = markdown(built)

    assert built["targets"][0]["pass"] is None and built["targets"][0]["solo"] == pytest.approx(0.54)
    assert "| not measured |" in text
    assert "create + first p50 / p99 ms: solo | baseline" in text
    assert [s["label"] for s in panels(built)[1]["series"]] == ["solo p50", "solo p99", "baseline p50", "baseline p99"]
