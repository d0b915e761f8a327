"""What the model is told: the system prompt, and the messages a request and its files become.

Pure functions of the settings, the request and the workspace; the engine commits what
they make. ``tool_errors`` and ``unanswered_calls`` keep a history valid for every
provider when a tool call got no result (a crash, a cancel).
"""

from __future__ import annotations

import base64
import json

from penguin_actors.config import LimitSettings, ModelConfig, Settings
from penguin_actors.errors import Invalid
from penguin_actors.media import sniff_image
from penguin_actors.types import ContentPart, ImagePart, Message, TextPart, ToolCall, ToolSpec, TurnRequest
from penguin_actors.workspace import Workspace

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


def request_messages(
    request: TurnRequest, model: ModelConfig, workspace: Workspace, limits: LimitSettings
) -> list[Message]:
    """The messages a request adds: its context files (pinned), then the user message with any images."""
    files = [workspace.read_text(p, limit=limits.max_context_file_bytes) for p in request.context_files]
    paths = ([request.image_path] if request.image_path is not None else []) + request.image_paths
    if paths and not model.vision_enabled:
        raise Invalid(f"model {model.id} cannot see images: load a model with vision_enabled, or send no images")
    images = [_image(workspace, path, limits) for path in paths]
    return ([context_message(files)] if files else []) + [user_message(request, images)]


def _image(workspace: Workspace, path: str, limits: LimitSettings) -> ImagePart:
    data = workspace.read_bytes(path, limit=limits.max_upload_bytes)
    media_type = sniff_image(data)
    if media_type is None:
        raise Invalid(f"{path!r} is not a PNG, JPEG, GIF or WebP image")
    return ImagePart(media_type=media_type, data=base64.b64encode(data).decode("ascii"))


def user_message(request: TurnRequest, images: list[ImagePart] | None = None) -> Message:
    """The stored user message: the text, the images, then any request context as its own part."""
    if not request.context and not images:
        return Message(role="user", content=request.text, client_message_id=request.client_message_id)
    parts: list[ContentPart] = [TextPart(text=request.text), *(images or [])]
    if request.context:
        context = json.dumps(request.context, ensure_ascii=False, sort_keys=True)
        parts.append(TextPart(text=f"\n\nContext: {context}"))
    return Message(role="user", content=parts, client_message_id=request.client_message_id)


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
