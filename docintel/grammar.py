"""The JSON schema every engine decodes under: the user's schema, made grammar-safe.

Constrained decoding guarantees output that parses, but only the schema bounds how long it
runs. Two changes keep generation bounded without changing what validates:

* objects get ``additionalProperties: false`` (pydantic ignores extra keys by default, but a
  grammar that allows them lets a weak model invent keys until the token limit);
* small bounded integer ranges (``ge``/``le``) become enums, because Outlines' JSON-schema
  compiler drops ``minimum``/``maximum`` and a model could write ``-7`` for ``ge=0``;
* string length bounds over ``MAX_STRING_BOUND`` are dropped: Outlines turns ``maxLength:
  2000`` into a regex ``{1,2000}`` whose automaton takes minutes to build over a 131k-token
  vocabulary (vLLM gives up after 60 s). The token budget still bounds the string, and
  pydantic still checks the length, feeding a violation back to the next attempt.

Users writing schemas should also bound strings (``max_length``) and lists (``max_length``),
and use ``[0-9]`` rather than ``\\d`` in patterns (``\\d`` matches any Unicode digit).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

MAX_ENUM_RANGE = 256
MAX_STRING_BOUND = 256


def constraint_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """``schema``'s JSON schema with the grammar-safety rewrites above."""
    return _safe(schema.model_json_schema())


def _safe(node: Any) -> Any:
    if isinstance(node, list):
        return [_safe(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _safe(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.get("type") == "string" and out.get("maxLength", 0) > MAX_STRING_BOUND:
        del out["maxLength"]
        if out.get("minLength", 0) > MAX_STRING_BOUND:
            del out["minLength"]
    if out.get("type") == "integer" and "enum" not in out:
        low, high = out.get("minimum"), out.get("maximum")
        if "exclusiveMinimum" in out:
            low = int(out["exclusiveMinimum"]) + 1
        if "exclusiveMaximum" in out:
            high = int(out["exclusiveMaximum"]) - 1
        if isinstance(low, int | float) and isinstance(high, int | float):
            values = range(int(low) if low == int(low) else int(low) + 1, int(high) + 1)
            if 0 < len(values) <= MAX_ENUM_RANGE:
                out["enum"] = list(values)
    return out
