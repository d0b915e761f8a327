"""The load benchmark's targets, markdown tables and plot panels, from its report (a JSON-able dict).

A step holds the baseline's figures and each mode's under the mode's key (``server`` for
``hosted``, ``solo``), with their ratios to the baseline (``ratio``, ``solo_ratio``); the
tables put the modes side by side, and the targets are judged on ``hosted``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks import modes
from benchmarks.harness import fmt, machine_line
from benchmarks.profile import Target as ProfileTarget
from benchmarks.profile import markdown as profile_markdown

REFERENCE = (
    "Reference, the original Penguin server: p50 248 ms for one turn of 50 tokens from an instant model,"
    " and 6.5 s for 32 concurrent turns of ~1 s replies."
)
Side = tuple[str, str]  # (the report's key for a mode's figures, the mode's name)
Render = Callable[[dict[str, Any] | None], str]  # one figure of one side's step, as a cell
Column = tuple[list[str], Callable[[dict[str, Any]], list[str]]]  # headers, and a step's cells under them


@dataclass(frozen=True)
class Target:
    """A step's figure against a limit; with ``of``, the limit is ``limit`` times the same figure of that
    step (same run, same mode)."""

    scenario: str
    clients: int
    figure: str  # "ttft_overhead_ms.p50", "errors", "turns_per_s"...
    op: str  # "<=" or ">="
    limit: float
    unit: str = ""
    of: tuple[str, int] | None = None  # (scenario, N) of the reference step

    def describe(self) -> str:
        if self.of is not None:
            return (
                f"{self.scenario} N={self.clients}: {self.figure} {self.op} {self.limit:g}x {self.of[0]} N={self.of[1]}"
            )
        return f"{self.scenario} N={self.clients}: {self.figure} {self.op} {self.limit:g}{self.unit}"

    def bound(self, report: dict[str, Any], key: str) -> float | None:
        """The limit for the figures under ``key``; None when the reference step was not measured."""
        if self.of is None:
            return self.limit
        reference = figure((_step(report, *self.of) or {}).get(key), self.figure)
        return None if reference is None else reference * self.limit


def _streaming_targets(scenario: str, wall: float) -> list[Target]:
    return [
        Target(scenario, 64, "wall_over_ideal.p50", "<=", wall, "x"),
        Target(scenario, 64, "ttft_overhead_ms.p50", "<=", 20, " ms"),
        Target(scenario, 64, "ttft_overhead_ms.p99", "<=", 150, " ms"),
        Target(scenario, 64, "errors", "<=", 0),
        Target(scenario, 1, "ttft_overhead_ms.p50", "<=", 15, " ms"),
    ]


TARGETS = (
    *_streaming_targets("ws-sim", 1.1),
    Target("ws-sim", 256, "wall_over_ideal.p50", "<=", 1.25, "x"),
    Target("ws-sim", 256, "errors", "<=", 0),
    *_streaming_targets("ws-openai", 1.25),
    Target("http-instant", 1, "latency_ms.p50", "<=", 30, " ms"),
    Target("http-cold", 1, "latency_ms.p50", "<=", 1.2, "x", of=("http-instant", 1)),
    Target("http-cold", 32, "wall_s.p50", "<=", 1.5, " s"),
    Target("http-1s", 32, "wall_s.p50", "<=", 1.3, " s"),
    Target("relay", 32, "tokens_per_s.p50", ">=", 20_000, " tokens/s"),
)
_OPS = {"<=": operator.le, ">=": operator.ge}


def figure(step: Any, name: str) -> float | None:
    """``"ttft_ms.p50"`` → ``step["ttft_ms"]["p50"]``; None when absent."""
    value: Any = step
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else float(value)


def _step(report: dict[str, Any], scenario: str, clients: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = report["results"].get(scenario, {}).get("steps", {}).get(str(clients))
    return found


def evaluate(report: dict[str, Any], targets: tuple[Target, ...]) -> list[dict[str, Any]]:
    """Each target's verdict on the hosted server's figures, with the solo server's and the baseline's beside."""
    verdicts = []
    for target in targets:
        step = _step(report, target.scenario, target.clients) or {}
        limit = target.bound(report, modes.HOSTED.key)
        entry: dict[str, Any] = {
            "target": target.describe(),
            "limit": limit,
            "measured": figure(step.get(modes.HOSTED.key), target.figure),
            "solo": figure(step.get(modes.SOLO.key), target.figure),
            "baseline": figure(step.get("baseline"), target.figure),
            "pass": None,
        }
        if entry["measured"] is not None and limit is not None:
            entry["pass"] = _OPS[target.op](entry["measured"], limit)
        verdicts.append(entry)
    return verdicts


# --- tables --------------------------------------------------------------------------------------


def sides(report: dict[str, Any]) -> list[Side]:
    """The modes the run measured, in its order (a report from before modes: the one server, as hosted)."""
    by_name = {mode.name: mode for mode in modes.MODES}
    return [(by_name[name].key, name) for name in report["parameters"].get("modes", [modes.HOSTED.name])]


def _ratio_key(key: str) -> str:
    return "ratio" if key == modes.HOSTED.key else f"{key}_ratio"


def _pair(step: dict[str, Any] | None, key: str, scale: float = 1.0, digits: int = 1) -> str:
    stats = (step or {}).get(key) or {}
    low, high = stats.get("p50"), stats.get("p99")
    return (
        f"{fmt(None if low is None else low * scale, digits)} / {fmt(None if high is None else high * scale, digits)}"
    )


def _group(steps: dict[str, Any], where: list[Side], render: Render) -> list[str]:
    """One cell per mode, then the baseline's."""
    return [render(steps.get(key)) for key, _ in where] + [render(steps.get("baseline"))]


def _ratios(steps: dict[str, Any], where: list[Side], key: str, digits: int = 2) -> str:
    """Each mode's ratio to the baseline, ``hosted / solo``."""
    values = [(steps.get(_ratio_key(side)) or {}).get(key) for side, _ in where]
    return " / ".join("-" if v is None else f"{v:.{digits}f}x" for v in values)


def _header(label: str, where: list[Side], baseline: bool = True) -> list[str]:
    names = [name for _, name in where] + (["baseline"] if baseline else [])
    return [f"{label}: {names[0]}", *names[1:]]


def _count(steps: dict[str, Any], where: list[Side], key: str) -> str:
    return " / ".join(str((steps.get(side) or {}).get(key, "-")) for side, _ in where)


def _table(result: dict[str, Any], where: list[Side], columns: list[Column]) -> list[str]:
    """A table with N, turns and errors per mode, then ``columns``: (headers, cells of one step)."""
    modes_named = " / ".join(name for _, name in where)
    headers = ["N", f"turns ({modes_named})", f"errors ({modes_named})"] + [h for hs, _ in columns for h in hs]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers)]
    for n, steps in result["steps"].items():
        cells = [n, _count(steps, where, "turns"), _count(steps, where, "errors")]
        cells += [c for _, cells_of in columns for c in cells_of(steps)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _stat(key: str, digits: int = 3) -> Render:
    return lambda s: fmt(figure(s, key), digits)


def _pairs(key: str) -> Render:
    return lambda s: _pair(s, key)


def _columns(result: dict[str, Any], name: str, where: list[Side]) -> list[Column]:
    """The columns of a scenario's table, by its kind: relay, cold, streamed or HTTP."""

    def group(label: str, render: Render, baseline: bool = True) -> Column:
        if baseline:
            return _header(label, where), lambda steps: _group(steps, where, render)
        return _header(label, where, False), lambda steps: [render(steps.get(key)) for key, _ in where]

    def ratio(key: str, digits: int = 2) -> Column:
        return [f"ratio ({' / '.join(n for _, n in where)})"], lambda steps: [_ratios(steps, where, key, digits)]

    if name == "relay":
        return [
            group("tokens/s (p50 round)", _stat("tokens_per_s.p50", 0)),
            ratio("tokens_per_s.p50"),
            group("frames/s", _stat("frames_per_s.p50", 0)),
            group("tokens/frame", lambda s: fmt((s or {}).get("tokens_per_frame"))),
        ]
    if result.get("cold"):
        columns = [group("first message p50 / p99 ms", _pairs("latency_ms")), ratio("latency_ms.p50")]
        if result["transport"] == "ws":
            columns.append(group("first message TTFT p50 / p99 ms", _pairs("ttft_ms")))
        return [
            *columns,
            group("create + first p50 / p99 ms", _pairs("create_first_ms")),
            ratio("create_first_ms.p50"),
            group("round wall p50 s", _stat("wall_s.p50")),
        ]
    if result["transport"] == "ws":
        return [
            group("TTFT overhead p50 / p99 ms", _pairs("ttft_overhead_ms")),
            ratio("ttft_overhead_ms.p50", 1),
            group("TTFT p50 / p99 ms", _pairs("ttft_ms"), baseline=False),
            group("wall / ideal (p50 round)", _stat("wall_over_ideal.p50")),
        ]
    return [
        group("latency p50 / p99 ms", _pairs("latency_ms")),
        ratio("latency_ms.p50"),
        group("over model time p50 ms", _stat("latency_overhead_ms.p50", 1), baseline=False),
        group("wall p50 s", _stat("wall_s.p50")),
        group("turns/s", lambda s: fmt((s or {}).get("turns_per_s"))),
    ]


CPU_ROLES_SHOWN = 6


def _cpu_table(report: dict[str, Any], where: list[Side]) -> list[str]:
    """CPU time per turn by process role for every step and mode, the baseline's, and how busy the machine was."""
    lines = [
        "| scenario | N | mode | server CPU ms / turn | baseline | machine busy (server)"
        " | by role, ms / turn (server) |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for name, result in report["results"].items():
        for n, steps in result["steps"].items():
            b = steps["baseline"].get("cpu")
            for key, mode in where:
                s = (steps.get(key) or {}).get("cpu")
                if s is None or b is None:
                    continue
                turns = steps[key]["turns"] or 1
                roles = list(s["seconds_by_role"].items())
                shown = [f"{role} {seconds / turns * 1000:.1f}" for role, seconds in roles[:CPU_ROLES_SHOWN]]
                rest = sum(seconds for _, seconds in roles[CPU_ROLES_SHOWN:])
                if rest:
                    shown.append(f"other {rest / turns * 1000:.1f}")
                lines.append(
                    f"| {name} | {n} | {mode} | {fmt(s['ms_per_turn'])} | {fmt(b['ms_per_turn'])}"
                    f" | {fmt(None if s['machine_share'] is None else s['machine_share'] * 100, 0)} %"
                    f" | {', '.join(shown)} |"
                )
    return lines


def _targets_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "## Targets",
        "",
        "Judged on the hosted server; the solo server's figures beside (no verdict).",
        "",
        "| target | limit (hosted) | hosted | solo | baseline | verdict |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for verdict in report["targets"]:
        status = {True: "pass", False: "**FAIL**", None: "not measured"}[verdict["pass"]]
        lines.append(
            f"| {verdict['target']} | {fmt(verdict.get('limit'), 2)} | {fmt(verdict['measured'], 2)}"
            f" | {fmt(verdict.get('solo'), 2)} | {fmt(verdict['baseline'], 2)} | {status} |"
        )
    return lines


def _settings_line(report: dict[str, Any]) -> str:
    by_mode = report["parameters"].get("settings_by_mode") or {modes.HOSTED.name: report["parameters"]["settings"]}
    described = [
        f"{mode}: " + ", ".join(f"`{k}` {v}" for k, v in sections.get("activation", {}).items())
        for mode, sections in by_mode.items()
    ]
    return "Activation settings by mode (besides no per-client limits): " + "; ".join(described) + "."


def markdown(report: dict[str, Any]) -> str:
    where = sides(report)
    lines: list[str] = []
    for name, result in report["results"].items():
        shape = result["shape"]
        lines += [
            f"## {name}: {result['what']}",
            "",
            f"Model `{result['model']}`: first token after {shape['first_s'] * 1000:g} ms, {shape['tokens']} tokens"
            + (f" at {shape['rate']:g}/s" if shape["rate"] else " at once")
            + f"; ideal turn {shape['ideal_s'] * 1000:,.0f} ms. {result['rounds']} measured round(s) per N"
            + (", each turn on a conversation created just before it (no warm-up)." if result.get("cold") else "."),
            "",
            *_table(result, where, _columns(result, name, where)),
            "",
        ]
    lines += _targets_table(report)
    lines += [
        "",
        "## Where the CPU goes",
        "",
        "CPU time (user + system) of every process, summed over each step's measured rounds and divided by its"
        " turns: the server's processes by role (`ConversationHostActor` is all the conversation hosts together,"
        " or in solo mode all the one-conversation actors), the fake LLM's, and the benchmark's own (its clients;"
        " in the baseline, everything). Machine busy: that CPU time over the step's elapsed time and all CPUs.",
        "",
        *_cpu_table(report, where),
    ]
    for name, result in report["results"].items():
        for n, steps in result["steps"].items():
            for key, mode in where:
                if "profile" in (steps.get(key) or {}):
                    profile = profile_markdown(steps[key]["profile"], ProfileTarget(name, int(n)))
                    lines += ["", profile[0] + f" ({mode})", *profile[1:]]
    warmups = report["warmup_errors"]
    lines += [
        "",
        "Modes: "
        + "; ".join(f"**{m.name}**, {m.what}" for m in modes.MODES if any(m.key == k for k, _ in where))
        + ". Each mode had a server of its own, one after the other.",
        _settings_line(report),
        "Baseline: the same clients, models and settings file driven in this process on plain `Conversation`"
        f" objects with the `{report['parameters']['baseline_store']}` store (no Ray, no Serve, no HTTP); a ratio"
        " is a mode's figure over the baseline's from the same run. TTFT overhead = time to the first `token` frame"
        " minus the model's own first-token delay; over model time = latency minus the ideal turn. Wall: first send"
        " to last end of a round (one turn per client, sent at once); ideal = the model's own time for one turn."
        " Cold steps: the first message alone (its activation included), create and first message together, and"
        " the round's wall from its first create to its last end; the baseline creates, activates and takes the"
        " turn in process.",
        REFERENCE,
        "Warm-up errors: " + ", ".join(f"{side} {len(errors)}" for side, errors in warmups.items()) + ".",
        machine_line(report["machine"], report["host"]) + f" Run took {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def panels(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One plot panel per scenario but relay: TTFT overhead (streamed) or latency (HTTP, cold) against N."""
    where = sides(report)
    found = []
    for name, result in report["results"].items():
        if name == "relay":
            continue
        streamed = result["transport"] == "ws" and not result.get("cold")
        key, label = ("ttft_overhead_ms", "TTFT overhead") if streamed else ("latency_ms", "latency")
        ns = [int(n) for n in result["steps"]]
        series = []
        lines = {side: style for (side, _), style in zip(where, ("-", ":"), strict=False)}
        for side, style in [*lines.items(), ("baseline", "--")]:
            for stat, marker in (("p50", "o"), ("p99", "s")):
                ys = [figure(result["steps"][str(n)].get(side), f"{key}.{stat}") for n in ns]
                series.append(
                    {"label": f"{modes.KEYS.get(side, side)} {stat}", "x": ns, "y": ys, "style": marker + style}
                )
        found.append(
            {
                "title": f"{name} ({result['model']})",
                "xlabel": "concurrent clients (N)",
                "ylabel": f"{label} (ms)" + (", first message" if result.get("cold") else ""),
                "xlog": True,
                "xticks": ns,
                "series": series,
            }
        )
    return found
