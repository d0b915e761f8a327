"""Metrics: one spec per metric, typed helpers, no-ops without Ray, and never an error for the caller."""

from __future__ import annotations

import logging
import sys
from types import SimpleNamespace

import pytest

from penguin_actors.metrics import EXPORT_PREFIX, SPECS, SPECS_BY_NAME, Metrics, MetricSpec, metrics
from tests.unit.recording_metrics import MetricsRecorder

EXPECTED = {
    "penguin_active_conversations": ("gauge", ()),
    "penguin_activations_total": ("counter", ()),
    "penguin_passivations_total": ("counter", ("reason",)),
    "penguin_turns_total": ("counter", ("model", "status")),
    "penguin_turn_seconds": ("histogram", ("model",)),
    "penguin_time_to_first_token_seconds": ("histogram", ("model",)),
    "penguin_tokens_total": ("counter", ("model", "direction")),
    "penguin_tool_runs_total": ("counter", ("tool", "status")),
    "penguin_tool_seconds": ("histogram", ("tool",)),
    "penguin_checkpoint_operations_total": ("counter", ("operation",)),
    "penguin_store_commit_batch_size": ("histogram", ()),
    "penguin_store_commit_seconds": ("histogram", ()),
    "penguin_websocket_connections": ("gauge", ("route",)),
    "penguin_hosts": ("gauge", ()),
    "penguin_host_conversations": ("gauge", ("host",)),
    "penguin_host_turns_running": ("gauge", ("host",)),
    "penguin_host_event_loop_lag_seconds": ("gauge", ("host",)),
}


def call_every_helper(m: Metrics) -> None:
    m.active_conversations(3)
    m.activated()
    m.passivated("evicted")
    m.turn_finished("sim", "completed", 1.5)
    m.first_token("sim", 0.2)
    m.tokens("sim", 10, 20)
    m.tool_finished("read_file", "completed", 0.01)
    m.checkpoint_operation("branch")
    m.store_committed(4, 0.003)
    m.websocket_opened("/api/v1/chat/stream")
    m.hosts(2)
    m.host_load("host:1", 5, 2, 0.004)


def test_specs_are_the_documented_names_kinds_and_tags() -> None:
    """Every metric has exactly its documented name, kind and tag keys; histograms have increasing buckets."""
    assert {s.name: (s.kind, s.tags) for s in SPECS} == EXPECTED
    for spec in SPECS:
        assert spec.exported_name == EXPORT_PREFIX + spec.name == "ray_" + spec.name
        buckets = list(spec.boundaries)
        assert (spec.kind == "histogram") == bool(buckets)
        assert buckets == sorted(set(buckets)) and all(b > 0 for b in buckets)


def test_without_ray_every_helper_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """With Ray not loaded, or loaded but not connected, metrics() records nothing and raises nothing."""
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert not metrics().enabled
    call_every_helper(metrics())
    monkeypatch.setitem(sys.modules, "ray", SimpleNamespace(is_initialized=lambda: False))
    assert not metrics().enabled
    call_every_helper(metrics())
    assert metrics()._instruments == {}


def test_a_broken_ray_is_treated_as_no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """If asking Ray whether it is connected fails, metrics() is the no-op holder, not an error."""

    def broken() -> bool:
        raise RuntimeError("half-imported")

    monkeypatch.setitem(sys.modules, "ray", SimpleNamespace(is_initialized=broken))
    assert not metrics().enabled


def test_the_holder_is_cached_while_connected(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connected, metrics() returns the same recording holder each time (instruments are made once)."""
    monkeypatch.setitem(sys.modules, "ray", SimpleNamespace(is_initialized=lambda: True))
    assert metrics() is metrics() and metrics().enabled


def test_helpers_record_every_metric_with_its_tags() -> None:
    """Between them the helpers feed every defined metric, each with exactly its tag keys."""
    recorder = MetricsRecorder()
    call_every_helper(recorder.metrics)
    assert not recorder.metrics.failed
    assert {r.name for r in recorder.records} == set(SPECS_BY_NAME)
    assert recorder.last("penguin_active_conversations") == 3
    assert recorder.last("penguin_hosts") == 2
    assert recorder.last("penguin_host_conversations", host="host:1") == 5
    assert recorder.last("penguin_host_event_loop_lag_seconds", host="host:1") == 0.004
    assert recorder.total("penguin_passivations_total", reason="evicted") == 1
    assert recorder.total("penguin_turns_total", model="sim", status="completed") == 1
    assert recorder.observed("penguin_turn_seconds", model="sim") == [1.5]
    assert recorder.total("penguin_tokens_total", direction="input") == 10
    assert recorder.total("penguin_tokens_total", direction="output") == 20
    assert recorder.observed("penguin_store_commit_batch_size") == [4]


def test_zero_counts_are_skipped() -> None:
    """Zero tokens or zero checkpoints record nothing (a Ray counter refuses an increment of 0)."""
    recorder = MetricsRecorder()
    recorder.metrics.tokens("sim", 0, 5)
    recorder.metrics.checkpoint_operation("auto", 0)
    assert not recorder.metrics.failed
    assert [(r.name, r.tags.get("direction")) for r in recorder.records] == [("penguin_tokens_total", "output")]


def test_websocket_gauge_counts_open_sockets_per_route() -> None:
    """websocket_opened/closed keep this process's count per route and never go below zero."""
    recorder = MetricsRecorder()
    m = recorder.metrics
    m.websocket_opened("/a")
    m.websocket_opened("/a")
    m.websocket_opened("/b")
    m.websocket_closed("/a")
    assert recorder.last("penguin_websocket_connections", route="/a") == 1
    m.websocket_closed("/b")
    m.websocket_closed("/b")
    assert recorder.last("penguin_websocket_connections", route="/b") == 0


def test_a_failing_backend_never_raises_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    """A backend that raises on every use fails no caller and is logged once, at debug level."""

    def broken(spec: MetricSpec) -> object:
        raise RuntimeError(f"no backend for {spec.name}")

    m = Metrics(broken)
    with caplog.at_level(logging.DEBUG, logger="penguin_actors.metrics"):
        call_every_helper(m)
        call_every_helper(m)
    assert m.failed
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
