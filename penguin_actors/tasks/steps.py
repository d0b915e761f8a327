"""A task's steps as pure functions: the prompt of each step, what a step's result adds to the record,
the status it leads to, and the frames a task's followers see.

Run mode (``continuous``) ends when the model's reply ends with the line ``DONE_MARKER``.
"""

from __future__ import annotations

from typing import Any

from penguin_actors.tasks.records import TaskRecord

DONE_MARKER = "TASK_COMPLETE"
RUN_MODE_PROMPT = (
    "\n\nYou are in run mode: work on this task step by step, using the tools, without waiting for the user. "
    f"When the whole task is done, end your reply with the line {DONE_MARKER}."
)
CONTINUE_PROMPT = f"Continue with the task: take the next step. When it is all done, end with {DONE_MARKER}."


def prompt(record: TaskRecord) -> str:
    """The text of the task's next step: the task itself first, then a request to continue."""
    if record.steps > 0:
        return CONTINUE_PROMPT
    text = f"Task: {record.spec.name}"
    if record.spec.description:
        text += f"\n\n{record.spec.description}"
    return text + (RUN_MODE_PROMPT if record.spec.continuous else "")


def tally(record: TaskRecord, result: dict[str, Any]) -> TaskRecord:
    """Add a step's result to the record, once (a resumed step may have been counted before the restart)."""
    if result["event"] != "complete" or record.turn_counted:
        return record
    usage = result.get("usage") or {}
    return record.model_copy(
        update={
            "turn_counted": True,
            "iterations": record.iterations + int(result.get("iterations", 0)),
            "response": result.get("response", ""),
            "action_results": record.action_results + list(result.get("action_results", [])),
            "usage": {
                "input": record.usage["input"] + int(usage.get("input", 0)),
                "output": record.usage["output"] + int(usage.get("output", 0)),
            },
        }
    )


def outcome(record: TaskRecord, result: dict[str, Any], stop: str | None, max_steps: int) -> dict[str, Any] | None:
    """The final status (and reason) after a step, or None when run mode takes another step.

    ``stop`` is why the engine is stopping the task (``cancelled``), if it is.
    """
    if result["event"] == "error":
        return {"status": "failed", "reason": result.get("message", "the turn failed")}
    stop_reason = result.get("stop_reason")
    if stop_reason == "time_limit":
        return time_limit(record)
    if result.get("cancelled") or stop is not None:
        return {"status": "cancelled", "reason": stop or stop_reason}
    if not record.spec.continuous:
        if stop_reason == "max_iterations":
            return {"status": "iterations_exceeded", "reason": f"max_iterations ({record.spec.max_iterations})"}
        return {"status": "completed"}
    if declares_done(record.response or ""):
        return {"status": "completed", "response": without_marker(record.response or "")}
    if record.steps >= max_steps:
        return {
            "status": "iterations_exceeded",
            "reason": f"run mode took tasks.max_steps ({max_steps}) steps without the task being declared complete",
        }
    return None


def time_limit(record: TaskRecord) -> dict[str, Any]:
    return {"status": "time_limit_reached", "reason": f"the time limit of {record.spec.time_limit_min:g} min"}


def declares_done(response: str) -> bool:
    """True if the reply's last line is ``DONE_MARKER`` (Markdown emphasis or code marks around it allowed)."""
    lines = [line for line in response.splitlines() if line.strip()]
    return bool(lines) and lines[-1].strip().strip("*`_ ") == DONE_MARKER


def without_marker(response: str) -> str:
    """The reply without its last line (the marker)."""
    lines = response.rstrip().splitlines()
    return "\n".join(lines[:-1]).strip()


def progress_data(record: TaskRecord, data: dict[str, Any]) -> dict[str, Any]:
    """A turn's ``progress`` as the task's: iterations counted over all steps, the step named in run mode."""
    step = f"step {record.steps}: " if record.spec.continuous else ""
    return {
        "iteration": record.iterations + data["iteration"],
        "max_iterations": data["max_iterations"],
        "message": step + data["message"],
    }


def start_data(record: TaskRecord, *, resumed: bool) -> dict[str, Any]:
    return {
        "task_id": record.id,
        "name": record.spec.name,
        "conversation_id": record.conversation_id,
        "continuous": record.spec.continuous,
        "resumed": resumed,
    }


def result_data(record: TaskRecord, now: float) -> dict[str, Any]:
    """The task's outcome as ``execute-sync`` answers it and ``complete`` carries it."""
    return {
        "task_id": record.id,
        "status": record.status,
        "response": record.response or "",
        "iterations": record.iterations,
        "execution_time": record.execution_time(now),
        "action_results": record.action_results,
        "usage": record.usage,
        "conversation_id": record.conversation_id,
        "reason": record.reason,
        "task_metadata": {
            "name": record.spec.name,
            "description": record.spec.description,
            "continuous": record.spec.continuous,
            "time_limit": record.spec.time_limit_min,
            "project_id": record.spec.project_id,
            "steps": record.steps,
        },
    }


def final_event(record: TaskRecord, now: float) -> tuple[str, dict[str, Any]]:
    """The task's last frame: ``error`` if it failed, else ``complete`` with its outcome."""
    if record.status == "failed":
        return "error", {"message": record.reason or "the task failed", "code": "task_failed", "task_id": record.id}
    return "complete", result_data(record, now)
