"""The metrics' instruments in a Ray process: ``ray.util.metrics``, exported by each node's metrics agent."""

from __future__ import annotations

from typing import Any

from ray.util import metrics as ray_metrics

from penguin_actors.metrics import MetricSpec


def ray_instrument(spec: MetricSpec) -> Any:
    """The ``ray.util.metrics`` object for ``spec``."""
    if spec.kind == "counter":
        return ray_metrics.Counter(spec.name, spec.description, tag_keys=spec.tags)
    if spec.kind == "gauge":
        return ray_metrics.Gauge(spec.name, spec.description, tag_keys=spec.tags)
    return ray_metrics.Histogram(spec.name, spec.description, boundaries=list(spec.boundaries), tag_keys=spec.tags)
