"""A pydantic JSON schema cleaned into the plain shape both tool formats accept.

Anthropic's ``input_schema`` and OpenAI's function ``parameters`` both take a JSON
schema object; both are happiest with a flat one: ``type: object``, ``properties``,
``required`` and ``additionalProperties: false``, no ``$ref``/``$defs`` and no
``title`` noise. ``X | None`` fields that are optional become plain ``X`` (leaving
the field out means "none").
"""

from __future__ import annotations

from typing import Any

# Keys of a schema object that only name things for humans reading generated docs.
_NOISE = ("title",)


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A self-contained copy of an object schema: refs inlined, titles dropped, extra keys refused."""
    defs: dict[str, Any] = schema.get("$defs", {})
    cleaned: dict[str, Any] = _clean(schema, defs)
    cleaned.pop("$defs", None)
    cleaned.pop("description", None)  # the tool's own description says it
    ordered: dict[str, Any] = {
        "type": "object",
        "properties": cleaned.pop("properties", {}),
        "required": list(cleaned.pop("required", [])),
        "additionalProperties": False,
    }
    cleaned.pop("type", None)
    cleaned.pop("additionalProperties", None)
    return ordered | cleaned


def _clean(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_clean(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        merged = defs[ref.removeprefix("#/$defs/")] | {k: v for k, v in node.items() if k != "$ref"}
        return _clean(merged, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NOISE or key == "$defs":
            continue
        if key == "properties" and isinstance(value, dict):
            # The keys here are field names, not schema keywords: keep every one, clean each schema.
            out[key] = {name: _clean(sub, defs) for name, sub in value.items()}
        else:
            out[key] = _clean(value, defs)
    _collapse_optional(out)
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def _collapse_optional(node: dict[str, Any]) -> None:
    """``anyOf: [X, {type: null}]`` with a ``null`` default becomes ``X``: omitting the field means none."""
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2:
        return
    others = [option for option in options if option != {"type": "null"}]
    if len(others) != 1 or node.get("default") is not None:
        return
    del node["anyOf"]
    node.pop("default", None)
    for key, value in others[0].items():
        node.setdefault(key, value)
