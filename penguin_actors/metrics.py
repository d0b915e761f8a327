"""Penguin's metrics as ``ray.util.metrics``, exported by each node's metrics agent for Prometheus.

Ray's exporter prefixes every name with ``ray_``: ``penguin_turns_total`` is scraped as
``ray_penguin_turns_total`` (a histogram as ``…_bucket``, ``…_sum`` and ``…_count``).
``metrics()`` returns one cached holder per process; its instruments are created on
first use, because ``ray.util.metrics`` needs a process connected to Ray. Without Ray
(unit tests, a plain Python process) every helper does nothing. A helper never raises into its caller:
a failing metrics backend is logged once, at debug level, and then ignored.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, Literal, ParamSpec

log = logging.getLogger(__name__)

EXPORT_PREFIX = "ray_"  # added by Ray's Prometheus exporter

Kind = Literal["counter", "gauge", "histogram"]
PassivationReason = Literal["idle", "evicted", "deleted"]
TurnStatus = Literal["completed", "error", "cancelled"]
CheckpointOperation = Literal["create", "rollback", "branch", "cleanup", "auto"]

_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_FIRST_TOKEN_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_COMMIT_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_BATCH_SIZES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name (before Ray's prefix), kind, meaning, tag keys and histogram buckets."""

    name: str
    kind: Kind
    description: str
    tags: tuple[str, ...] = ()
    boundaries: tuple[float, ...] = ()

    @property
    def exported_name(self) -> str:
        return EXPORT_PREFIX + self.name


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec("penguin_active_conversations", "gauge", "conversations active (held by a host) now"),
    MetricSpec("penguin_activations_total", "counter", "conversations activated"),
    MetricSpec("penguin_passivations_total", "counter", "conversations passivated, by reason", ("reason",)),
    MetricSpec("penguin_hosts", "gauge", "conversation hosts (Ray actors) running now"),
    MetricSpec("penguin_turns_total", "counter", "chat turns finished, by model and status", ("model", "status")),
    MetricSpec("penguin_turn_seconds", "histogram", "duration of a chat turn", ("model",), _SECONDS),
    MetricSpec(
        "penguin_time_to_first_token_seconds",
        "histogram",
        "time to a turn's first token",
        ("model",),
        _FIRST_TOKEN_SECONDS,
    ),
    MetricSpec("penguin_tokens_total", "counter", "model tokens, by model and direction", ("model", "direction")),
    MetricSpec("penguin_tool_runs_total", "counter", "tool runs finished, by tool and status", ("tool", "status")),
    MetricSpec("penguin_tool_seconds", "histogram", "duration of a tool run", ("tool",), _SECONDS),
    MetricSpec("penguin_checkpoint_operations_total", "counter", "checkpoint operations, by operation", ("operation",)),
    MetricSpec("penguin_store_commit_batch_size", "histogram", "appends written by one group commit", (), _BATCH_SIZES),
    MetricSpec("penguin_store_commit_seconds", "histogram", "duration of one group commit", (), _COMMIT_SECONDS),
    MetricSpec("penguin_websocket_connections", "gauge", "open WebSockets of this ingress replica", ("route",)),
    MetricSpec("penguin_host_conversations", "gauge", "conversations a conversation host holds", ("host",)),
    MetricSpec("penguin_host_turns_running", "gauge", "turns running on a conversation host", ("host",)),
    MetricSpec("penguin_host_event_loop_lag_seconds", "gauge", "how late a host's event loop wakes", ("host",)),
)
SPECS_BY_NAME: Mapping[str, MetricSpec] = {spec.name: spec for spec in SPECS}

# Builds the instrument of a spec: a ray.util.metrics Counter, Gauge or Histogram (or a test's fake).
Factory = Callable[[MetricSpec], Any]


P = ParamSpec("P")


def _recording(method: Callable[Concatenate[Metrics, P], None]) -> Callable[Concatenate[Metrics, P], None]:
    """Run a helper only when metrics are on, and never let its failure reach the caller."""

    @functools.wraps(method)
    def guarded(self: Metrics, /, *args: P.args, **kwargs: P.kwargs) -> None:
        if self.factory is None:
            return
        try:
            method(self, *args, **kwargs)
        except Exception as exc:  # a metrics failure must never fail the work it measures
            if not self.failed:
                self.failed = True
                log.debug("recording a metric failed (%s: %r); further failures are not logged", method.__name__, exc)

    return guarded


class Metrics:
    """Typed helpers over the instruments; ``factory=None`` makes every helper a no-op.

    ``factory`` builds the instrument of a spec (``edge.metrics.ray_instrument`` in a Ray process);
    instruments are built on their first use.
    """

    def __init__(self, factory: Factory | None) -> None:
        self.factory = factory
        self.failed = False  # a failure has been logged
        self._instruments: dict[str, Any] = {}
        self._open_websockets: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.factory is not None

    def _get(self, name: str) -> Any:
        instrument = self._instruments.get(name)
        if instrument is None:
            assert self.factory is not None
            instrument = self._instruments[name] = self.factory(SPECS_BY_NAME[name])
        return instrument

    # --- the directory -------------------------------------------------------------

    @_recording
    def active_conversations(self, count: int) -> None:
        self._get("penguin_active_conversations").set(count)

    @_recording
    def hosts(self, count: int) -> None:
        self._get("penguin_hosts").set(count)

    @_recording
    def activated(self) -> None:
        self._get("penguin_activations_total").inc(1)

    @_recording
    def passivated(self, reason: PassivationReason) -> None:
        self._get("penguin_passivations_total").inc(1, tags={"reason": reason})

    # --- conversation hosts ----------------------------------------------------------

    @_recording
    def host_load(self, host: str, conversations: int, turns_running: int, loop_lag_s: float) -> None:
        self._get("penguin_host_conversations").set(conversations, tags={"host": host})
        self._get("penguin_host_turns_running").set(turns_running, tags={"host": host})
        self._get("penguin_host_event_loop_lag_seconds").set(loop_lag_s, tags={"host": host})

    # --- turns (engine) ------------------------------------------------------------

    @_recording
    def turn_finished(self, model: str, status: TurnStatus, seconds: float) -> None:
        self._get("penguin_turns_total").inc(1, tags={"model": model, "status": status})
        self._get("penguin_turn_seconds").observe(seconds, tags={"model": model})

    @_recording
    def first_token(self, model: str, seconds: float) -> None:
        self._get("penguin_time_to_first_token_seconds").observe(seconds, tags={"model": model})

    @_recording
    def tokens(self, model: str, input_tokens: int, output_tokens: int) -> None:
        for direction, count in (("input", input_tokens), ("output", output_tokens)):
            if count > 0:  # a Ray counter refuses increments of 0
                self._get("penguin_tokens_total").inc(count, tags={"model": model, "direction": direction})

    # --- tools and the store ---------------------------------------------------------

    @_recording
    def tool_finished(self, tool: str, status: str, seconds: float) -> None:
        self._get("penguin_tool_runs_total").inc(1, tags={"tool": tool, "status": status})
        self._get("penguin_tool_seconds").observe(max(seconds, 0.0), tags={"tool": tool})

    @_recording
    def checkpoint_operation(self, operation: CheckpointOperation, count: int = 1) -> None:
        if count > 0:
            self._get("penguin_checkpoint_operations_total").inc(count, tags={"operation": operation})

    @_recording
    def store_committed(self, batch_size: int, seconds: float) -> None:
        self._get("penguin_store_commit_batch_size").observe(batch_size)
        self._get("penguin_store_commit_seconds").observe(seconds)

    # --- WebSockets (ingress) ----------------------------------------------------------

    @_recording
    def websocket_opened(self, route: str) -> None:
        self._set_websockets(route, self._open_websockets.get(route, 0) + 1)

    @_recording
    def websocket_closed(self, route: str) -> None:
        self._set_websockets(route, max(self._open_websockets.get(route, 0) - 1, 0))

    def _set_websockets(self, route: str, count: int) -> None:
        self._open_websockets[route] = count
        self._get("penguin_websocket_connections").set(count, tags={"route": route})


_OFF = Metrics(None)
_recording_metrics: Metrics | None = None


def metrics() -> Metrics:
    """This process's metrics: recording while it is connected to Ray, a no-op otherwise.

    Never loads Ray itself (``RAY_AUTH_MODE`` must be chosen before Ray is loaded): only a
    process where Ray is loaded and connected gets the instruments of ``edge/metrics.py``.
    """
    global _recording_metrics
    ray = sys.modules.get("ray")
    try:
        connected = ray is not None and ray.is_initialized()
    except Exception:  # a half-imported or broken Ray: no metrics, never an error
        connected = False
    if not connected:
        return _OFF
    if _recording_metrics is None:
        from penguin_actors.edge.metrics import ray_instrument

        _recording_metrics = Metrics(ray_instrument)
    return _recording_metrics
