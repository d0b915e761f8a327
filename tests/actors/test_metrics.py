"""Penguin's metrics reach Ray's Prometheus endpoint, under Ray's ``ray_`` prefix."""

from __future__ import annotations

import secrets
import time
import urllib.request

import pytest
import ray

from penguin_actors.metrics import SPECS, metrics

pytestmark = pytest.mark.ray

# Ray's metrics agent flushes every few seconds (metrics_report_interval_ms); allow for a slow machine.
DEADLINE_S = 30.0


def scrape() -> str:
    """The Prometheus text of every live node's metrics agent, joined."""
    texts = []
    for node in ray.nodes():
        if node.get("Alive") and node.get("MetricsExportPort"):
            url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                texts.append(response.read().decode())
    return "\n".join(texts)


@ray.remote(num_cpus=0)
def record_in_a_worker(tool: str) -> bool:
    """What an actor or task does: record through metrics(), in a process connected to Ray."""
    from penguin_actors.metrics import metrics as worker_metrics

    worker_metrics().tool_finished(tool, "completed", 0.02)
    return worker_metrics().enabled


def record_one_of_each(tag: str) -> None:
    m = metrics()
    assert m.enabled, "the test's Ray session is connected, so metrics() must record"
    m.active_conversations(1)
    m.activated()
    m.passivated("idle")
    m.turn_finished(tag, "completed", 0.5)
    m.first_token(tag, 0.1)
    m.tokens(tag, 3, 4)
    m.tool_finished(tag, "completed", 0.01)
    m.checkpoint_operation("create")
    m.store_committed(2, 0.004)
    m.websocket_opened(f"/{tag}")


def test_recorded_metrics_are_exported_with_the_ray_prefix(ray_session: None) -> None:
    """Every metric recorded in the driver and a worker shows up on a node's /metrics as ray_<name>, typed."""
    tag = f"metrics-test-{secrets.token_hex(3)}"
    record_one_of_each(tag)
    assert ray.get(record_in_a_worker.remote(f"{tag}-worker"))
    expected = {f"# TYPE {spec.exported_name} {spec.kind}" for spec in SPECS}
    expected |= {f'model="{tag}"', f'tool="{tag}-worker"'}
    deadline = time.monotonic() + DEADLINE_S
    missing = expected
    while time.monotonic() < deadline:
        text = scrape()
        missing = {line for line in expected if line not in text}
        if not missing:
            break
        time.sleep(1.0)
    assert not missing, f"not exported within {DEADLINE_S:g} s: {sorted(missing)}"
    assert "ray_penguin_turns_total{" in text and "ray_penguin_turn_seconds_bucket{" in text
