"""The system prompt: configurable; by default it names the workspace and, when offered, the tools."""

from __future__ import annotations

from pathlib import Path

from penguin_actors.conversation.engine import system_prompt
from penguin_actors.tools import tool_specs
from tests.support import make_settings


def test_default_prompt_names_the_workspace_and_tools(tmp_path: Path) -> None:
    """The built-in prompt says what Penguin is, where it works, and how to use the tools it has."""
    settings = make_settings(tmp_path)
    prompt = system_prompt(settings, tool_specs(settings.tools))
    assert "Penguin" in prompt and str(settings.workspace) in prompt
    assert "call tools" in prompt and "run commands" in prompt
    assert "add_note" in prompt and "memory_search" in prompt


def test_without_code_tools_the_prompt_does_not_offer_them(tmp_path: Path) -> None:
    """With code execution off, the prompt does not promise commands; with no tools, no tool text at all."""
    settings = make_settings(tmp_path, **{"tools.allow_code_execution": False})
    assert "run commands" not in system_prompt(settings, tool_specs(settings.tools))
    assert "call tools" not in system_prompt(settings, [])


def test_configured_prompt_wins(tmp_path: Path) -> None:
    """agent.system_prompt replaces the built-in prompt entirely."""
    settings = make_settings(tmp_path, **{"agent.system_prompt": "Answer like a pirate."})
    assert system_prompt(settings, tool_specs(settings.tools)) == "Answer like a pirate."
