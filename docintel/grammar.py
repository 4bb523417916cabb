"""The JSON schema every engine decodes under: the user's schema, made grammar-safe.

Constrained decoding guarantees output that parses, but only the schema bounds how long it
runs and how costly its grammar is. Pydantic still validates the answer against the *user's*
schema, so a bound the grammar drops is still enforced (and fed back to the next attempt);
the grammar is only ever looser, never different.

For every backend:

* objects get ``additionalProperties: false`` (pydantic ignores extra keys by default, but a
  grammar that allows them lets a weak model invent keys until the token limit);
* small bounded integer ranges (``ge``/``le``) become enums, because Outlines' JSON-schema
  compiler drops ``minimum``/``maximum`` and a model could write ``-7`` for ``ge=0``;
* numbers get a finite range (+-1e18 where the schema sets none): a JSON grammar otherwise
  allows ``-4E+8116962``, which parses as infinity and fails ``allow_inf_nan=False`` (random
  weights wrote it in a third of the catalog's answers). 1e18 is the largest range llguidance
  turns into a regex, and more than any amount or measure on a document; backends that
  ignore numeric bounds (Outlines) ignore it harmlessly.

Per backend, counted repeats are capped where that backend's compiler cannot afford them
(``BOUND_LIMITS``). llguidance builds its lexer lazily and compiles the catalog's schemas in
milliseconds with every bound kept. Outlines determinises the whole JSON regex up front: a
``maxLength: 200`` string inside a list of up to 100 items is a counted repeat inside a
counted repeat, and Invoice took over 150 s and 6 GB over Pixtral's 131k-token vocabulary, so
under Outlines string bounds over 32 and list bounds over 8 are left to pydantic. Measured in
``bench/grammar.py``.

Users writing schemas should also bound strings (``max_length``) and lists (``max_length``),
and use ``[0-9]`` rather than ``\\d`` in patterns (``\\d`` matches any Unicode digit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

Backend = Literal["guidance", "xgrammar", "outlines"]
BACKENDS: tuple[Backend, ...] = ("guidance", "xgrammar", "outlines")
# Chosen by bench/grammar.py: compiles every catalog schema in milliseconds with every bound
# kept, and has the best constrained/unconstrained throughput ratio.
DEFAULT_BACKEND: Backend = "guidance"

MAX_ENUM_RANGE = 256
FINITE = 1e18  # see above: the widest finite range llguidance compiles


@dataclass(frozen=True)
class BoundLimits:
    """Largest counted repeats a backend's grammar keeps; larger bounds go to pydantic alone."""

    string: int | None  # maxLength / minLength; None: keep all
    items: int | None  # maxItems / minItems; None: keep all


BOUND_LIMITS: dict[Backend, BoundLimits] = {
    "guidance": BoundLimits(string=None, items=None),
    "xgrammar": BoundLimits(string=256, items=None),
    "outlines": BoundLimits(string=32, items=8),
}


def constraint_schema(
    schema: type[BaseModel] | dict[str, Any], backend: Backend = DEFAULT_BACKEND
) -> dict[str, Any]:
    """``schema``'s JSON schema with the grammar-safety rewrites above, for ``backend``."""
    raw = schema if isinstance(schema, dict) else schema.model_json_schema()
    return _safe(raw, BOUND_LIMITS[backend])


def schema_digest(constraint: dict[str, Any]) -> str:
    """A stable digest of a constraint: the key of every grammar cache."""
    text = json.dumps(constraint, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _drop_bound(node: dict[str, Any], low: str, high: str, limit: int | None) -> None:
    if limit is not None and node.get(high, 0) > limit:
        del node[high]
        if node.get(low, 0) > limit:
            del node[low]


def _safe(node: Any, limits: BoundLimits) -> Any:
    if isinstance(node, list):
        return [_safe(item, limits) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _safe(value, limits) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.get("type") == "string":
        _drop_bound(out, "minLength", "maxLength", limits.string)
    if out.get("type") == "array":
        _drop_bound(out, "minItems", "maxItems", limits.items)
    if out.get("type") == "number":
        if "minimum" not in out and "exclusiveMinimum" not in out:
            out["minimum"] = -FINITE
        if "maximum" not in out and "exclusiveMaximum" not in out:
            out["maximum"] = FINITE
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
