"""Schema ``pattern`` constraints, matched on a linear-time engine.

A schema's ``pattern`` may come from the network (a request's ``json_schema``) and is matched
against document text, which does too. Python's ``re`` backtracks: ``^(a+)+$`` on a line of
27 a's and a "!" ran for seconds to minutes and, holding the GIL, froze the whole service.
Every pattern docintel applies itself goes through ``compile_pattern``, which uses the engine that
pydantic validates ``pattern`` constraints with: pydantic-core's Rust ``regex`` crate (time
linear in the text, no backtracking; pydantic-core never falls back to Python's ``re`` for a
string pattern, it refuses what Rust cannot express). So the CPU filler's matches agree with
what validation then accepts, and no dependency is added.

The price is syntax: no look-around and no backreferences (they are what needs
backtracking). Such patterns raise ``UnsupportedPattern``; ``jsonschema_model`` turns that
into ``InvalidJSONSchema`` when a request's schema is converted.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from docintel.errors import UnsupportedPattern

__all__ = ["Pattern", "UnsupportedPattern", "compile_pattern"]

# Python flags of a compiled ``re.Pattern`` that Rust spells the same way inline.
_INLINE_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s", re.VERBOSE: "x"}


@dataclass(frozen=True)
class Pattern:
    """A compiled schema pattern; ``search`` says whether it matches anywhere in a text."""

    pattern: str
    _validator: Any = field(repr=False, compare=False)
    # What compiling took: microseconds usually, ~30 ms for large bounded repeats of Unicode
    # classes (\w{90}), next to nothing when pydantic-core's cache of recent patterns had it.
    seconds: float = field(default=0.0, compare=False)

    def search(self, text: str) -> bool:
        # Same answer as pydantic's validation: text with lone surrogates matches nothing.
        return bool(self._validator.isinstance_python(text))


def compile_pattern(pattern: str | re.Pattern[str]) -> Pattern:
    """``pattern`` (Rust regex syntax, as pydantic validates it) on the linear-time engine.

    A compiled ``re.Pattern`` (allowed in ``Field(pattern=...)``) is read back as its source
    with its i/m/s/x flags inline. Raises ``UnsupportedPattern`` for syntax the engine refuses
    (look-around, backreferences, a compiled size over its limit, an error in the pattern).
    """
    if isinstance(pattern, re.Pattern):
        pattern = _source(pattern)
    if not isinstance(pattern, str):
        raise TypeError(f"a pattern must be a str, not {type(pattern).__name__}")
    # No cache of our own: typical patterns compile in microseconds, the slow ones (\w{90})
    # hold ~10 MB each, and recent pydantic-core keeps the last 50 compiled anyway.
    from pydantic_core import SchemaError, SchemaValidator, core_schema

    # regex_engine spelled out: "python-re" is the backtracking engine, never for these.
    schema = core_schema.str_schema(pattern=pattern, regex_engine="rust-regex", strict=True)
    start = time.perf_counter()
    try:
        validator = SchemaValidator(schema)
    except SchemaError as exc:
        raise UnsupportedPattern(pattern, _reason(exc)) from None
    return Pattern(pattern, validator, time.perf_counter() - start)


def _source(compiled: re.Pattern[str]) -> str:
    if isinstance(compiled.pattern, bytes):
        raise TypeError("a bytes pattern cannot constrain text; give a str pattern")
    inline = "".join(c for flag, c in _INLINE_FLAGS.items() if compiled.flags & flag)
    if compiled.flags & re.ASCII:
        raise UnsupportedPattern(
            compiled.pattern, "the re.ASCII flag has no equivalent; spell classes as [0-9] etc."
        )
    return f"(?{inline}){compiled.pattern}" if inline else compiled.pattern


def _reason(exc: Exception) -> str:
    """The engine's own last line ("error: look-around ... is not supported")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[-1] if lines else type(exc).__name__
    return reason.removeprefix("error: ").removeprefix("SchemaError: ")
