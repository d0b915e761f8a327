"""The activation benchmark's targets, ratios and markdown tables, from its report (a JSON-able dict).

The report holds the baseline's figures and each mode's under the mode's key (``server`` for
``hosted``, ``solo``); the tables put the modes side by side, and the targets are judged on
``hosted``, with ``solo``'s figures beside.
"""

from __future__ import annotations

from typing import Any

from benchmarks import harness, modes
from benchmarks.held import SOLO_MOST

SHORT = 10  # messages of the short conversation re-activated for contrast
# (what, the figure: a key and a stat or field, the limit); {messages} is the long conversation's length
TARGETS = (
    ("cold activation p50 <= 0.5 s", ("cold_activation_s", "p50"), 0.5),
    ("re-activation of {messages} messages p50 <= 0.6 s", ("reactivation_{messages}_s", "p50"), 0.6),
    ("held: USS of all the server's processes <= 2,048 MB", ("held", "all_uss_mb"), 2048.0),
    ("held: USS growth per held conversation <= 2 MB", ("held", "growth_per_conversation_mb"), 2.0),
    ("held: conversation processes' USS per held conversation <= 2 MB", ("held", "hosts_uss_per_conversation_mb"), 2.0),
)
MEMORY_MODELS = ("sim-instant", "openai-fake")


def _value(figures: dict[str, Any] | None, key: str, field: str) -> float | None:
    value = ((figures or {}).get(key) or {}).get(field)
    return None if value is None else float(value)


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target's verdict on the hosted server's figures, with the solo server's beside (no verdict)."""
    messages = report["parameters"]["messages"]
    found = []
    for label, (key, field), limit in TARGETS:
        key = key.format(messages=messages)
        measured = _value(report.get(modes.HOSTED.key), key, field)
        found.append(
            {
                "target": label.format(messages=f"{messages:,}"),
                "limit": limit,
                "measured": measured,
                "solo": _value(report.get(modes.SOLO.key), key, field),
                "pass": None if measured is None else measured <= limit,
            }
        )
    return found


def ratios(figures: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    """A mode's figures over the baseline's: every timing's p50, and the memory growth per conversation."""
    found: dict[str, float | None] = {}
    for key, value in figures.items():
        if key.endswith("_s") and isinstance(value, dict) and key in base:
            found[f"{key}.p50"] = harness.ratio(value["p50"], base[key]["p50"])
    found["held.growth_per_conversation_mb"] = harness.ratio(
        _value(figures, "held", "growth_per_conversation_mb"), _value(base, "held", "growth_per_conversation_mb")
    )
    for model in MEMORY_MODELS:
        found[f"memory_after_{model}.growth_per_conversation_mb"] = harness.ratio(
            _value(figures, f"memory_after_{model}", "server_uss_growth_per_conversation_mb"),
            _value(base, f"memory_after_{model}", "uss_growth_per_conversation_mb"),
        )
    return found


def _sides(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(report key, mode name) of each mode the run measured (a report from before modes: one server, hosted)."""
    by_name = {mode.name: mode for mode in modes.MODES}
    return [(by_name[name].key, name) for name in report["parameters"].get("modes", [modes.HOSTED.name])]


def _ms_pair(stats: dict[str, Any] | None) -> str:
    if not stats:
        return "-"
    p50, p95 = stats.get("p50"), stats.get("p95")
    return f"{_ms(p50)} / {_ms(p95)}"


def _ms(seconds: float | None) -> str:
    return harness.fmt(None if seconds is None else seconds * 1000, 2)


def _ratio_cells(report: dict[str, Any], sides: list[tuple[str, str]], key: str, digits: int = 1) -> str:
    values = [(report.get("ratios", {}).get(side) or {}).get(key) for side, _ in sides]
    return " / ".join(harness.fmt(v, digits, "x") for v in values)


def _timings(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    b, p = report["baseline"], report["parameters"]
    rows = [
        ("cold activation (`directory.activate`, empty conversation)", "cold_activation_s"),
        ("an empty Ray actor, started and ready (Ray's own floor)", "empty_actor_s"),
        ("first HTTP turn of a new conversation (activation included)", "first_turn_s"),
        ("its second turn", "second_turn_s"),
        (f"re-activation, {p['messages']:,} messages", f"reactivation_{p['messages']}_s"),
        (f"re-activation, {SHORT} messages", f"reactivation_{SHORT}_s"),
    ]
    names = " / ".join(name for _, name in sides)
    lines = [
        "| what | "
        + " | ".join(f"{name} p50 / p95 ms" for _, name in sides)
        + f" | baseline p50 / p95 ms | ratio p50 ({names}) | samples |",
        "|---|" + "---:|" * (len(sides) + 3),
    ]
    for label, key in rows:
        cells = [_ms_pair((report.get(side) or {}).get(key)) for side, _ in sides]
        samples = " / ".join(str(((report.get(side) or {}).get(key) or {}).get("n", "-")) for side, _ in sides)
        lines.append(
            f"| {label} | {' | '.join(cells)} | {_ms_pair(b.get(key))} | {_ratio_cells(report, sides, f'{key}.p50')}"
            f" | {samples} |"
        )
    return lines


def _held(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    base = report["baseline"].get("held", {})
    held = {side: (report.get(side) or {}).get("held", {}) for side, _ in sides}
    rows: list[tuple[str, str, int, str]] = [  # label, field, digits, the baseline's field ("": none)
        ("conversations held", "conversations", 0, "conversations"),
        ("processes (all the server's)", "processes", 0, ""),
        ("conversation processes (hosts, or solo actors)", "conversation_processes", 0, ""),
        ("USS of all processes, MB", "all_uss_mb", 0, "process_uss_mb"),
        ("USS growth while held, MB", "growth_mb", 1, "growth_mb"),
        ("USS growth per held conversation, MB", "growth_per_conversation_mb", 2, "growth_per_conversation_mb"),
        ("conversation processes' USS, MB", "hosts_uss_mb", 0, ""),
        ("conversation processes' USS per held conversation, MB", "hosts_uss_per_conversation_mb", 2, ""),
        ("all activated at once, s", "activation_wall_s", 2, "activation_wall_s"),
    ]
    lines = [
        "| held memory | " + " | ".join(name for _, name in sides) + " | baseline |",
        "|---|" + "---:|" * (len(sides) + 1),
    ]
    for label, field, digits, base_field in rows:
        cells = [harness.fmt(held[side].get(field), digits) for side, _ in sides]
        lines.append(f"| {label} | {' | '.join(cells)} | {harness.fmt(base.get(base_field), digits)} |")
    growth = _ratio_cells(report, sides, "held.growth_per_conversation_mb")
    lines.append(f"| growth per conversation / baseline's | {growth.replace(' / ', ' | ')} | |")
    return lines


def _roles(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    lines = []
    for side, name in sides:
        by_role = ((report.get(side) or {}).get("held") or {}).get("uss_by_role_mb") or {}
        shown = ", ".join(f"{role} {mb:,.0f}" for role, mb in list(by_role.items())[:8])
        lines.append(f"USS by process role while held ({name}), MB: {shown}.")
    return lines


def _sdk_memory(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    b = report["baseline"]
    lines = [
        "| memory per active conversation | mode | conversation processes | USS p50 / max MB per process"
        " | RSS p50 / max MB | server growth / conversation MB | baseline growth / conversation MB | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model in MEMORY_MODELS:
        for side, name in sides:
            m = (report.get(side) or {}).get(f"memory_after_{model}")
            if m is None:
                continue
            growth = m["server_uss_growth_per_conversation_mb"]
            base = b[f"memory_after_{model}"]["uss_growth_per_conversation_mb"]
            lines.append(
                f"| after a `{model}` turn | {name} | {m['actors']} | {harness.fmt(m['uss_mb']['p50'])} /"
                f" {harness.fmt(m['uss_mb']['max'])} | {harness.fmt(m['rss_mb']['p50'])} /"
                f" {harness.fmt(m['rss_mb']['max'])} | {harness.fmt(growth)} | {harness.fmt(base, 2)}"
                f" | {harness.fmt(harness.ratio(growth, base), 0, 'x')} |"
            )
    return lines


def _capacity(report: dict[str, Any], sides: list[tuple[str, str]]) -> list[str]:
    lines = []
    for side, name in sides:
        cap = (report.get(side) or {}).get("capacity")
        if cap is None:
            continue
        more = "-" if cap["more_conversations"] is None else f"{cap['more_conversations']:,}"
        lines.append(
            f"Capacity ({name}): with `max_active` {cap['max_active']}, {cap['active_when_filled']} conversations were"
            f" active once filled, on {cap['hosts_when_filled']} hosts; {cap['overflow_activations']} more activations"
            f" evicted {cap['evictions_by_overflow']} and left {cap['active_after_overflow']} active. At"
            f" {harness.fmt(cap['uss_per_conversation_mb'], 2)} MB USS growth per held conversation, the"
            f" {cap['memory_available_mb_when_filled']:,} MB then still available would hold about {more} more."
        )
    return lines


def markdown(report: dict[str, Any]) -> str:
    sides = _sides(report)
    p = report["parameters"]
    held_by_mode = p.get("held_by_mode", {})
    lines = [*_timings(report, sides), ""]
    lines += [
        f"Held: {p['held']:,} conversations of {p['held_messages']} messages each, seeded through the store, then all"
        " activated at once and held; USS of every process of the server's tree (psutil), the growth from just"
        " before the activations, and the conversation processes' USS over the held count.",
        "",
        *_held(report, sides),
        "",
    ]
    if held_by_mode.get(modes.SOLO.name, p["held"]) < p["held"]:
        lines += [
            f"Solo mode held {held_by_mode[modes.SOLO.name]} conversations, not {p['held']:,}: a process each, and"
            f" {p['held']:,} processes do not fit on this machine (it holds at most {SOLO_MOST}). Read its figures"
            " per conversation.",
            "",
        ]
    lines += [*_roles(report, sides), "", *_sdk_memory(report, sides), "", *_capacity(report, sides), ""]
    lines += [
        "| target | limit | hosted | solo | verdict (hosted) |",
        "|---|---:|---:|---:|---|",
    ]
    for verdict in report["targets"]:
        status = {True: "pass", False: "**FAIL**", None: "not measured"}[verdict["pass"]]
        lines.append(
            f"| {verdict['target']} | {harness.fmt(verdict.get('limit'), 1)} | {harness.fmt(verdict['measured'], 3)}"
            f" | {harness.fmt(verdict.get('solo'), 3)} | {status} |"
        )
    lines += [
        "",
        "Modes: "
        + "; ".join(f"**{m.name}**, {m.what}" for m in modes.MODES if any(m.key == k for k, _ in sides))
        + ". Each mode had a server of its own, one after the other. Cold activation in hosted mode loads the"
        " conversation on a running host (no process start); in solo mode it starts the conversation's actor.",
        "Server: this process joined the server's Ray as a driver and timed `directory.activate` (which answers the"
        " host's name) and `directory.passivate` between samples; turns went through `POST /chat/message`. USS is"
        " memory only that process holds (psutil). Baseline: plain `Conversation` objects in this process on a"
        " `CheckpointStore` (LanceDB) in a temporary directory; its memory is this process's USS growth.",
        harness.machine_line(report["machine"], report["host"]) + f" Run took {report['total_seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"
