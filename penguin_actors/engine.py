"""The agent loop, shared by chat turns and tasks: model call → (tools → model call)* → answer.

Every message is persisted before the next step runs, so what a client was told is
durable: the user message before the model is called, each assistant message before
its tools run, and ``complete`` only after the turn's messages are committed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from penguin_actors.config import ModelConfig, Settings
from penguin_actors.errors import Invalid, PenguinError, ProviderError
from penguin_actors.media import sniff_image
from penguin_actors.metrics import metrics
from penguin_actors.models.base import ModelProvider
from penguin_actors.models.catalog import catalog_of
from penguin_actors.models.prompt import fit_to_window
from penguin_actors.models.providers import make_provider
from penguin_actors.models.retry import stream_with_retry
from penguin_actors.tools import ToolResult
from penguin_actors.turn import Turn
from penguin_actors.types import (
    ContentPart,
    ImagePart,
    Message,
    ModelRequest,
    StopEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    TurnRequest,
    Usage,
    UsageEvent,
)
from penguin_actors.uploads import CONTEXT_DIR
from penguin_actors.workspace import Workspace

log = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "You are Penguin, a software engineering assistant. You work inside the user's workspace, "
    "{workspace}, and answer precisely and concisely. Use Markdown for structure and fenced code "
    "blocks for code."
)
TOOLS_PROMPT = (
    " You can call tools to read, search and change the workspace's files{code}. Paths are relative "
    "to the workspace and cannot leave it. Look before you change: read a file before editing it, and "
    "say what you changed."
)
MEMORY_PROMPT = (
    " You have a long-term memory shared by all conversations: keep what will matter later (decisions, "
    "preferences, where things are) with add_note, and look there with memory_search when the user refers "
    "to earlier work."
)


def system_prompt(settings: Settings, tools: list[ToolSpec]) -> str:
    """The configured system prompt, or the built-in one naming the workspace and the tools."""
    if settings.agent.system_prompt:
        return settings.agent.system_prompt
    prompt = DEFAULT_SYSTEM_PROMPT.format(workspace=settings.workspace)
    if tools:
        runs_code = any(t.name == "execute_command" for t in tools)
        prompt += TOOLS_PROMPT.format(code=" and to run commands and Python there" if runs_code else "")
        if any(t.name == "memory_search" for t in tools):
            prompt += MEMORY_PROMPT
    return prompt


class StorePort(Protocol):
    async def append_messages(self, conversation_id: str, messages: list[Message], *, checkpoint: bool = False) -> int:
        """Durable when it returns; ``checkpoint`` also records an automatic checkpoint after them."""


class ToolRunner(Protocol):
    """Runs one tool call to its end (a Ray task in production); cancelling the await stops it."""

    def specs(self) -> list[ToolSpec]: ...

    async def run(self, call: ToolCall) -> ToolResult: ...


class ModelsPort(Protocol):
    async def get(self, model_id: str | None = None) -> ModelConfig: ...

    async def record_usage(self, conversation_id: str, model_id: str, usage: Usage) -> None: ...


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
        return {
            "response": "".join(self.response + self.step_text),
            "action_results": self.action_results,
            "usage": {"input": self.usage.input_tokens, "output": self.usage.output_tokens},
            "model": self.model.id if self.model else None,
            "iterations": self.iterations,
            "stop_reason": self.stop_reason,
            "cancelled": self.stop_reason in CANCEL_REASONS,
            "duration_s": round(time.monotonic() - self.started, 3),
        }


class Engine:
    """Runs turns for one conversation process; providers (SDK clients) are built once per model."""

    def __init__(
        self,
        settings: Settings,
        store: StorePort,
        models: ModelsPort,
        env: Mapping[str, str],
        tools: ToolRunner | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.models = models
        self.tools = tools
        self.env = env
        self.workspace = Workspace(settings.workspace)
        self._unchecked = 0  # messages committed since the last automatic checkpoint
        self._providers: dict[str, tuple[ModelConfig, ModelProvider]] = {}
        self._catalog = catalog_of(settings)

    def provider(self, model: ModelConfig) -> ModelProvider:
        cached = self._providers.get(model.id)
        if cached is None or cached[0] != model:
            cached = (model, make_provider(model, self.env))
            self._providers[model.id] = cached
        return cached[1]

    async def run(self, turn: Turn, request: TurnRequest, history: list[Message], model_id: str | None) -> None:
        """Run one turn, appending to ``history`` what is committed, and end ``turn`` with complete or error.

        Cancelled (``asyncio.CancelledError``), it commits the text already streamed and ends
        with ``complete`` marked ``cancelled``; the cancellation is not propagated further.
        """
        progress = Progress(started=time.monotonic())
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
            pending = self.request_messages(request, model)
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
                await self._commit(turn.conversation_id, history, [partial])
            if progress.unanswered:  # keep the history valid: every tool call gets a result
                reason = f"The tool call was {turn.cancel_reason} before it finished."
                results = progress.tool_results + tool_errors(progress.unanswered, reason)
                await self._commit(turn.conversation_id, history, results)
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
        await self._commit(turn.conversation_id, history, messages)
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
        provider = self.provider(model)
        conversation_id = turn.conversation_id
        while True:
            progress.iterations += 1
            if request.report_progress:
                await opening.committed()
                turn.emit("progress", progress.step_data(request.max_iterations))
            calls, step_usage = await self._model_call(turn, provider, model, history, progress, opening)
            reply = Message(role="assistant", content="".join(progress.step_text), tool_calls=calls)
            # The usage is recorded while the reply is committed (which journals the calls before they run).
            recorded = asyncio.create_task(self.models.record_usage(conversation_id, model.id, step_usage))
            try:
                await self._commit(conversation_id, history, [reply])
                progress.end_step(step_usage)  # at once: a cancellation from here on must not commit the text again
            finally:
                await _settled(recorded)
            recorded.result()  # a usage that could not be recorded fails the turn, as a failed commit does
            metrics().tokens(model.id, step_usage.input_tokens, step_usage.output_tokens)
            if not calls:
                break
            progress.unanswered, progress.tool_results = list(calls), []
            for call in calls:
                await self._run_tool(turn, call, progress)
            await self._commit(conversation_id, history, progress.tool_results)
            progress.unanswered, progress.tool_results = [], []
            if progress.iterations >= request.max_iterations:
                note = f"\n\n[Stopped after {progress.iterations} model calls: max_iterations was reached.]"
                turn.add_token(note)
                progress.response.append(note)
                await self._commit(conversation_id, history, [Message(role="assistant", content=note.strip())])
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
                elif isinstance(event, ToolCallEvent):
                    calls.append(event.call)
                elif isinstance(event, UsageEvent):
                    usage = usage + event.usage
                elif isinstance(event, StopEvent):
                    progress.stop_reason = event.reason
        await opening.committed()
        return calls, usage

    def request_messages(self, request: TurnRequest, model: ModelConfig) -> list[Message]:
        """The messages a request adds: its context files (pinned), then the user message with any image."""
        limits = self.settings.limits
        files = [self.workspace.read_text(p, limit=limits.max_context_file_bytes) for p in request.context_files]
        image = None
        if request.image_path is not None:
            if not model.vision_enabled:
                raise Invalid(
                    f"model {model.id} cannot see images: load a model with vision_enabled, or leave out image_path"
                )
            data = self.workspace.read_bytes(request.image_path, limit=limits.max_upload_bytes)
            media_type = sniff_image(data)
            if media_type is None:
                raise Invalid(f"{request.image_path!r} is not a PNG, JPEG, GIF or WebP image")
            image = ImagePart(media_type=media_type, data=base64.b64encode(data).decode("ascii"))
        return ([context_message(files)] if files else []) + [user_message(request, image)]

    async def add_context_file(self, conversation_id: str, history: list[Message], user_path: str) -> str:
        """Commit a file of the workspace's ``context/`` folder as a pinned context message; its path."""
        path, text = self.workspace.read_text(
            user_path, limit=self.settings.limits.max_context_file_bytes, under=CONTEXT_DIR
        )
        await self._commit(conversation_id, history, [context_message([(path, text)])])
        return path

    async def _commit(self, conversation_id: str, history: list[Message], messages: list[Message]) -> None:
        """Persist, then remember; an automatic checkpoint every ``frequency`` messages at a consistent point."""
        self._unchecked += len(messages)
        last = messages[-1]
        consistent = not (last.role == "assistant" and last.tool_calls)  # never between a call and its result
        due = consistent and self._unchecked >= self.settings.checkpoints.frequency
        await self.store.append_messages(conversation_id, messages, checkpoint=due)
        if due:
            self._unchecked = 0
        history.extend(messages)


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


def user_message(request: TurnRequest, image: ImagePart | None = None) -> Message:
    """The stored user message: the text, the image, then any request context as its own part."""
    if not request.context and image is None:
        return Message(role="user", content=request.text)
    parts: list[ContentPart] = [TextPart(text=request.text)]
    if image is not None:
        parts.append(image)
    if request.context:
        context = json.dumps(request.context, ensure_ascii=False, sort_keys=True)
        parts.append(TextPart(text=f"\n\nContext: {context}"))
    return Message(role="user", content=parts)


def context_message(files: list[tuple[str, str]]) -> Message:
    """Context files as one pinned message: kept when a long history is trimmed."""
    sections = [f"### {path}\n```\n{text}\n```" for path, text in files]
    return Message(role="user", pinned=True, content="Context files:\n\n" + "\n\n".join(sections))


def tool_errors(calls: list[ToolCall], reason: str) -> list[Message]:
    """Error results for calls that got none, so the history stays valid for every provider."""
    return [Message(role="tool", tool_call_id=call.id, is_error=True, content=reason) for call in calls]


def unanswered_calls(history: list[Message]) -> list[ToolCall]:
    """Tool calls of the last assistant message that calls tools, which no tool message answers."""
    for index in range(len(history) - 1, -1, -1):
        message = history[index]
        if message.role == "assistant" and message.tool_calls:
            answered = {m.tool_call_id for m in history[index + 1 :] if m.role == "tool"}
            return [call for call in message.tool_calls if call.id not in answered]
    return []


def error_data(exc: PenguinError) -> dict[str, Any]:
    data: dict[str, Any] = {"message": exc.message, "code": exc.code}
    if isinstance(exc, ProviderError):
        data["retryable"] = exc.retryable
    return data
