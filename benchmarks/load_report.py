"""The load benchmark's targets, markdown tables and plot panels, from its report (a JSON-able dict)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import fmt, machine_line
from benchmarks.profile import Target as ProfileTarget
from benchmarks.profile import markdown as profile_markdown

REFERENCE = (
    "Reference, the original Penguin server: p50 248 ms for one turn of 50 tokens from an instant model,"
    " and 6.5 s for 32 concurrent turns of ~1 s replies."
)


@dataclass(frozen=True)
class Target:
    scenario: str
    clients: int
    figure: str  # "ttft_overhead_ms.p50", "errors", "turns_per_s"...
    op: str  # "<=" or ">="
    limit: float
    unit: str = ""

    def describe(self) -> str:
        return f"{self.scenario} N={self.clients}: {self.figure} {self.op} {self.limit:g}{self.unit}"


def _streaming_targets(scenario: str) -> list[Target]:
    return [
        Target(scenario, 64, "wall_over_ideal.p50", "<=", 1.25, "x"),
        Target(scenario, 64, "ttft_overhead_ms.p50", "<=", 20, " ms"),
        Target(scenario, 64, "ttft_overhead_ms.p99", "<=", 150, " ms"),
        Target(scenario, 64, "errors", "<=", 0),
        Target(scenario, 1, "ttft_overhead_ms.p50", "<=", 15, " ms"),
    ]


TARGETS = (
    *_streaming_targets("ws-sim"),
    *_streaming_targets("ws-openai"),
    Target("http-instant", 1, "latency_ms.p50", "<=", 30, " ms"),
    Target("http-1s", 32, "wall_s.p50", "<=", 1.3, " s"),
    Target("relay", 32, "tokens_per_s.p50", ">=", 20_000, " tokens/s"),
)
_OPS = {"<=": operator.le, ">=": operator.ge}


def figure(step: dict[str, Any], name: str) -> float | None:
    """``"ttft_ms.p50"`` → ``step["ttft_ms"]["p50"]``; None when absent."""
    value: Any = step
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else float(value)


def evaluate(report: dict[str, Any], targets: tuple[Target, ...]) -> list[dict[str, Any]]:
    verdicts = []
    for target in targets:
        step = report["results"].get(target.scenario, {}).get("steps", {}).get(str(target.clients))
        entry: dict[str, Any] = {"target": target.describe(), "measured": None, "baseline": None, "pass": None}
        if step is not None:
            entry["measured"] = figure(step["server"], target.figure)
            entry["baseline"] = figure(step["baseline"], target.figure)
            if entry["measured"] is not None:
                entry["pass"] = _OPS[target.op](entry["measured"], target.limit)
        verdicts.append(entry)
    return verdicts


def _pair(step: dict[str, Any], key: str, scale: float = 1.0, digits: int = 1) -> str:
    stats = step.get(key) or {}
    low, high = stats.get("p50"), stats.get("p99")
    return (
        f"{fmt(None if low is None else low * scale, digits)} / {fmt(None if high is None else high * scale, digits)}"
    )


def _ratio(steps: dict[str, Any], key: str, digits: int = 2) -> str:
    value = steps["ratio"].get(key)
    return "-" if value is None else f"{value:.{digits}f}x"


def _streaming_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| N | turns | errors | TTFT overhead p50 / p99 ms | baseline p50 / p99 ms | ratio p50 / p99"
        " | TTFT p50 / p99 ms | wall / ideal (p50 round) | baseline | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, steps in result["steps"].items():
        s, b = steps["server"], steps["baseline"]
        lines.append(
            f"| {n} | {s['turns']} | {s['errors']} | {_pair(s, 'ttft_overhead_ms')} | {_pair(b, 'ttft_overhead_ms')}"
            f" | {_ratio(steps, 'ttft_overhead_ms.p50', 1)} / {_ratio(steps, 'ttft_overhead_ms.p99', 1)}"
            f" | {_pair(s, 'ttft_ms')} | {fmt(figure(s, 'wall_over_ideal.p50'), 3)}"
            f" | {fmt(figure(b, 'wall_over_ideal.p50'), 3)} | {_ratio(steps, 'wall_over_ideal.p50', 3)} |"
        )
    return lines


def _http_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| N | turns | errors | latency p50 / p99 ms | over model time p50 ms | baseline p50 / p99 ms | ratio p50"
        " | wall p50 s | wall / ideal | turns/s | baseline turns/s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, steps in result["steps"].items():
        s, b = steps["server"], steps["baseline"]
        lines.append(
            f"| {n} | {s['turns']} | {s['errors']} | {_pair(s, 'latency_ms')}"
            f" | {fmt(figure(s, 'latency_overhead_ms.p50'))} | {_pair(b, 'latency_ms')}"
            f" | {_ratio(steps, 'latency_ms.p50')} | {fmt(figure(s, 'wall_s.p50'), 3)}"
            f" | {fmt(figure(s, 'wall_over_ideal.p50'), 3)} | {fmt(s['turns_per_s'])} | {fmt(b['turns_per_s'])}"
            f" | {_ratio(steps, 'turns_per_s')} |"
        )
    return lines


def _relay_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| N | turns | errors | tokens/s (p50 round) | baseline | ratio | frames/s | baseline | tokens/frame"
        " | baseline | wall / ideal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, steps in result["steps"].items():
        s, b = steps["server"], steps["baseline"]
        lines.append(
            f"| {n} | {s['turns']} | {s['errors']} | {fmt(figure(s, 'tokens_per_s.p50'), 0)}"
            f" | {fmt(figure(b, 'tokens_per_s.p50'), 0)} | {_ratio(steps, 'tokens_per_s.p50')}"
            f" | {fmt(figure(s, 'frames_per_s.p50'), 0)} | {fmt(figure(b, 'frames_per_s.p50'), 0)}"
            f" | {fmt(s['tokens_per_frame'])} | {fmt(b['tokens_per_frame'])}"
            f" | {fmt(figure(s, 'wall_over_ideal.p50'), 3)} |"
        )
    return lines


CPU_ROLES_SHOWN = 6


def _cpu_table(report: dict[str, Any]) -> list[str]:
    """CPU time per turn by process role for every step, server and baseline, and how busy the machine was."""
    lines = [
        "| scenario | N | server CPU ms / turn | baseline | machine busy (server) | by role, ms / turn (server) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, result in report["results"].items():
        for n, steps in result["steps"].items():
            s, b = steps["server"].get("cpu"), steps["baseline"].get("cpu")
            if s is None or b is None:
                continue
            turns = steps["server"]["turns"] or 1
            roles = list(s["seconds_by_role"].items())
            shown = [f"{role} {seconds / turns * 1000:.1f}" for role, seconds in roles[:CPU_ROLES_SHOWN]]
            rest = sum(seconds for _, seconds in roles[CPU_ROLES_SHOWN:])
            if rest:
                shown.append(f"other {rest / turns * 1000:.1f}")
            lines.append(
                f"| {name} | {n} | {fmt(s['ms_per_turn'])} | {fmt(b['ms_per_turn'])}"
                f" | {fmt(None if s['machine_share'] is None else s['machine_share'] * 100, 0)} %"
                f" | {', '.join(shown)} |"
            )
    return lines


def markdown(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, result in report["results"].items():
        shape = result["shape"]
        lines += [
            f"## {name}: {result['what']}",
            "",
            f"Model `{result['model']}`: first token after {shape['first_s'] * 1000:g} ms, {shape['tokens']} tokens"
            + (f" at {shape['rate']:g}/s" if shape["rate"] else " at once")
            + f"; ideal turn {shape['ideal_s'] * 1000:,.0f} ms. {result['rounds']} measured round(s) per N.",
            "",
        ]
        if name == "relay":
            lines += _relay_table(result)
        elif result["transport"] == "ws":
            lines += _streaming_table(result)
        else:
            lines += _http_table(result)
        lines.append("")
    lines += ["## Targets", "", "| target | server | baseline | verdict |", "|---|---:|---:|---|"]
    for verdict in report["targets"]:
        status = {True: "pass", False: "**FAIL**", None: "not measured"}[verdict["pass"]]
        lines.append(
            f"| {verdict['target']} | {fmt(verdict['measured'], 2)} | {fmt(verdict['baseline'], 2)} | {status} |"
        )
    lines += [
        "",
        "## Where the CPU goes",
        "",
        "CPU time (user + system) of every process, summed over each step's measured rounds and divided by its"
        " turns: the server's processes by role (`ConversationActor` is all the conversation actors together),"
        " the fake LLM's, and the benchmark's own (its clients; in the baseline, everything). Machine busy: that"
        " CPU time over the step's elapsed time and all CPUs.",
        "",
        *_cpu_table(report),
    ]
    for name, result in report["results"].items():
        for n, steps in result["steps"].items():
            if "profile" in steps["server"]:
                lines += ["", *profile_markdown(steps["server"]["profile"], ProfileTarget(name, int(n)))]
    warmups = report["warmup_errors"]
    lines += [
        "",
        "Baseline: the same clients, models and settings file driven in this process on plain `Conversation`"
        f" objects with the `{report['parameters']['baseline_store']}` store (no Ray, no Serve, no HTTP); a ratio"
        " is server / baseline from the same run. TTFT overhead = time to the first `token` frame minus the model's"
        " own first-token delay; over model time = latency minus the ideal turn. Wall: first send to last end of"
        " a round (one turn per client, sent at once); ideal = the model's own time for one turn.",
        REFERENCE,
        f"Warm-up errors: server {len(warmups['server'])}, baseline {len(warmups['baseline'])}.",
        machine_line(report["machine"], report["host"]) + f" Run took {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def panels(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One plot panel per scenario but relay: TTFT overhead (streamed) or latency (HTTP) against N."""
    found = []
    for name, result in report["results"].items():
        if name == "relay":
            continue
        key, label = ("ttft_overhead_ms", "TTFT overhead") if result["transport"] == "ws" else ("latency_ms", "latency")
        ns = [int(n) for n in result["steps"]]
        series = []
        for side, style in (("server", "-"), ("baseline", "--")):
            for stat, marker in (("p50", "o"), ("p99", "s")):
                ys = [figure(result["steps"][str(n)][side], f"{key}.{stat}") for n in ns]
                series.append({"label": f"{side} {stat}", "x": ns, "y": ys, "style": marker + style})
        found.append(
            {
                "title": f"{name} ({result['model']})",
                "xlabel": "concurrent clients (N)",
                "ylabel": f"{label} (ms)",
                "xlog": True,
                "xticks": ns,
                "series": series,
            }
        )
    return found
