"""The agent loop, shared by chat turns and tasks: model call → (tools → model call)* → answer.

Every message is persisted before the next step runs, so what a client was told is
durable: the user message before the model is called, each assistant message before
its tools run, and ``complete`` only after the turn's messages are committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from penguin_actors.config import ModelConfig, Settings
from penguin_actors.conversation.ports import ModelsPort, StorePort, ToolRunner
from penguin_actors.conversation.prompt import context_message, request_messages, system_prompt, tool_errors
from penguin_actors.conversation.turn import Turn
from penguin_actors.errors import PenguinError, ProviderError
from penguin_actors.metrics import metrics
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.catalog import catalog_of
from penguin_actors.models.prompt import fit_to_window
from penguin_actors.models.providers import Providers
from penguin_actors.models.retry import stream_with_retry
from penguin_actors.tools import ToolResult
from penguin_actors.types import (
    Message,
    ModelRequest,
    ReasoningDelta,
    StopEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    TurnRequest,
    Usage,
    UsageEvent,
)
from penguin_actors.uploads import CONTEXT_DIR
from penguin_actors.workspace import Workspace

log = logging.getLogger(__name__)

CANCEL_REASONS = frozenset({"cancelled", "interrupted", "timeout", "time_limit"})


@dataclass
class Progress:
    """What a turn has done so far: enough to answer ``complete`` at any point, cancelled or not."""

    started: float
    model: ModelConfig | None = None
    iterations: int = 0
    response: list[str] = field(default_factory=list)
    step_text: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    action_results: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[ToolCall] = field(default_factory=list)  # journaled calls still without a result
    tool_results: list[Message] = field(default_factory=list)  # results of this step, not yet committed
    stop_reason: str = "end_turn"
    first_token_s: float | None = None
    reasoning: list[str] | None = None  # the model's reasoning, when the request asked for it

    def end_step(self, usage: Usage) -> None:
        self.response.extend(self.step_text)
        self.step_text = []
        self.usage = self.usage + usage

    def step_data(self, max_iterations: int) -> dict[str, Any]:
        return {
            "iteration": self.iterations,
            "max_iterations": max_iterations,
            "message": f"model call {self.iterations} of at most {max_iterations}",
        }

    def complete_data(self) -> dict[str, Any]:
        reasoning = {} if self.reasoning is None else {"reasoning": "".join(self.reasoning)}
        return reasoning | {
            "response": "".join(self.response + self.step_text),
            "action_results": self.action_results,
            "usage": {"input": self.usage.input_tokens, "output": self.usage.output_tokens},
            "model": self.model.id if self.model else None,
            "iterations": self.iterations,
            "stop_reason": self.stop_reason,
            "cancelled": self.stop_reason in CANCEL_REASONS,
            "aborted": self.stop_reason in CANCEL_REASONS,  # the original's name for it
            "duration_s": round(time.monotonic() - self.started, 3),
        }


class Engine:
    """Runs one conversation's turns; its providers (SDK clients) are built once per model."""

    def __init__(
        self,
        settings: Settings,
        store: StorePort,
        models: ModelsPort,
        env: Mapping[str, str],
        tools: ToolRunner | None = None,
        providers: Providers | None = None,
    ) -> None:
        """``providers`` may be shared with other conversations (a host's); by default the engine has its own."""
        self.settings = settings
        self.store = store
        self.models = models
        self.tools = tools
        self.workspace = Workspace(settings.workspace)
        self.providers = providers if providers is not None else Providers(env)
        self._unchecked = 0  # messages committed since the last automatic checkpoint
        self._catalog = catalog_of(settings)

    async def run(self, turn: Turn, request: TurnRequest, history: list[Message], model_id: str | None) -> None:
        """Run one turn, appending to ``history`` what is committed, and end ``turn`` with complete or error.

        Cancelled (``asyncio.CancelledError``), it commits the text already streamed and ends
        with ``complete`` marked ``cancelled``; the cancellation is not propagated further.
        """
        progress = Progress(started=time.monotonic(), reasoning=[] if request.include_reasoning else None)
        try:
            await self._run(turn, request, history, model_id, progress)
        finally:
            _record_turn(turn, progress)

    async def _run(
        self, turn: Turn, request: TurnRequest, history: list[Message], model_id: str | None, progress: Progress
    ) -> None:
        begun: asyncio.Task[None] | None = None
        try:
            model = await self._model(request.model_id or model_id)
            progress.model = model
            # The user's message is committed while the model is asked (it is in the request), so
            # storage adds nothing to the time to first token; ``start`` and the model's first
            # output still wait for the commit.
            pending = request_messages(request, model, self.workspace, self.settings.limits)
            begun = asyncio.create_task(self._begin(turn, history, pending, model))
            await self._loop(turn, request, history, model, progress, Opening(begun, pending))
        except PenguinError as exc:
            await _settled(begun)
            turn.emit("error", error_data(exc))
        except asyncio.CancelledError:
            await _settled(begun)
            if progress.model is None or not turn.started:
                turn.emit("error", {"message": f"{turn.cancel_reason} before the turn started", "code": "cancelled"})
                return
            if progress.step_text:
                partial = Message(role="assistant", content="".join(progress.step_text))
                await self._commit_turn(turn, history, [partial])
            if progress.unanswered:  # keep the history valid: every tool call gets a result
                reason = f"The tool call was {turn.cancel_reason} before it finished."
                results = progress.tool_results + tool_errors(progress.unanswered, reason)
                await self._commit_turn(turn, history, results)
            progress.stop_reason = turn.cancel_reason
            turn.emit("complete", progress.complete_data())
        except Exception:
            await _settled(begun)
            raise

    async def _model(self, model_id: str | None) -> ModelConfig:
        """A named model from the catalog (fixed while the server runs); the registry for the current one."""
        known = self._catalog.get(model_id) if model_id else None
        return known if known is not None else await self.models.get(model_id)

    async def _begin(self, turn: Turn, history: list[Message], messages: list[Message], model: ModelConfig) -> None:
        await self._commit_turn(turn, history, messages)
        turn.emit("start", {"model": model.id, "model_name": model.name})

    async def _loop(
        self,
        turn: Turn,
        request: TurnRequest,
        history: list[Message],
        model: ModelConfig,
        progress: Progress,
        opening: Opening,
    ) -> None:
        provider = self.providers.get(model)
        while True:
            progress.iterations += 1
            # Each model step after the first says so (tasks: every step), as the original's clients expect.
            if request.report_progress or progress.iterations > 1:
                await opening.committed()
                turn.emit("progress", progress.step_data(request.max_iterations))
            calls, step_usage = await self._model_call(turn, provider, model, history, progress, opening)
            reply = Message(role="assistant", content="".join(progress.step_text), tool_calls=calls)
            # The step's usage is committed with its reply (which journals the calls before they run); its text
            # moves to the response as the commit ends, so that a cancellation never commits it again.
            step_done = partial(progress.end_step, step_usage)
            await self._commit_turn(turn, history, [reply], usage=(model.id, step_usage), committed=step_done)
            metrics().tokens(model.id, step_usage.input_tokens, step_usage.output_tokens)
            if not calls:
                break
            progress.unanswered, progress.tool_results = list(calls), []
            for call in calls:
                await self._run_tool(turn, call, progress)
            await self._commit_turn(turn, history, progress.tool_results)
            progress.unanswered, progress.tool_results = [], []
            if progress.iterations >= request.max_iterations:
                note = f"\n\n[Stopped after {progress.iterations} model calls: max_iterations was reached.]"
                turn.add_token(note)
                progress.response.append(note)
                await self._commit_turn(turn, history, [Message(role="assistant", content=note.strip())])
                progress.stop_reason = "max_iterations"
                break
        turn.emit("complete", progress.complete_data())

    async def _run_tool(self, turn: Turn, call: ToolCall, progress: Progress) -> None:
        """Run one call, with ``action`` events when it starts and ends; its result joins ``progress``."""
        turn.emit("action", {"id": call.id, "action": call.name, "status": "started", "arguments": call.arguments})
        if self.tools is None:
            result = ToolResult(status="error", output=f"Tool {call.name!r} is not available.", duration_s=0.0)
        else:
            result = await self.tools.run(call)
        action = {
            "id": call.id,
            "action": call.name,
            "status": result.status,
            "arguments": call.arguments,
            "result": result.output,
            "duration_s": round(result.duration_s, 3),
        }
        turn.emit("action", action)
        progress.action_results.append(action)
        progress.unanswered.remove(call)
        is_error = result.status == "error"
        progress.tool_results.append(
            Message(role="tool", tool_call_id=call.id, content=result.output, is_error=is_error)
        )

    async def _model_call(
        self,
        turn: Turn,
        provider: ModelProvider,
        model: ModelConfig,
        history: list[Message],
        progress: Progress,
        opening: Opening,
    ) -> tuple[list[ToolCall], Usage]:
        """One model call over ``history``; its output is handled only once the turn's opening is committed."""
        history = opening.history(history)
        tools = self.tools.specs() if self.tools is not None else []
        system = system_prompt(self.settings, tools)
        window = fit_to_window(history, system=system, context_window=model.context_window, reserve=model.max_tokens)
        request = ModelRequest(
            model=model.provider_model,
            messages=window,
            system=system,
            tools=tools,
            max_tokens=model.max_tokens,
            temperature=model.temperature,
        )
        calls: list[ToolCall] = []
        usage = Usage()
        # aclosing: a cancelled turn closes the provider's stream (and its connection) at once.
        async with aclosing(stream_with_retry(provider, request)) as events:
            async for event in events:
                await opening.committed()
                if isinstance(event, TextDelta):
                    if progress.first_token_s is None:
                        progress.first_token_s = time.monotonic() - progress.started
                        metrics().first_token(model.id, progress.first_token_s)
                    progress.step_text.append(event.text)
                    turn.add_token(event.text)
                elif isinstance(event, ReasoningDelta):
                    if progress.reasoning is not None:
                        progress.reasoning.append(event.text)
                        turn.add_reasoning(event.text)
                elif isinstance(event, ToolCallEvent):
                    calls.append(event.call)
                elif isinstance(event, UsageEvent):
                    usage = usage + event.usage
                elif isinstance(event, StopEvent):
                    progress.stop_reason = event.reason
        await opening.committed()
        return calls, usage

    async def add_context_file(self, conversation_id: str, history: list[Message], user_path: str) -> str:
        """Commit a file of the workspace's ``context/`` folder as a pinned context message; its path."""
        path, text = self.workspace.read_text(
            user_path, limit=self.settings.limits.max_context_file_bytes, under=CONTEXT_DIR
        )
        await self._commit(conversation_id, history, [context_message([(path, text)])])
        return path

    async def _commit_turn(
        self,
        turn: Turn,
        history: list[Message],
        messages: list[Message],
        *,
        usage: tuple[str, Usage] | None = None,
        committed: Callable[[], None] | None = None,
    ) -> None:
        """``_commit`` of a turn's messages, each marked with the turn's id."""
        marked = [m.model_copy(update={"turn_id": turn.id}) for m in messages]
        await self._commit(turn.conversation_id, history, marked, usage=usage, committed=committed)

    async def _commit(
        self,
        conversation_id: str,
        history: list[Message],
        messages: list[Message],
        *,
        usage: tuple[str, Usage] | None = None,
        committed: Callable[[], None] | None = None,
    ) -> None:
        """Persist, then remember (and run ``committed``); an automatic checkpoint every ``frequency`` messages.

        A commit, once begun, ends: a turn cancelled meanwhile waits for it, so that what the
        store holds, the history and ``committed``'s bookkeeping agree, and nothing is
        committed twice. The cancellation is raised once the commit is done.
        """
        self._unchecked += len(messages)
        last = messages[-1]
        consistent = not (last.role == "assistant" and last.tool_calls)  # never between a call and its result
        due = consistent and self._unchecked >= self.settings.checkpoints.frequency
        write = asyncio.ensure_future(
            self.store.append_messages(conversation_id, messages, checkpoint=due, usage=usage)
        )
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            await asyncio.wait([write])
            if not write.cancelled() and write.exception() is None:
                self._committed(history, messages, due, committed)
            raise
        self._committed(history, messages, due, committed)

    def _committed(
        self, history: list[Message], messages: list[Message], due: bool, committed: Callable[[], None] | None
    ) -> None:
        if due:
            self._unchecked = 0
        history.extend(messages)
        if committed is not None:
            committed()


@dataclass(frozen=True)
class Opening:
    """A turn's first messages, being committed by ``begun`` while the first model call starts."""

    begun: asyncio.Task[None]
    messages: list[Message]

    async def committed(self) -> None:
        """Wait for the commit (at once after the first time); its error if it failed.

        Shielded: a turn cancelled meanwhile lets the commit finish, so that what the store
        holds and the history in memory stay the same.
        """
        await asyncio.shield(self.begun)

    def history(self, history: list[Message]) -> list[Message]:
        """What the model is to see: ``history``, with the opening messages until their commit adds them."""
        return history if self.begun.done() else [*history, *self.messages]


async def _settled(task: asyncio.Task[None] | None) -> None:
    """Wait for ``task`` to end, whatever its outcome, so no frame of it can follow the turn's last."""
    if task is None:
        return
    if not task.done():
        await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # seen here: the turn reports its own error


def _record_turn(turn: Turn, progress: Progress) -> None:
    """The turn's end in the metrics: by model and status (completed, error or cancelled)."""
    if not turn.done:
        return
    last = turn.frames[-1]
    if last["event"] == "error":
        status: Literal["completed", "error", "cancelled"] = "error"
    else:
        status = "cancelled" if last["data"].get("cancelled") else "completed"
    model = progress.model.id if progress.model is not None else "none"
    metrics().turn_finished(model, status, time.monotonic() - progress.started)


def error_data(exc: PenguinError) -> dict[str, Any]:
    data: dict[str, Any] = {"message": exc.message, "code": exc.code}
    if isinstance(exc, ProviderError):
        data["retryable"] = exc.retryable
    return data
