"""Code tools: commands and Python run in the workspace, time out by killing their group, cap output, see no keys."""

from __future__ import annotations

import os
import signal
import time
import tracemalloc
from pathlib import Path

import pytest

from penguin_actors.tools import run_tool, safe_env, tool_specs
from tests.support import make_settings
from tests.unit.tools.helpers import Run, context

KEYS = {
    "OPENAI_API_KEY": "sk-openai-leak-0001",
    "ANTHROPIC_API_KEY": "sk-ant-leak-0002",
    "PENGUIN_API_KEY": "penguin-leak-0003",
    "GITHUB_TOKEN": "ghp-leak-0004",
    "AWS_SECRET_ACCESS_KEY": "aws-leak-0005",
    "DB_PASSWORD": "hunter2-leak-0006",
    "RAY_AUTH_TOKEN": "ray-leak-0007",
}


def _gone(pid: int, within_s: float = 1.0) -> bool:
    """The process stops running within ``within_s`` (it may linger as a zombie if nothing reaps it)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def test_command_output_and_exit_code(run: Run) -> None:
    """stdout and stderr come interleaved, the exit code is reported, and cwd is the workspace root."""
    result = run("execute_command", command="echo out; echo err >&2; ls; exit 3")
    assert result.status == "completed"
    assert result.output.splitlines() == ["out", "err", "README.md", "notes.txt", "src", "[exit code 3]"]


def test_python_runs_in_an_isolated_interpreter(run: Run, root: Path) -> None:
    """execute_python runs code in a fresh interpreter in the workspace root; errors show their traceback."""
    result = run("execute_python", code="import os, sys\nprint(os.getcwd())\nprint(sys.flags.isolated)")
    assert result.status == "completed"
    assert result.output.splitlines() == [str(root), "1", "[exit code 0]"]
    failed = run("execute_python", code="raise SystemExit('boom')")
    assert failed.output.splitlines() == ["boom", "[exit code 1]"]


@pytest.mark.parametrize("tool", ["execute_command", "execute_python"])
def test_timeout_kills_the_process_group(root: Path, tool: str) -> None:
    """sleep 30 with a 1 s limit (the requested 30 s is lowered): returns in ~1 s, it and its children killed."""
    ctx = context(root, **{"tools.timeout_s": 1})
    code = {
        "execute_command": "sleep 30 & echo $! > child.pid; echo started; sleep 30",
        "execute_python": "import subprocess, time\n"
        "p = subprocess.Popen(['sleep', '30'])\nopen('child.pid', 'w').write(str(p.pid))\n"
        "print('started')\ntime.sleep(30)",
    }[tool]
    argument = "command" if tool == "execute_command" else "code"
    started = time.monotonic()
    result = run_tool(tool, {argument: code, "timeout_s": 30}, ctx)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 2.0
    assert result.status == "error" and "timed out after 1 s" in result.output
    assert result.output.startswith("started\n")  # what it printed before the kill is kept
    assert _gone(int((root / "child.pid").read_text()))


def test_background_processes_do_not_outlive_the_call(run: Run, root: Path) -> None:
    """A command that leaves a background child returns soon after it exits, and the child is killed."""
    started = time.monotonic()
    result = run("execute_command", command="sleep 30 & echo $! > bg.pid; echo done")
    assert time.monotonic() - started < 2.0
    assert result.status == "completed" and result.output.splitlines() == ["done", "[exit code 0]"]
    assert _gone(int((root / "bg.pid").read_text()))


def test_an_interrupted_call_kills_its_processes(run: Run, root: Path) -> None:
    """Interrupted mid-run (as a non-forced ray.cancel does), the call kills its group before the interrupt goes on."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run("execute_command", command="sleep 30 & echo $! > child.pid; sleep 30")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 2.0
    assert _gone(int((root / "child.pid").read_text()))


def test_ten_megabytes_of_output_are_capped_while_read(root: Path) -> None:
    """10 MB of output: a capped answer with its start and end, marked truncated, fast, in bounded memory."""
    cap = 64 * 1024
    ctx = context(root, **{"tools.output_cap_bytes": cap})
    tracemalloc.start()
    try:
        started = time.monotonic()
        command = "echo FIRST; yes 0123456789abcdef | head -c 10485760; echo; echo LAST"
        result = run_tool("execute_command", {"command": command}, ctx)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 5
    assert peak < 2 * 1024 * 1024  # never the 10 MB at once
    assert result.status == "completed" and result.truncated
    assert len(result.output.encode()) <= cap
    assert result.output.startswith("FIRST\n") and result.output.endswith("LAST\n[exit code 0]")
    assert "bytes of output left out" in result.output


def test_output_cap_is_utf8_safe(root: Path) -> None:
    """Multi-byte characters cut by the cap never produce invalid text."""
    ctx = context(root, **{"tools.output_cap_bytes": 2048})
    result = run_tool("execute_python", {"code": "print('é€😀' * 5000)"}, ctx)
    assert result.truncated and "\ufffd" not in result.output


def test_child_environment_has_no_keys(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Provider and server keys in the parent's environment never reach a command; PATH and HOME do."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    ctx = context(root)  # built from os.environ, as the runtime does
    for tool, args in [
        ("execute_command", {"command": "env"}),
        ("execute_python", {"code": "import os; print(os.environ)"}),
    ]:
        output = run_tool(tool, args, ctx).output
        for name, value in KEYS.items():
            assert name not in output and value not in output, (tool, name)
    env_lines = run_tool("execute_command", {"command": "env"}, ctx).output
    assert "PATH=" in env_lines


def test_safe_env_keeps_an_allow_list() -> None:
    """safe_env keeps PATH, HOME, locale, TZ, TMPDIR and safe PYTHON* switches; drops the rest and any key."""
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "TMPDIR": "/tmp",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONSTARTUP": "/home/u/evil.py",
        "PYTHONPATH": "/srv/app",
        "HTTPS_PROXY": "http://user:pass@proxy",
        "LC_API_KEY": "sneaky",
        "SOME_RANDOM_SETTING": "x",
        **KEYS,
    }
    assert safe_env(parent) == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "TMPDIR": "/tmp",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
    }


def test_code_execution_disabled(root: Path) -> None:
    """allow_code_execution false: specs omit both code tools and a call anyway is refused without running."""
    settings = make_settings(root, **{"tools.allow_code_execution": False})
    names = [spec.name for spec in tool_specs(settings.tools)]
    assert "execute_command" not in names and "execute_python" not in names and "read_file" in names
    ctx = context(root, **{"tools.allow_code_execution": False})
    for tool, args in [
        ("execute_command", {"command": "touch ran"}),
        ("execute_python", {"code": "open('ran', 'w')"}),
    ]:
        result = run_tool(tool, args, ctx)
        assert result.status == "error" and "allow_code_execution" in result.output
    assert not (root / "ran").exists()


def test_too_much_python_code_is_refused(run: Run) -> None:
    """Code over the command-line limit is refused with the way around it."""
    result = run("execute_python", code="#" + "é" * 100_000)
    assert result.status == "error" and "write_file" in result.output


def test_parent_environment_is_untouched() -> None:
    """Building a child environment never changes the server's own."""
    before = dict(os.environ)
    safe_env(os.environ)
    assert dict(os.environ) == before
