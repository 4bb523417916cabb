"""LaTeX validity with KaTeX itself as the judge, and MathML.

``check_latex(src)`` answers what ``katex.renderToString(src, {throwOnError: true, strict:
"error"})`` answers, because it asks KaTeX: KaTeX 0.16.22's own ``katex.min.js`` (vendored in
``docintel/data/katex/``, MIT) runs in-process in an embedded V8 (mini-racer:
``pip install 'docintel[latex]'``). A rejected formula gets KaTeX's error with its position,
and, where a model can act on it, a hint: the nearest command or environment KaTeX knows for an
unknown one ("did you mean \\frac?"), or the mode a command belongs to.

Bounded: formulas over ``MAX_LENGTH`` characters are refused unread; each call may run for
``TIMEOUT`` seconds in a heap of at most ``MAX_MEMORY`` bytes. V8 contexts come from a small
pool (at most one per core, each made on first need: V8 itself costs about 60 MB once, each
context about 30 ms and 5 MB more), so no two threads use one at once and memory does not grow
with the number of threads (the service runs up to ``max_queue`` of them).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import difflib
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from docintel.errors import EngineUnavailable

__all__ = ["KATEX_VERSION", "MAX_LENGTH", "LatexCheck", "check_latex", "to_mathml"]

KATEX_VERSION = "0.16.22"
MAX_LENGTH = 20_000  # characters; a formula is a few hundred
TIMEOUT = 2.0  # seconds per KaTeX call (a long formula takes a few ms)
MAX_MEMORY = 256 * 2**20  # V8 heap per context

_KATEX_JS = Path(__file__).parents[1] / "data" / "katex" / "katex.min.js"

# What runs in V8 beside KaTeX: one call per formula, plain data back.
_GLUE = """
var __docintel = {
  check: function (src, display) {
    try {
      katex.renderToString(src, {throwOnError: true, strict: "error", displayMode: display});
      return null;
    } catch (e) {
      if (e instanceof katex.ParseError) {
        return {message: e.rawMessage, position: e.position === undefined ? null : e.position};
      }
      return {message: String(e && e.name) + ": " + String(e && e.message), position: null};
    }
  },
  mathml: function (src, display) {
    try {
      return katex.renderToString(
        src, {throwOnError: true, strict: "error", displayMode: display, output: "mathml"});
    } catch (e) {
      return null;
    }
  },
};
"""


@dataclass(frozen=True)
class LatexCheck:
    """Verdict on one formula: `valid`, and when not, what to fix."""

    valid: bool
    errors: list[str] = field(default_factory=list)


def check_latex(source: str, *, display: bool = False) -> LatexCheck:
    """KaTeX's verdict on ``source`` (throwOnError, strict "error"), with hints on failure.

    `display` selects KaTeX's display mode (it allows align/gather/equation and \\tag); the
    default matches ``katex.renderToString``'s default, inline. Raises ``EngineUnavailable``
    when mini-racer is not installed.
    """
    if len(source) > MAX_LENGTH:
        return LatexCheck(
            False, [f"the formula is {len(source)} characters, over {MAX_LENGTH}: shorten it"]
        )
    try:
        with _pool().borrow() as racer:
            found = _call(racer, "__docintel.check", source, display)
            if found is None:
                return LatexCheck(True, [])
            message, position = found["message"], found["position"]
            if message.startswith("RangeError"):  # KaTeX recursed past V8's stack
                message = f"the formula is nested too deeply for KaTeX ({message})"
            elif position is not None and position >= len(source):
                message += " at the end of the formula"
            elif position is not None:
                message += f" at position {position + 1}"
            return LatexCheck(False, [message + _hint(racer, found["message"])])
    except _Failed as exc:
        return LatexCheck(False, [str(exc)])


def to_mathml(source: str, display: bool = True) -> str | None:
    """MathML (a ``<math>`` element) for ``source`` from KaTeX, or None when KaTeX rejects it."""
    if len(source) > MAX_LENGTH:
        return None
    try:
        with _pool().borrow() as racer:
            out = _call(racer, "__docintel.mathml", source, display)
    except _Failed:
        return None
    if not out:
        return None
    start, end = out.find("<math"), out.rfind("</math>")
    return out[start : end + len("</math>")] if start >= 0 and end > start else None


# ---- the hints --------------------------------------------------------------------------------

_UNDEFINED = "Undefined control sequence: "
_NO_ENV = "No such environment: "


_hints: dict[str, str] = {}  # message -> hint: the probes below do not depend on the formula


def _hint(racer: Any, message: str) -> str:
    """What to do about KaTeX's ``message``, as " (...)", or "" (remembered, bounded)."""
    hint = _hints.get(message)
    if hint is None:
        hint = _find_hint(racer, message)
        with _pool_lock:
            _hints[message] = hint
            if len(_hints) > 4096:
                del _hints[next(iter(_hints))]
    return hint


def _find_hint(racer: Any, message: str) -> str:
    if message.startswith(_UNDEFINED):
        name = message[len(_UNDEFINED) :].strip()
        mode = _command_mode(racer, name)  # known, but not where it was used
        if mode == "math":
            return f" ({name} works only in math mode: end the \\text{{...}} before it)"
        if mode == "text":
            return f" ({name} works only in text mode: put it in \\text{{...}})"
        commands, _ = _vocabulary()
        for guess in _close(name, commands):
            if _command_mode(racer, guess):
                return f" (did you mean {guess}?)"
    elif message.startswith(_NO_ENV):
        name = message[len(_NO_ENV) :].strip()
        _, words = _vocabulary()
        for guess in _close(name, words):
            if _is_environment(racer, guess):
                return f" (did you mean {guess}?)"
    return ""


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names KaTeX's source mentions: control words, and words that may name environments.
    Candidates only: a guess is offered after KaTeX confirms it knows it."""
    js = _KATEX_JS.read_text(encoding="utf-8")
    commands = {"\\" + m for m in re.findall(r'"\\\\([a-zA-Z]+)"', js)}
    words = set(re.findall(r'"([a-zA-Z]+\*?)"', js))
    return tuple(sorted(commands)), tuple(sorted(words))


def _close(name: str, pool: tuple[str, ...]) -> list[str]:
    near = [n for n in pool if abs(len(n) - len(name)) <= 2 and n != name]
    return difflib.get_close_matches(name, near, n=3, cutoff=0.75)


def _command_mode(racer: Any, name: str) -> str | None:
    """ "math" or "text": the mode where KaTeX knows ``name``; None when it knows it nowhere."""
    for mode, probe in (("math", name), ("text", f"\\text{{{name}}}")):
        found = _call(racer, "__docintel.check", probe, False)
        if found is None or not found["message"].startswith(_UNDEFINED):
            return mode
    return None


def _is_environment(racer: Any, name: str) -> bool:
    found = _call(racer, "__docintel.check", f"\\begin{{{name}}}\\end{{{name}}}", True)
    return found is None or not found["message"].startswith(_NO_ENV)


# ---- V8 contexts ------------------------------------------------------------------------------


class _Failed(Exception):
    """KaTeX could not finish (time or memory limit, a JavaScript failure)."""


def _call(racer: Any, function: str, source: str, display: bool) -> Any:
    from py_mini_racer import JSEvalException, JSOOMException, JSTimeoutException

    try:
        return racer.call(function, source, display, timeout_sec=TIMEOUT)
    except JSTimeoutException:
        raise _Failed(f"KaTeX took over {TIMEOUT:g} s on this formula: simplify it") from None
    except JSOOMException:
        raise _Failed("KaTeX ran out of memory on this formula: simplify it") from None
    except JSEvalException as exc:
        raise _Failed(f"KaTeX failed on this formula: {exc}") from None


class _Pool:
    """At most ``size`` V8 contexts with KaTeX loaded, lent to one thread at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        self._idle: list[Any] = []
        self._made = 0
        self._cond = threading.Condition()

    @contextmanager
    def borrow(self) -> Iterator[Any]:
        with self._cond:
            while not self._idle and self._made >= self.size:
                self._cond.wait()
            racer = self._idle.pop() if self._idle else None
            if racer is None:
                self._made += 1
        healthy = False
        try:
            if racer is None:
                racer = _new_context()
            yield racer
            healthy = True
        finally:
            if not healthy and racer is not None:
                _discard(racer)  # a context that timed out or failed is not trusted again
            with self._cond:
                if healthy:
                    self._idle.append(racer)
                else:
                    self._made -= 1
                self._cond.notify()

    def close(self) -> None:
        """Close the idle contexts (at exit: a V8 context left to the garbage collector while
        the interpreter shuts down can hang it)."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._made -= len(idle)
        for racer in idle:
            racer.close()


def _discard(racer: Any) -> None:
    # A cancelled call still reports back to the context's loop: let it, then close.
    with contextlib.suppress(Exception):
        racer.eval("0", timeout_sec=1)
    racer.close()


_pool_lock = threading.Lock()
_the_pool: _Pool | None = None


def _pool() -> _Pool:
    global _the_pool
    with _pool_lock:
        # After a fork the parent's contexts (and their threads) are not ours: start over.
        if _the_pool is None or _the_pool.pid != os.getpid():
            _the_pool = _Pool(min(8, max(2, os.cpu_count() or 1)))
        return _the_pool


@atexit.register
def _close_pool() -> None:
    if _the_pool is not None and _the_pool.pid == os.getpid():
        _the_pool.close()


def _new_context() -> Any:
    """A V8 context with KaTeX loaded. mini-racer runs each context on an asyncio loop: made on a
    thread with a running loop it would take that loop (and refuse timeouts), so it is then made
    on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _load_katex()
    with ThreadPoolExecutor(1) as helper:
        return helper.submit(_load_katex).result()


def _load_katex() -> Any:
    try:
        from py_mini_racer import MiniRacer
    except ImportError as exc:
        raise EngineUnavailable(
            "LaTeX validity runs KaTeX in an embedded JavaScript engine that is not installed: "
            "pip install 'docintel[latex]' (or: pip install mini-racer)"
        ) from exc
    racer = MiniRacer()
    racer.set_hard_memory_limit(MAX_MEMORY)
    racer.eval(_KATEX_JS.read_text(encoding="utf-8"))
    racer.eval(_GLUE)
    version = racer.eval("katex.version")
    if version != KATEX_VERSION:
        racer.close()
        raise EngineUnavailable(f"{_KATEX_JS} is KaTeX {version}, expected {KATEX_VERSION}")
    return racer
