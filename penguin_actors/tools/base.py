"""The shapes every tool shares: its context, its result, its error and its description."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from penguin_actors.config import ToolSettings
from penguin_actors.store.memory.notes import MemoryResult
from penguin_actors.store.records import NoteRecord
from penguin_actors.store.rows import TextQuery
from penguin_actors.tools.env import safe_env
from penguin_actors.tools.schema import clean_schema
from penguin_actors.types import Record, ToolSpec
from penguin_actors.workspace import Workspace

if TYPE_CHECKING:
    from penguin_actors.config import Settings


class MemoryPort(Protocol):
    """The store's memory as a tool sees it: blocking calls (a tool runs in a worker thread or Ray task)."""

    def add_note(self, text: str, conversation_id: str | None) -> NoteRecord: ...
    def search(self, query: TextQuery) -> MemoryResult: ...


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use: the workspace, the tool settings, the environment of child processes,
    the store's memory (None where there is no store) and the conversation the call belongs to."""

    workspace: Workspace
    settings: ToolSettings
    env: Mapping[str, str]
    memory: MemoryPort | None = None
    conversation_id: str | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
        *,
        memory: MemoryPort | None = None,
        conversation_id: str | None = None,
    ) -> ToolContext:
        """The context for ``settings``; ``env`` is ``safe_env`` of ``environ`` (default: this process's)."""
        return cls(
            workspace=Workspace(settings.workspace),
            settings=settings.tools,
            env=safe_env(os.environ if environ is None else environ),
            memory=memory,
            conversation_id=conversation_id,
        )


class ToolResult(Record):
    """The outcome of one tool call as the model and the UI see it."""

    status: Literal["completed", "error"]
    output: str
    truncated: bool = False
    duration_s: float


class ToolError(Exception):
    """A tool failure the model can act on; its message is shown to the model as the result."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ToolOutput:
    """A tool's text with what the plain string cannot say: it was cut, or it reports a failure."""

    text: str
    truncated: bool = False
    is_error: bool = False


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


ArgsT = TypeVar("ArgsT", bound=ToolArgs)


@dataclass(frozen=True)
class Tool(Generic[ArgsT]):
    """A tool: its name and description for the model, its arguments model and its implementation.

    ``run`` is synchronous (it runs inside a Ray task) and returns the text for the model,
    or a ``ToolOutput`` when it cut its own output or reports a failure with output.
    ``runs_code`` tools exist only while ``tools.allow_code_execution`` is on.
    """

    name: str
    description: str
    args: type[ArgsT]
    run: Callable[[ArgsT, ToolContext], str | ToolOutput]
    runs_code: bool = False

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters())

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments, as both the Anthropic and OpenAI tool formats accept it (a copy)."""
        return copy.deepcopy(_parameters(self.args))

    def invoke(self, arguments: Mapping[str, Any], ctx: ToolContext) -> str | ToolOutput:
        """Validate ``arguments`` (pydantic ValidationError if they do not fit) and run the tool."""
        return self.run(self.args.model_validate(dict(arguments)), ctx)


@functools.cache
def _parameters(args: type[ToolArgs]) -> dict[str, Any]:
    return clean_schema(args.model_json_schema())
