"""A task's steps as pure functions: the marker that ends run mode, and the status each result leads to."""

from __future__ import annotations

from typing import Any

import pytest

from penguin_actors.tasks.records import TaskRecord, TaskSpec
from penguin_actors.tasks.steps import DONE_MARKER, declares_done, outcome, prompt, tally, without_marker


def record(**spec: Any) -> TaskRecord:
    return TaskRecord(id="task_1", spec=TaskSpec(name="n", max_iterations=5, **spec), created_at=0.0)


@pytest.mark.parametrize(
    ("reply", "done"),
    [
        (f"All good.\n{DONE_MARKER}", True),
        (f"All good.\n**{DONE_MARKER}**\n\n", True),
        (f"`{DONE_MARKER}`", True),
        (f"I will say {DONE_MARKER} when done.", False),
        (f"{DONE_MARKER}\nmore to do", False),
        (f"end with the line {DONE_MARKER}.", False),
        ("", False),
    ],
)
def test_only_a_last_line_of_the_marker_declares_a_task_done(reply: str, done: bool) -> None:
    assert declares_done(reply) is done


def test_the_marker_line_is_cut_from_the_response() -> None:
    assert without_marker(f"Built it.\nTests pass.\n{DONE_MARKER}\n") == "Built it.\nTests pass."
    assert without_marker(DONE_MARKER) == ""


def test_the_first_step_states_the_task_and_later_ones_ask_to_continue() -> None:
    assert prompt(record(description="d")) == "Task: n\n\nd"
    assert "run mode" in prompt(record(continuous=True))
    assert prompt(record().model_copy(update={"steps": 1})).startswith("Continue with the task")


def test_a_result_is_counted_once() -> None:
    """Tallying the same step twice (a resumed step) adds its iterations, actions and usage once."""
    result = {
        "event": "complete",
        "iterations": 2,
        "response": "r",
        "action_results": [{"a": 1}],
        "usage": {"input": 3},
    }
    once = tally(record(), result)
    assert tally(once, result) == once
    assert (once.iterations, once.response, once.action_results, once.usage) == (
        2,
        "r",
        [{"a": 1}],
        {"input": 3, "output": 0},
    )


@pytest.mark.parametrize(
    ("spec", "steps", "result", "stop", "status"),
    [
        ({}, 1, {"event": "error", "message": "boom"}, None, "failed"),
        (
            {"time_limit_min": 1},
            1,
            {"event": "complete", "stop_reason": "time_limit", "cancelled": True},
            None,
            "time_limit_reached",
        ),
        ({}, 1, {"event": "complete", "cancelled": True, "stop_reason": "cancelled"}, "cancelled", "cancelled"),
        ({}, 1, {"event": "complete", "stop_reason": "end_turn"}, "cancelled", "cancelled"),
        ({}, 1, {"event": "complete", "stop_reason": "max_iterations"}, None, "iterations_exceeded"),
        ({}, 1, {"event": "complete", "stop_reason": "end_turn"}, None, "completed"),
        ({"continuous": True}, 1, {"event": "complete", "stop_reason": "end_turn"}, None, None),
        ({"continuous": True}, 3, {"event": "complete", "stop_reason": "end_turn"}, None, "iterations_exceeded"),
    ],
)
def test_the_status_each_result_leads_to(
    spec: dict[str, Any], steps: int, result: dict[str, Any], stop: str | None, status: str | None
) -> None:
    """Errors fail, the time limit and cancels stop, one step completes; run mode goes on until max_steps."""
    found = outcome(record(**spec).model_copy(update={"steps": steps}), result, stop, max_steps=3)
    assert (found or {}).get("status") == status
