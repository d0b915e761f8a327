"""The load benchmark's py-spy profiles: parsing collapsed stacks and naming what was on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.profile import Target, markdown, read_raw, summarize

RAW = (
    "Thread.run (threading.py:975);_forward (/x/serve_app/streaming.py:120);"
    "send (/x/site-packages/websockets/protocol.py:10) 3\n"
    "Thread.run (threading.py:975);_forward (/x/serve_app/streaming.py:121) 1\n"
    "Thread.run (threading.py:975);_forward (/x/serve_app/streaming.py:120);"
    "send (/x/site-packages/websockets/protocol.py:12) 2\n"
    "not a stack line\n"
)


def test_stacks_are_read_with_their_counts_and_bad_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "ServeReplica.txt"
    path.write_text(RAW)

    stacks = read_raw(path)

    assert sum(stacks.values()) == 6
    assert len(stacks) == 3


def test_self_and_inclusive_samples_merge_lines_of_one_function(tmp_path: Path) -> None:
    path = tmp_path / "ServeReplica.txt"
    path.write_text(RAW)

    found = summarize(read_raw(path))

    assert found["samples"] == 6
    assert found["self"][0] == {"function": "send (websockets/protocol.py)", "samples": 5, "share": 0.833}
    inclusive = {entry["function"]: entry["samples"] for entry in found["inclusive"]}
    assert inclusive["_forward (serve_app/streaming.py)"] == 6  # counted once per stack, not per line
    assert inclusive["Thread.run (threading.py)"] == 6
    lines = markdown({"ServeReplica": {"pid": 7, "file": "ServeReplica.txt"} | found}, Target("ws-sim", 64))
    assert any("`send (websockets/protocol.py)` | 83.3 %" in line for line in lines)


@pytest.mark.parametrize("text", ["ws-sim", "ws-sim:", ":64", "ws-sim:many"])
def test_a_step_is_named_scenario_colon_clients(text: str) -> None:
    with pytest.raises(ValueError, match="SCENARIO:N"):
        Target.parse(text)
    assert Target.parse("ws-sim:64") == Target("ws-sim", 64)
