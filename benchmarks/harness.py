"""What the benchmarks share: a server process, the fake LLM process, statistics, memory, results and plots.

``Server`` starts ``python -m serve_app serve`` on a free port with a settings file the
benchmark writes, waits for ``/api/v1/health``, and stops it with SIGTERM (the CLI then
shuts down Serve and the Ray it started); any process of its tree still alive after that
is killed, so a run never leaves a Ray behind, and no other Ray on the machine is touched.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import httpx
import yaml

from penguin_actors.config import Settings
from penguin_actors.testing.ports import free_port

# Environment variables a server child must not inherit: they would join another Ray or change its settings.
_SCRUBBED = ("RAY_ADDRESS", "ANTHROPIC_API_KEY", "OPENAI_API_KEY")
BANNER_END = "Press Ctrl-C to stop."


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    lo, hi = math.floor(position), math.ceil(position)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p90, p95, p99, min, max and mean of ``values`` (None figures when there are none)."""
    if not values:
        return {"n": 0, "p50": None, "p90": None, "p95": None, "p99": None, "min": None, "max": None, "mean": None}
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p90": percentile(values, 0.9),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "min": min(values),
        "max": max(values),
        "mean": sum(values) / len(values),
    }


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``, or None when either is missing or ``base`` is not positive."""
    if value is None or base is None or base <= 0:
        return None
    return value / base


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The least-squares slope of ``ys`` against ``xs`` (None for fewer than two distinct xs)."""
    if len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    """A figure for a markdown cell; ``-`` when missing."""
    return "-" if value is None else f"{value:,.{digits}f}{suffix}"


# --- the machine ---------------------------------------------------------------------------------


def machine_info(packages: Sequence[str]) -> dict[str, Any]:
    """CPUs, Python, platform, the versions of ``packages`` and the date."""
    cpu_model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
    for package in packages:
        info[package] = metadata.version(package)
    info["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    return info


def host_state() -> dict[str, Any]:
    """How busy the machine is now: memory and load average (a run on a busy machine reads so)."""
    memory = psutil().virtual_memory()
    return {
        "memory_total_mb": round(memory.total / 2**20),
        "memory_available_mb": round(memory.available / 2**20),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(machine: Mapping[str, Any], host: Mapping[str, Any]) -> str:
    """One markdown line describing where a run was taken."""
    return (
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), {host['memory_total_mb']:,} MB RAM,"
        f" Python {machine['python']}, Ray {machine.get('ray', '?')}, {machine['platform']}, {machine['date']};"
        f" load average at start {', '.join(str(x) for x in host['load_average'])}."
    )


def psutil() -> ModuleType:
    """psutil: the installed one, else the copy Ray ships in ``ray/thirdparty_files`` (without importing Ray)."""
    try:
        return importlib.import_module("psutil")
    except ImportError:
        spec = importlib.util.find_spec("ray")
        if spec is None or not spec.submodule_search_locations:
            raise
        sys.path.append(str(Path(next(iter(spec.submodule_search_locations))) / "thirdparty_files"))
        return importlib.import_module("psutil")


# --- results -------------------------------------------------------------------------------------


def write_results(out: Path, name: str, title: str, report: Mapping[str, Any], table: str) -> list[Path]:
    """Write ``<name>.json`` and ``<name>.md`` under ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(f"# {title}\n\n" + table, encoding="utf-8")
    return [json_path, md_path]


def plot(path: Path, title: str, panels: Sequence[Mapping[str, Any]]) -> bool:
    """Draw line panels to a PNG with matplotlib; False (nothing written) when matplotlib is not installed.

    Each panel: ``title``, ``xlabel``, ``ylabel``, optional ``xlog`` (base 2), and ``series``:
    a list of ``{"label", "x", "y", "style"?}``.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.8 * rows), squeeze=False)
    for index, panel in enumerate(panels):
        ax = axes[index // columns][index % columns]
        for series in panel["series"]:
            points = [(x, y) for x, y in zip(series["x"], series["y"], strict=True) if y is not None]
            if points:
                ax.plot(*zip(*points, strict=True), series.get("style", "o-"), label=series["label"])
        if panel.get("xlog"):
            ax.set_xscale("log", base=2)
            ax.set_xticks(panel.get("xticks", []), [str(x) for x in panel.get("xticks", [])])
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel(panel["xlabel"])
        ax.set_ylabel(panel["ylabel"])
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    for index in range(len(panels), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# --- processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    name: str
    uss_mb: float
    rss_mb: float


def tree_memory(pid: int) -> list[ProcessMemory]:
    """Unique (USS) and resident (RSS) memory of a process and all its descendants (gone ones skipped)."""
    ps = psutil()
    try:
        root = ps.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except ps.NoSuchProcess:
        return []
    found = []
    for process in processes:
        try:
            info = process.memory_full_info()
            name = _title(process.name(), process.cmdline())
        except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
            continue
        found.append(ProcessMemory(process.pid, name, info.uss / 2**20, info.rss / 2**20))
    return found


def tree_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far by a process and each of its descendants, with their titles."""
    ps = psutil()
    try:
        root = ps.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except ps.NoSuchProcess:
        return {}
    found = {}
    for process in processes:
        try:
            times = process.cpu_times()
            found[process.pid] = (_title(process.name(), process.cmdline()), times.user + times.system)
        except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
            continue
    return found


def cpu_by_role(before: Mapping[int, tuple[str, float]], after: Mapping[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each process role used between two ``tree_cpu`` snapshots, most first.

    A process started in between counts from zero; one that ended in between is not counted.
    """
    roles: dict[str, float] = {}
    for pid, (title, cpu) in after.items():
        role = process_group(title)
        roles[role] = roles.get(role, 0.0) + cpu - before.get(pid, (title, 0.0))[1]
    return dict(sorted(roles.items(), key=lambda item: -item[1]))


def _title(name: str, cmdline: list[str]) -> str:
    """A Ray worker's title (``ray::Class.method``), a Python script's or module's name, else the process name."""
    if cmdline and cmdline[0].startswith("ray::"):
        return cmdline[0]
    if name.startswith("python"):
        for i, arg in enumerate(cmdline[1:], 1):
            if arg == "-m" and i + 1 < len(cmdline):
                return f"python -m {cmdline[i + 1]}"
            if arg.endswith(".py"):
                return Path(arg).name
    return name


# The role of every process that holds conversations: a host (``host:<n>``) or, in solo mode, one's own actor.
CONVERSATION_ROLE = "ConversationHostActor"
_NAMED_HOSTS = ("host:", "conv:")  # the names the directory gives them: host:<n>, conv:<id>


def process_group(title: str) -> str:
    """A process's role: ``ray::host:3:ConversationHostActor.wait`` → ``ConversationHostActor``."""
    if not title.startswith("ray::"):
        return title
    role = title[5:]
    if role.startswith(_NAMED_HOSTS):  # a named host while it is created: host:<n>:ConversationHostActor...
        role = role.split(":", 2)[-1]
    return role.split(".", 1)[0] or title


def stop_tree(process: subprocess.Popen[Any], timeout_s: float = 90.0) -> int:
    """SIGTERM ``process``, wait, then kill whatever of its tree is left; the number of processes killed."""
    ps = psutil()
    try:
        descendants = ps.Process(process.pid).children(recursive=True)
    except ps.NoSuchProcess:
        descendants = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    killed = 0
    _gone, alive = ps.wait_procs(descendants, timeout=10)
    for leftover in alive:
        with contextlib.suppress(ps.NoSuchProcess):
            leftover.kill()
            killed += 1
    return killed


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a server child: no Ray address, provider keys or PENGUIN_* settings."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith("PENGUIN_")}
    env |= {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    return env | dict(extra or {})


def _wait_for_line(log: Path, pattern: str, process: subprocess.Popen[Any], timeout_s: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        found = regex.search(text)
        if found:
            return found
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = (log.read_text(errors="replace") if log.exists() else "")[-4000:]
    raise RuntimeError(f"{pattern!r} not seen in {log} (exit status {process.poll()}); output ends:\n{tail}")


def server_config(catalog: Sequence[Mapping[str, Any]], default: str, **sections: Mapping[str, Any]) -> dict[str, Any]:
    """A settings mapping (``penguin.yaml``): the catalog and default model, plus ``sections``.

    A key this version of the settings does not know (say a limit added later) is left out
    rather than failing the start; ``Server`` reports what it left out.
    """
    config: dict[str, Any] = {"models": {"default": default, "catalog": [dict(m) for m in catalog]}}
    for section, values in sections.items():
        known = _section_fields(section)
        config[section] = {k: v for k, v in values.items() if known is None or k in known}
    return config


def write_config(path: Path, config: Mapping[str, Any]) -> Path:
    """Write a settings mapping as ``path`` (YAML), making its directory; the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    return path


def dropped_keys(**sections: Mapping[str, Any]) -> list[str]:
    """The ``section.key`` names ``server_config`` leaves out because the settings do not know them."""
    missing = []
    for section, values in sections.items():
        known = _section_fields(section)
        missing += [f"{section}.{k}" for k in values if known is not None and k not in known]
    return missing


def _section_fields(section: str) -> set[str] | None:
    field = Settings.model_fields.get(section)
    annotation = field.annotation if field else None
    fields = getattr(annotation, "model_fields", None)
    return set(fields) if fields is not None else None


class Server:
    """``python -m serve_app serve`` as a child process with its own local Ray; stopped on exit, always."""

    def __init__(
        self, workdir: Path, config: Mapping[str, Any], env: Mapping[str, str] | None = None, timeout_s: float = 240
    ) -> None:
        """``workdir`` holds the settings file, the workspace and ``server.log``; ``env`` adds variables."""
        self.workdir = workdir
        self.config = config
        self.env = child_env(env)
        self.timeout_s = timeout_s
        self.port = free_port()
        self.log = workdir / "server.log"
        self.ray_address = ""
        self.killed_leftovers = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/chat/stream"

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not started: use it as a context manager"
        return self.process.pid

    def __enter__(self) -> Server:
        config_path = write_config(self.workdir / "penguin.yaml", self.config)
        command = [sys.executable, "-m", "serve_app", "serve", "--port", str(self.port), "--no-dashboard"]
        command += ["--config", str(config_path), "--workspace", str(self.workdir / "workspace")]
        started = time.monotonic()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        try:
            banner = _wait_for_line(self.log, r"ray\s+(\S+:\d+) \(namespace", self.process, self.timeout_s)
            self.ray_address = banner.group(1)
            _wait_for_line(self.log, re.escape(BANNER_END), self.process, self.timeout_s)
            self._wait_healthy(started + self.timeout_s)
        except BaseException:
            self.stop()
            raise
        print(f"server up on {self.base_url} in {time.monotonic() - started:.1f} s (log: {self.log})", flush=True)
        return self

    def _wait_healthy(self, deadline: float) -> None:
        last: object = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{self.base_url}/api/v1/health", timeout=10)
                if answer.status_code == 200 and answer.json().get("status") == "healthy":
                    return
                last = answer.text[:300]
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"{self.base_url}/api/v1/health never said healthy (last: {last})")

    def memory(self) -> list[ProcessMemory]:
        """USS and RSS of the server process and every process of its Ray (they are all its descendants)."""
        return tree_memory(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        started = time.monotonic()
        self.killed_leftovers = stop_tree(self.process)
        left = f"; killed {self.killed_leftovers} processes it left behind" if self.killed_leftovers else ""
        print(f"server stopped in {time.monotonic() - started:.1f} s (exit status {self.process.returncode}){left}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc is not None:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            print(f"server output ends:\n{tail}", file=sys.stderr)


# Ray starts its worker processes (every actor, the Serve proxy and replicas) at this niceness.
RAY_WORKER_NICENESS = 15


def match_ray_niceness() -> None:
    """Lower this process (the benchmark's clients) to Ray's worker priority.

    On a machine shared with the server, a client at the default priority would take the CPUs
    first and measure its own preemption of the server, not the server.
    """
    current = os.nice(0)
    if current < RAY_WORKER_NICENESS:
        os.nice(RAY_WORKER_NICENESS - current)


class FakeLLMProcess:
    """``penguin_actors.testing.fake_llm`` in a process of its own, replying ``words`` words at a set pace.

    A process of its own, not a thread of the benchmark: its work (every streamed chunk) must
    not compete with the benchmark's client for one interpreter lock.
    """

    def __init__(self, workdir: Path, *, words: int, first_token_delay_s: float, chunk_delay_s: float) -> None:
        self.log = workdir / "fake_llm.log"
        self.command = [sys.executable, "-m", "penguin_actors.testing.fake_llm", "--port", "0"]
        self.command += ["--words", str(words), "--first-token-delay", str(first_token_delay_s)]
        self.command += ["--chunk-delay", str(chunk_delay_s)]
        self.base_url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FakeLLMProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=match_ray_niceness
            )
        try:
            found = _wait_for_line(self.log, r"fake LLM listening on (http://\S+)", self.process, 60)
        except BaseException:
            stop_tree(self.process, timeout_s=10)
            raise
        self.base_url = found.group(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_tree(self.process, timeout_s=10)


def fill_defaults(args: Any, defaults: Sequence[tuple[str, Any, Any]]) -> None:
    """Give each option of ``defaults`` (name, full-run value, ``--quick`` value) left unset its value."""
    for name, full, quick in defaults:
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)


def publish(
    args: Any,
    name: str,
    title: str,
    report: Mapping[str, Any],
    table: str,
    chart: tuple[str, Sequence[Mapping[str, Any]]] | None = None,
) -> None:
    """Write a benchmark's JSON, markdown and (with ``chart``: its title and panels) PNG, then print the table."""
    out = results_dir(args.out, args.quick)
    title += " (quick smoke run: not a measurement)" if args.quick else ""
    written = write_results(out, name, title, report, table)
    if chart is not None:
        if plot(out / f"{name}.png", *chart):
            written.append(out / f"{name}.png")
        else:
            print('matplotlib is not installed: no plot (pip install -e ".[bench]")')
    print()
    print(table)
    print("wrote " + ", ".join(map(str, written)))


def results_dir(out: Path | None, quick: bool) -> Path:
    """Where results go: ``--out``, else ``benchmarks/results`` (``benchmarks/results/quick`` for ``--quick``)."""
    if out is not None:
        return out
    return Path("benchmarks/results/quick") if quick else Path("benchmarks/results")


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    """Print how long a step took."""
    started = time.monotonic()
    yield
    print(f"{label}: {time.monotonic() - started:.1f} s", flush=True)
