"""Checks on model output: JSON and schema validation, then the schema's semantic checks.

A schema declares semantic checks as methods marked with ``@check``; each returns nothing
when the value is fine, or raises ``ValueError`` / returns a message (or messages) saying
what is wrong in words the model can act on, since they go back into the retry prompt::

    class Invoice(BaseModel):
        subtotal: float
        total: float

        @check
        def total_covers_subtotal(self) -> str | None:
            if self.total < self.subtotal:
                return f"total {self.total} is less than subtotal {self.subtotal}"
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__docintel_check__"


def check(fn: F) -> F:
    """Mark a model method as a semantic check (see the module docstring)."""
    setattr(fn, _MARK, True)
    return fn


def validate(text: str, schema: type[BaseModel]) -> tuple[BaseModel | None, list[str]]:
    """Parse and validate ``text`` against ``schema``; errors are one line each."""
    try:
        return schema.model_validate_json(text), []
    except ValidationError as exc:
        return None, [_format(e) for e in exc.errors(include_url=False)]


def salvage(data: Any, schema: type[BaseModel]) -> tuple[dict[str, Any] | None, list[str]]:
    """What can be kept of an answer that did not validate: the answer (JSON text or a dict)
    with every invalid or missing value set to None, and the paths of those values.

    ``(None, [])`` when the answer is not a JSON object; ``(data, [])`` when it validates.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError:
            return None, []
    if not isinstance(data, dict):
        return None, []
    data = copy.deepcopy(data)
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        missing: list[str] = []
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            path = _path(loc)
            if path and path not in missing:
                missing.append(path)
            _clear(data, loc)
        return data, missing
    return data, []


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _clear(data: Any, loc: tuple[Any, ...]) -> None:
    """Set the value at ``loc`` to None (a step that does not exist ends the walk)."""
    node = data
    for i, step in enumerate(loc):
        here = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if not here:
            return
        if i == len(loc) - 1 or not isinstance(node[step], dict | list):
            node[step] = None
            return
        node = node[step]


def _format(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "(root)"
    if error["type"] == "json_invalid":
        return f"the answer is not valid JSON ({error['msg']})"
    return f"{where}: {error['msg']}"


def semantic_errors(value: BaseModel, path: str = "") -> list[str]:
    """Run every ``@check`` of ``value`` and of the models nested in it."""
    errors: list[str] = []
    for name in dir(type(value)):
        fn = getattr(type(value), name, None)
        if callable(fn) and getattr(fn, _MARK, False):
            try:
                out = fn(value)
            except (ValueError, AssertionError) as exc:
                out = str(exc)
            if isinstance(out, str):
                out = [out]
            errors.extend(f"{path}{m}" if path else m for m in out or [])
    for field in type(value).model_fields:
        child = getattr(value, field)
        items = child if isinstance(child, list) else [child]
        for i, item in enumerate(items):
            if isinstance(item, BaseModel):
                where = f"{path}{field}[{i}]." if isinstance(child, list) else f"{path}{field}."
                errors.extend(semantic_errors(item, where))
    return errors


class Ground:
    """Marks a field that must be printed in the document (checked by ``grounding_check``).

    ``invoice_number: Annotated[str, Ground()] = Field(...)``; on a nested model or a list of
    them, every leaf below must be grounded.
    """

    def __repr__(self) -> str:
        return "Ground()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ground)

    def __hash__(self) -> int:
        return hash(Ground)
