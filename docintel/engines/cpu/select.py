"""Selection under the schema's checks: the likeliest candidates that are consistent.

The best candidate of every field is taken first. When the value then breaks one of the
schema's semantic checks (subtotal + tax = total, due date not before the issue date), the
fields the messages name are varied over their next-best candidates (and "none" for optional
ones), and the likeliest combination that passes every check wins. When none does, the first
choice stays and the checks' messages go back with the answer.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from docintel.checks.semantic import _MARK, salvage, semantic_errors

if TYPE_CHECKING:
    from docintel.engines.cpu.candidates import Cand

OPTIONS = 4  # candidates tried per named field
COMBINATIONS = 600  # combinations checked at most
FLOOR = 0.02  # candidates less likely than this are never chosen to satisfy a check
_NONE = object()


def named_fields(message: str, paths: list[str]) -> list[str]:
    """The field paths a check's message names ("subtotal 90 + tax 9 = 99, not the total")."""
    out = []
    for path in paths:
        leaf = path.rsplit(".", 1)[-1]
        for name in dict.fromkeys((path, leaf)):
            if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", message):
                out.append(path)
                break
    return out


def choose(
    schema: type[BaseModel],
    value: dict[str, Any],
    ranked: dict[str, list[Cand]],
    optional: set[str],
    banned: set[tuple[str, Any]],
) -> tuple[dict[str, Any], list[str]]:
    """The value with the likeliest check-passing candidates; and the errors left.

    A value that does not validate yet (a required field missing) is still checked: the
    checks that can run on what was filled do (a check that reads a missing value is skipped).
    """
    try:
        model = schema.model_validate(value)
        valid = True
    except ValidationError:
        partial, _ = salvage(value, schema)
        model = _construct(schema, partial or {})
        valid = False
    errors = check_errors(model)
    if not errors:
        return value, []
    top = [p for p in ranked if "." not in p]  # checks read top-level fields
    lists = [k for k, v in value.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    named: list[str] = []
    for e in errors:
        for p in named_fields(e, top + lists):
            if p not in named:
                named.append(p)
    if not named:
        return value, errors
    options: dict[str, list[tuple[Any, float]]] = {}
    for path in [p for p in named if p in lists]:
        # rows read from a table can be wrong too: keeping none costs as much as a
        # candidate at half the probability
        options[path] = [(value[path], 0.0), ([], math.log(0.5))]
    named = [p for p in named if p not in lists]
    for path in named[:6]:
        opts: list[tuple[Any, float]] = []
        floor = max(FLOOR, 0.05 * (ranked[path][0].p if ranked[path] else 0.0))
        for c in ranked[path]:
            if (path, c.key) in banned or c.p < floor:
                continue  # an unlikely value that happens to add up is not an answer
            opts.append((c.value, math.log(max(c.p, 1e-4))))
            if len(opts) >= OPTIONS:
                break
        if path in optional:
            best = ranked[path][0].p if ranked[path] else 0.0
            opts.append((_NONE, math.log(max(1.0 - best, 0.05))))
        if opts:
            options[path] = opts
    paths = list(options)
    combos = sorted(
        itertools.product(*(options[p] for p in paths)), key=lambda c: -sum(s for _, s in c)
    )
    for combo in combos[:COMBINATIONS]:
        update = {p: (None if v is _NONE else v) for p, (v, _) in zip(paths, combo, strict=True)}
        try:
            # rows kept as they are; rows dropped: an empty list (models stay models)
            typed = {p: v for p, v in update.items() if not (isinstance(v, list) and v)}
            candidate = model.model_copy(update=typed)
            left = check_errors(candidate)
        except (TypeError, ValueError, AttributeError):
            continue
        # errors about fields this choice cannot change (a missing currency) do not count
        if not [e for e in left if named_fields(e, paths)]:
            out = dict(value)
            out.update(update)
            if valid:
                try:  # the chosen values must still validate (types, patterns)
                    schema.model_validate(out)
                except ValidationError:
                    continue
            return out, [e for e in left if e in errors]
    return value, errors


def check_errors(model: BaseModel) -> list[str]:
    """``semantic_errors``, where a check that cannot run (it reads a value not filled) is
    skipped rather than failing the rest."""
    try:
        return semantic_errors(model)
    except Exception:
        pass
    errors: list[str] = []
    for name in dir(type(model)):
        fn = getattr(type(model), name, None)
        if not (callable(fn) and getattr(fn, _MARK, False)):
            continue
        try:
            out = fn(model)
        except (ValueError, AssertionError) as exc:
            out = str(exc)
        except Exception:
            continue
        errors.extend([out] if isinstance(out, str) else list(out or []))
    return errors


def _construct(schema: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """A model from values without validating them (nested models built the same way)."""
    from docintel.fields import unwrap

    values: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        v = data.get(name)
        core = unwrap(info.annotation)[0]
        inner = get_args(core)[0] if get_origin(core) is list and get_args(core) else None
        inner = unwrap(inner)[0] if inner is not None else None
        if isinstance(core, type) and issubclass(core, BaseModel) and isinstance(v, dict):
            v = _construct(core, v)
        elif isinstance(inner, type) and issubclass(inner, BaseModel) and isinstance(v, list):
            v = [_construct(inner, x) if isinstance(x, dict) else x for x in v]
        values[name] = v
    return schema.model_construct(**values)
