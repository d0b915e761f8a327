"""The registry: specs offered per settings, schemas both providers accept, and run_tool's error results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from penguin_actors.models.anthropic_provider import to_anthropic_tool
from penguin_actors.models.openai_provider import to_openai_tool
from penguin_actors.tools import TOOLS, Tool, ToolContext, run_tool, tool_specs
from penguin_actors.tools.base import ToolArgs
from penguin_actors.types import RAW_ARGUMENTS_KEY, parse_tool_arguments
from tests.support import make_settings
from tests.unit.tools.helpers import Run, context

FILES = ["read_file", "write_file", "edit_file", "list_files", "find_files", "grep"]
CODE = ["execute_command", "execute_python"]
MEMORY = ["memory_search", "add_note"]
ALL = FILES + CODE + MEMORY


def _walk_schema(node: Any) -> list[dict[str, Any]]:
    """Every schema object in ``node`` (property names are not schema keys, so they are not looked at)."""
    if isinstance(node, list):
        return [found for item in node for found in _walk_schema(item)]
    if not isinstance(node, dict):
        return []
    found = [node]
    for key, value in node.items():
        if key == "properties":
            found += [sub for schema in value.values() for sub in _walk_schema(schema)]
        else:
            found += _walk_schema(value)
    return found


def test_specs_per_settings(tmp_path: Path) -> None:
    """All tools by default; none when tools are off; no code tools when code execution is off."""
    assert [s.name for s in tool_specs(make_settings(tmp_path).tools)] == ALL
    assert tool_specs(make_settings(tmp_path, **{"tools.enabled": False}).tools) == []
    no_code = tool_specs(make_settings(tmp_path, **{"tools.allow_code_execution": False}).tools)
    assert [s.name for s in no_code] == FILES + MEMORY


def test_schemas_fit_both_providers(tmp_path: Path) -> None:
    """Each schema is a flat JSON-schema object: properties, required, additionalProperties false, no titles or refs."""
    jsonschema = pytest.importorskip("jsonschema")
    for spec in tool_specs(make_settings(tmp_path).tools):
        schema = spec.parameters
        assert list(schema)[:4] == ["type", "properties", "required", "additionalProperties"]
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert isinstance(schema["required"], list) and set(schema["required"]) <= set(schema["properties"])
        assert all(prop.get("description") and "type" in prop for prop in schema["properties"].values())
        for node in _walk_schema(schema):
            assert not {"title", "$ref", "$defs", "anyOf"} & set(node), (spec.name, node)
        jsonschema.Draft202012Validator.check_schema(schema)
        json.dumps(schema)  # plain JSON
        assert to_anthropic_tool(spec)["input_schema"] is schema
        assert to_openai_tool(spec)["function"]["parameters"] is schema
        assert spec.description and spec.name in TOOLS


def test_schema_and_validation_agree(tmp_path: Path) -> None:
    """Arguments the schema accepts, pydantic accepts; unknown fields fail both."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = TOOLS["read_file"].parameters()
    jsonschema.validate({"path": "a", "start_line": 2}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"path": "a", "bogus": 1}, schema)


def test_unknown_tool(run: Run) -> None:
    """An unknown tool is an error listing the tools there are."""
    result = run("rm_rf", path=".")
    assert result.status == "error" and "no tool 'rm_rf'" in result.output and "read_file" in result.output


def test_raw_invalid_json_arguments(run: Run) -> None:
    """Arguments the model sent as invalid JSON (the _raw key) are an error that quotes them and lists the fields."""
    arguments = parse_tool_arguments('{"path": "README.md"')
    assert RAW_ARGUMENTS_KEY in arguments
    result = run("read_file", **arguments)
    assert result.status == "error"
    assert "not a valid JSON object" in result.output and '{"path": "README.md"' in result.output
    assert "path, start_line (optional), end_line (optional)" in result.output


def test_invalid_arguments_name_the_field(run: Run) -> None:
    """Missing, unknown and out-of-range fields are each named with why, in one message."""
    result = run("read_file", start_line=0, colour="red")
    assert result.status == "error"
    assert "path: required but missing" in result.output
    assert "start_line: Input should be greater than or equal to 1 (got 0)" in result.output
    assert "colour: not a field of read_file" in result.output
    assert "Traceback" not in result.output


def test_tools_disabled_refuses_calls(root: Path) -> None:
    """With tools.enabled false, any call is an error result."""
    result = run_tool("read_file", {"path": "README.md"}, context(root, **{"tools.enabled": False}))
    assert result.status == "error" and "tools.enabled" in result.output


def _fake_tool(monkeypatch: pytest.MonkeyPatch, name: str, behaviour: Any) -> None:
    class NoArgs(ToolArgs):
        pass

    def run(args: NoArgs, ctx: ToolContext) -> str:
        return str(behaviour())

    monkeypatch.setitem(TOOLS, name, Tool(name=name, description="test", args=NoArgs, run=run))


def test_unexpected_exceptions_become_errors(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in a tool: an error with the exception's type and message, never a traceback."""

    def boom() -> str:
        raise KeyError("missing-thing")

    _fake_tool(monkeypatch, "buggy", boom)
    result = run("buggy")
    assert result.status == "error" and result.output == "buggy failed unexpectedly: KeyError: 'missing-thing'"


def test_os_errors_become_errors(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError is an error result with its reason."""

    def denied() -> str:
        raise PermissionError(13, "Permission denied", "/somewhere/else")

    _fake_tool(monkeypatch, "denied", denied)
    result = run("denied")
    assert result.status == "error" and result.output == "denied failed: Permission denied"


def test_every_output_is_capped(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Output over the cap is cut UTF-8-safely to at most output_cap_bytes and marked truncated."""
    _fake_tool(monkeypatch, "chatty", lambda: "é😀" * 100_000)
    result = run_tool("chatty", {}, context(root, **{"tools.output_cap_bytes": 1024}))
    assert result.status == "completed" and result.truncated
    assert len(result.output.encode()) <= 1024 and "\ufffd" not in result.output
    assert "output truncated" in result.output


def test_duration_is_measured(run: Run) -> None:
    """Every result carries how long the call took."""
    result = run("execute_command", command="sleep 0.2")
    assert 0.2 <= result.duration_s < 2
    assert run("nope").duration_s >= 0
