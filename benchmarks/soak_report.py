"""The soak benchmark's target, markdown tables and plot panels, from its report (a JSON-able dict).

The report holds the baseline's outcome and each mode's under the mode's key (``server`` for
``hosted``, ``solo``); the tables put the modes side by side, and the target (the server's
memory after warm-up grows by at most ``GROWTH_LIMIT_MB``) is judged on ``hosted``.
"""

from __future__ import annotations

from typing import Any

from benchmarks import harness, modes

FLAT_FRACTION = 0.05  # flat: the fitted growth after warm-up is under 5 % of the mean
GROWTH_LIMIT_MB = 50.0  # the target: the server's USS grows by at most this after warm-up
MEMORY_ROWS = (
    ("USS mean after warm-up, MB", "mean_mb"),
    ("USS slope, MB / 100 conversations", "slope_mb_per_100_conversations"),
    ("USS slope, MB / 1,000 turns", "slope_mb_per_1000_turns"),
    ("USS slope, MB / minute", "slope_mb_per_minute"),
    (f"USS fitted growth after warm-up, MB (target <= {GROWTH_LIMIT_MB:g})", "fitted_growth_mb"),
)


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The memory target's verdict on the hosted server, with the solo server's figure beside (no verdict)."""

    def growth(key: str) -> float | None:
        value = ((report.get(key) or {}).get("memory") or {}).get("fitted_growth_mb")
        return None if value is None else float(value)

    measured = growth(modes.HOSTED.key)
    return [
        {
            "target": f"USS growth of the server after warm-up (fitted) <= {GROWTH_LIMIT_MB:g} MB",
            "limit": GROWTH_LIMIT_MB,
            "measured": measured,
            "solo": growth(modes.SOLO.key),
            "baseline": growth("baseline"),
            "pass": None if measured is None else measured <= GROWTH_LIMIT_MB,
        }
    ]


def _sides(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(report key, mode name) of each mode the run measured (a report from before modes: one server, hosted)."""
    by_name = {mode.name: mode for mode in modes.MODES}
    return [(by_name[name].key, name) for name in report["parameters"].get("modes", [modes.HOSTED.name])]


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    return harness.fmt(value, digits) if isinstance(value, float) else str(value)


def _row(label: str, values: list[Any], base: Any, digits: int = 1, ratio_digits: int | None = None) -> str:
    """A row: each mode's value, the baseline's, and (``ratio_digits``) each mode's ratio to the baseline."""
    cells = [_cell(v, digits) for v in values]
    base_cell = _cell(base, digits)
    ratios = (
        ""
        if ratio_digits is None
        else " / ".join(harness.fmt(harness.ratio(v, base), ratio_digits, "x") for v in values)
    )
    return f"| {label} | {' | '.join(cells)} | {base_cell} | {ratios} |"


def _summary(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    b, p = report["baseline"], report["parameters"]
    served = [report[key] for key, _ in sides]
    names = " / ".join(name for _, name in sides)
    lines = [
        "| | " + " | ".join(name for _, name in sides) + f" | baseline | ratio ({names}) |",
        "|---|" + "---:|" * (len(sides) + 2),
        _row(f"conversations done, of {p['turns']} turns", [s["conversations_done"] for s in served],
             b["conversations_done"]),
        _row("errors", [s["errors"] for s in served], b["errors"]),
        _row("conversations not stored as said", [s["conversations_not_stored_as_said"] for s in served],
             b["conversations_not_stored_as_said"]),
        _row("conversations that could not be read back", [s.get("read_back_errors", 0) for s in served], 0),
        _row("elapsed s", [s["elapsed_s"] for s in served], b["elapsed_s"], 1, 2),
        _row("turns/s", [s["turns_per_s"] for s in served], b["turns_per_s"], 1, 3),
    ]  # fmt: skip
    for label, key in MEMORY_ROWS:
        lines.append(_row(label, [s["memory"][key] for s in served], b["memory"][key], 1, 1))
    lines.append(
        _row(f"flat (growth < {FLAT_FRACTION:.0%} of mean)", [s["memory"]["flat"] for s in served], b["memory"]["flat"])
    )
    lines.append(
        _row(
            f"most active conversations seen (max_active {p['max_active']})",
            [s["max_active_seen"] for s in served],
            b["max_active_seen"],
        )
    )
    return lines


def _failures(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    """What went wrong, by mode: a few turn errors and read-back failures, if any."""
    lines = []
    for key, name in [*sides, ("baseline", "baseline")]:
        found = report[key]
        samples = found.get("error_samples", []) + found.get("read_back_error_samples", [])
        if samples:
            lines += [f"Errors ({name}): " + "; ".join(f"`{sample}`" for sample in samples), ""]
    return lines


def _roles(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    lines = [
        "Server memory by process role, after warm-up (USS):",
        "",
        "| role | mode | mean MB | min MB | max MB | slope MB / 100 conversations |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for key, name in sides:
        by_group = report[key]["memory_by_group"]
        for group, trend in sorted(by_group.items(), key=lambda kv: -(kv[1]["mean_mb"] or 0)):
            lines.append(
                f"| {group} | {name} | {harness.fmt(trend['mean_mb'])} | {harness.fmt(trend['min_mb'])}"
                f" | {harness.fmt(trend['max_mb'])} | {harness.fmt(trend['slope_mb_per_100_conversations'], 2)} |"
            )
    return lines


def markdown(report: dict[str, Any]) -> str:
    sides = _sides(report)
    p = report["parameters"]
    model = p["model"]
    lines = [*_summary(report, sides), "", *_failures(report, sides), *_roles(report, sides), ""]
    lines.append("| target | limit | hosted | solo | verdict |")
    lines.append("|---|---:|---:|---:|---|")
    for verdict in report["targets"]:
        status = {True: "pass", False: "**FAIL**", None: "not measured"}[verdict["pass"]]
        lines.append(
            f"| {verdict['target']} | {harness.fmt(verdict['limit'], 0)} | {harness.fmt(verdict['measured'])}"
            f" | {harness.fmt(verdict['solo'])} | {status} |"
        )
    lines += [
        "",
        "Modes: "
        + "; ".join(f"**{m.name}**, {m.what}" for m in modes.MODES if any(m.key == k for k, _ in sides))
        + ". Each mode had a server of its own, one after the other, with the same `max_active`.",
        f"{p['conversations']} conversations of {p['turns']} turns, {p['concurrency']} clients at a time, model"
        f" `{model['id']}` ({model['reply_tokens']} tokens, first after {model['first_token_delay_s']} s, then"
        f" {model['tokens_per_s']}/s). Memory: USS summed over the server process and every process of its Ray,"
        f" sampled every {p['sample_interval']} s; slopes are least-squares fits over the samples taken after the"
        f" first {p['warmup_conversations']} conversations were done, and the fitted growth is the slope over"
        " those conversations (and their turns). Baseline: the same in this process on plain"
        f" `Conversation` objects with the `{p['baseline_store']}` store, this process's USS.",
        harness.machine_line(report["machine"], report["host"]) + f" Run took {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def panels(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One memory panel per mode and one for the baseline: USS and RSS against conversations done."""
    found = []
    for key, name in [*_sides(report), ("baseline", "baseline")]:
        samples = report[key]["samples"]
        xs = [s["conversations"] for s in samples]
        series = [
            {"label": f"{field[:3].upper()}", "x": xs, "y": [s[field] for s in samples], "style": ".-"}
            for field in ("uss_mb", "rss_mb")
        ]
        found.append({"title": f"{name} memory", "xlabel": "conversations done", "ylabel": "MB", "series": series})
    return found
