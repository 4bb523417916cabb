"""Prompt text built from the schema, the page images and, on retries, what went wrong."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

SYSTEM = (
    "You read documents and extract structured data. Answer with exactly one JSON object that "
    "follows the given schema. Copy values as they appear in the document (numbers without "
    "thousands separators, dates as YYYY-MM-DD). Use null for a value the document does not "
    "contain; never invent one."
)


@lru_cache(maxsize=256)  # built once per schema class (every attempt asks for it)
def field_guide(schema: type[BaseModel]) -> str:
    """One line per field (nested fields indented): name, type, description, examples."""
    lines: list[str] = []
    _describe(schema.model_json_schema(), lines, "", schema.model_json_schema().get("$defs", {}))
    return "\n".join(lines)


def _describe(node: dict[str, Any], lines: list[str], indent: str, defs: dict[str, Any]) -> None:
    for name, prop in node.get("properties", {}).items():
        prop = _resolve(prop, defs)
        kind = _type_name(prop, defs)
        text = f"{indent}- {name} ({kind})"
        if desc := prop.get("description"):
            text += f": {desc}"
        if examples := prop.get("examples"):
            text += f" e.g. {', '.join(json.dumps(e) for e in examples[:2])}"
        lines.append(text)
        target = _resolve(prop.get("items", {}), defs) if kind.startswith("list") else prop
        if "properties" in target:
            _describe(target, lines, indent + "  ", defs)


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        return {
            **defs[prop["$ref"].split("/")[-1]],
            **{k: v for k, v in prop.items() if k != "$ref"},
        }
    for key in ("anyOf", "oneOf"):  # Optional[X]: describe X
        options = [o for o in prop.get(key, []) if o.get("type") != "null"]
        if len(options) == 1:
            return {**_resolve(options[0], defs), **{k: v for k, v in prop.items() if k != key}}
    return prop


def _type_name(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + " | ".join(json.dumps(v) for v in prop["enum"])
    kind = prop.get("type", "object")
    if kind == "array":
        return f"list of {_type_name(_resolve(prop.get('items', {}), defs), defs)}"
    if kind == "object":
        return prop.get("title", "object")
    if "pattern" in prop:
        return f"{kind} matching {prop['pattern']}"
    return kind


def user_prompt(
    schema: type[BaseModel],
    *,
    pages: int,
    part: tuple[int, int] | None = None,
    previous: str | None = None,
    errors: list[str] | None = None,
) -> str:
    """The user turn: what to extract, from how many page images, and what failed before."""
    doc = schema.__doc__ or ""
    head = f"Extract the {schema.__name__} from the {pages} page image(s) above."
    if part is not None:
        head += f" They are part {part[0]} of {part[1]} of a longer document."
    parts = [head]
    if doc.strip():
        parts.append(doc.strip())
    parts.append("Fields:\n" + field_guide(schema))
    if errors:
        shown = previous if previous is not None and len(previous) < 2000 else None
        retry = "Your previous answer was rejected"
        retry += f":\n{shown}\n" if shown else ". "
        retry += "Problems:\n" + "\n".join(f"- {e}" for e in errors[:12])
        retry += "\nLook at the document again and answer with a corrected JSON object."
        parts.append(retry)
    return "\n\n".join(parts)
