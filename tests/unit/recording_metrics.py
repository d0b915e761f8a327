"""A metrics holder whose instruments record what they are given, for tests of call sites without Ray.

The fake instruments enforce Ray's own rules (every tag key of the spec, string tag
values, counters only go up), so a call site that would break in Ray breaks here;
the holder swallows the error like the real one, and ``failed`` tells.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import pytest

from penguin_actors.metrics import Metrics, MetricSpec


@dataclass(frozen=True)
class Recorded:
    name: str
    method: str  # inc | set | observe
    value: float
    tags: dict[str, str]


class FakeInstrument:
    def __init__(self, spec: MetricSpec, records: list[Recorded]) -> None:
        self.spec = spec
        self._records = records

    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        if self.spec.kind != "counter" or value <= 0:
            raise ValueError(f"{self.spec.name}: inc({value}) on a {self.spec.kind}")
        self._record("inc", value, tags)

    def set(self, value: float | None, tags: dict[str, str] | None = None) -> None:
        if self.spec.kind != "gauge":
            raise ValueError(f"{self.spec.name}: set() on a {self.spec.kind}")
        if value is not None:
            self._record("set", value, tags)

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        if self.spec.kind != "histogram":
            raise ValueError(f"{self.spec.name}: observe() on a {self.spec.kind}")
        self._record("observe", value, tags)

    def _record(self, method: str, value: float, tags: dict[str, str] | None) -> None:
        tags = dict(tags or {})
        if set(tags) != set(self.spec.tags) or not all(isinstance(v, str) for v in tags.values()):
            raise ValueError(f"{self.spec.name}: tags {tags} do not match the spec's {self.spec.tags}")
        self._records.append(Recorded(self.spec.name, method, float(value), tags))


class MetricsRecorder:
    """A ``Metrics`` whose instruments are ``FakeInstrument``s, and queries over what they recorded."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self.metrics = Metrics(lambda spec: FakeInstrument(spec, self.records))

    def _matching(self, name: str, method: str, tags: dict[str, str]) -> list[Recorded]:
        return [r for r in self.records if r.name == name and r.method == method and tags.items() <= r.tags.items()]

    def total(self, name: str, **tags: str) -> float:
        """The sum of a counter's increments whose tags include ``tags``."""
        return sum(r.value for r in self._matching(name, "inc", tags))

    def last(self, name: str, **tags: str) -> float | None:
        """A gauge's last value."""
        found = self._matching(name, "set", tags)
        return found[-1].value if found else None

    def observed(self, name: str, **tags: str) -> list[float]:
        """A histogram's observations."""
        return [r.value for r in self._matching(name, "observe", tags)]


def record_metrics(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> MetricsRecorder:
    """Make ``metrics()`` in each of ``modules`` return a recorder's holder."""
    recorder = MetricsRecorder()
    for module in modules:
        monkeypatch.setattr(module, "metrics", lambda: recorder.metrics)
    return recorder
