"""Grammar compilation, bounded in time and cached by schema digest across requests and engines.

Every engine decodes under a grammar built from the request's schema by a structured-output
backend. Building it is work that user schemas control, so it is checked here first, once per
(backend, constraint digest) per process:

* ``guidance`` (llguidance) compiles in-process: its compiler is lazy and bounded by its own
  fuel limits (the catalog's schemas take 1-10 ms);
* ``outlines`` and ``xgrammar`` determinise or expand the grammar up front, which a schema can
  make take minutes and gigabytes. They are compiled in a child process with a deadline and
  killed at it, so a schema that cannot compile fails fast and leaks no thread still compiling
  (vLLM's own timeout abandons the thread but cannot stop it).

The verdict is cached either way (bounded LRU): a schema that failed is not compiled again on
every retry, and a schema that passed costs nothing the next time, whichever engine asks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from docintel.errors import GrammarError
from docintel.grammar import DEFAULT_BACKEND, Backend, constraint_schema, schema_digest

CACHE_SIZE = 1024  # verdicts kept per process (a constraint is a few kB)
DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Constraint:
    """A schema's grammar-safe JSON schema for one backend, known to compile there."""

    schema: dict[str, Any]
    digest: str
    backend: Backend
    name: str  # the schema's title, for messages
    seconds: float  # how long the compile check took when it ran (cached afterwards)


_verdicts: OrderedDict[tuple[Backend, str], Constraint | GrammarError] = OrderedDict()
_lock = threading.Lock()
_inflight: dict[tuple[Backend, str], threading.Event] = {}


def constraint(
    schema: type[BaseModel] | dict[str, Any],
    backend: Backend = DEFAULT_BACKEND,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Constraint:
    """The checked constraint for ``schema`` under ``backend``; raises ``GrammarError``.

    Concurrent callers with the same schema wait for one check rather than running several.
    """
    safe = constraint_schema(schema, backend)
    name = schema.__name__ if isinstance(schema, type) else str(safe.get("title", "schema"))
    key = (backend, schema_digest(safe))
    while True:
        with _lock:
            verdict = _verdicts.get(key)
            if verdict is not None:
                _verdicts.move_to_end(key)
                break
            event = _inflight.get(key)
            owner = event is None
            if owner:
                event = _inflight[key] = threading.Event()
        if not owner:
            event.wait()  # another thread is checking this schema: take its verdict
            continue
        try:
            verdict = _check(safe, key[1], backend, name, timeout)
            with _lock:
                _verdicts[key] = verdict
                while len(_verdicts) > CACHE_SIZE:
                    _verdicts.popitem(last=False)
        finally:
            with _lock:
                _inflight.pop(key, None)
            event.set()
        break
    if isinstance(verdict, GrammarError):
        raise verdict
    return verdict


def forget() -> None:
    """Drop every cached verdict (tests, or after upgrading a backend in place)."""
    with _lock:
        _verdicts.clear()


def _check(
    safe: dict[str, Any], digest: str, backend: Backend, name: str, timeout: float
) -> Constraint | GrammarError:
    started = time.perf_counter()
    problem = (
        _check_guidance(safe) if backend == "guidance" else _check_isolated(safe, backend, timeout)
    )
    seconds = time.perf_counter() - started
    if problem is not None:
        return GrammarError(
            f"schema {name!r} cannot be compiled into a grammar by the {backend!r} "
            f"structured-output backend: {problem}. The default backend, 'guidance', compiles "
            "any schema in milliseconds (DOCINTEL_STRUCTURED_BACKEND=guidance); otherwise bound "
            "fewer strings and lists, or simplify the schema's patterns.",
            schema=name,
            backend=backend,
        )
    return Constraint(safe, digest, backend, name, seconds)


def _check_guidance(safe: dict[str, Any]) -> str | None:
    try:
        import llguidance
    except ImportError:  # no local backend to check with: the engine's own will report
        return None
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(safe), defaults={"whitespace_flexible": False}
        )
    except Exception as exc:  # llguidance reports unsupported schema features by raising
        return str(exc).splitlines()[0][:300]
    error = llguidance.LLMatcher.validate_grammar(grammar)
    return error.strip()[:300] or None


def _check_isolated(safe: dict[str, Any], backend: Backend, timeout: float) -> str | None:
    """Compile in a child process that is killed at the deadline (nothing keeps running)."""
    command = [sys.executable, "-m", "docintel.engines.grammars", backend]
    try:
        proc = subprocess.run(
            command, input=json.dumps(safe), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"compiling took longer than {timeout:g} s (the limit) and was stopped"
    if proc.returncode == 0:
        return None
    if proc.returncode == 3:  # the backend is not installed here: let the engine decide
        return None
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    if proc.returncode < 0:
        return f"the compiler was killed by signal {-proc.returncode} (out of memory?)"
    return (lines[-1] if lines else f"exit status {proc.returncode}")[:300]


# A byte-level vocabulary: the automaton's size, which is what explodes, does not depend on the
# model's vocabulary; the per-token index over 131k tokens only multiplies the cost.
_BYTE_VOCAB = [chr(c) for c in range(32, 127)]


def _compile_here(backend: str, safe: dict[str, Any]) -> None:
    if backend == "outlines":
        import outlines_core

        regex = outlines_core.json_schema.build_regex_from_schema(json.dumps(safe), r"[ ]?")
        vocabulary = outlines_core.Vocabulary(0, {t: [i + 1] for i, t in enumerate(_BYTE_VOCAB)})
        outlines_core.Index(regex, vocabulary)
    elif backend == "xgrammar":
        import xgrammar

        info = xgrammar.TokenizerInfo(["<eos>", *_BYTE_VOCAB], stop_token_ids=[0])
        xgrammar.GrammarCompiler(info, max_threads=1).compile_json_schema(
            json.dumps(safe), any_whitespace=False
        )
    else:
        raise SystemExit(f"unknown backend {backend!r}")


def _main() -> None:
    backend = sys.argv[1]
    safe = json.loads(sys.stdin.read())
    try:
        _compile_here(backend, safe)
    except ImportError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(3) from None
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    _main()
