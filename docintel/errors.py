"""Every error docintel raises, in one place.

    DocintelError
    ├── InputError                 the input itself is the problem
    │   ├── InputNotFound          a path that does not exist
    │   ├── UnsupportedInput       not a format docintel reads (or the wrong Python type)
    │   ├── EmptyDocument          zero bytes, or a document without pages
    │   ├── CorruptDocument        claims a format but cannot be parsed
    │   ├── EncryptedDocument      needs a password (or the one given is wrong)
    │   └── InputTooLarge          over a configured limit (bytes, pages, pixels)
    ├── FetchError                 a URL could not be fetched
    │   └── BlockedURL             the URL points somewhere docintel refuses to go
    ├── OutOfMemory                the machine ran out of memory (worth another try later)
    ├── EngineUnavailable          no model engine can run here (says how to get one)
    ├── GrammarError               a schema's grammar cannot be built by the decoding backend
    ├── InvalidJSONSchema          a request's JSON Schema cannot become a model (says where)
    ├── UnsupportedPattern         a schema pattern the linear-time regex engine cannot run
    ├── ExtractionFailed           attempts ran out; carries the last candidate and every attempt
    ├── Cancelled                  the work was stopped: its caller timed out or went away
    ├── DocumentClosed             a page of a closed document was asked to render
    ├── SchemaNotFound             a schema name or module:Class that does not resolve
    ├── OutputConflict             a batch output holds results this run must not extend
    ├── MissingDependency          an optional dependency is not installed (names the extra)
    └── StoreError                 the job store cannot be used
        ├── StoreUnavailable       the database stayed unreachable longer than allowed
        └── StoreVersionMismatch   the store was made by a different docintel store layout

Each message says what went wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any


class DocintelError(Exception):
    """Base class of every error raised by docintel."""


class InputError(DocintelError):
    """The input document cannot be used as it is."""


class InputNotFound(InputError, FileNotFoundError):
    """A path that does not exist or is not a file."""


class UnsupportedInput(InputError, TypeError):
    """Not a format or Python type docintel reads."""


class EmptyDocument(InputError):
    """The input holds no data, or a document with no pages."""


class CorruptDocument(InputError):
    """The input claims a known format but cannot be parsed."""


class EncryptedDocument(InputError):
    """The PDF is encrypted and no (or a wrong) password was given."""


class InputTooLarge(InputError):
    """The input exceeds a configured limit."""

    def __init__(self, message: str, *, limit: int | None = None, actual: int | None = None):
        super().__init__(message)
        self.limit = limit
        self.actual = actual


class OutOfMemory(DocintelError, MemoryError):
    """Memory ran out while reading or rendering: the input may be fine, the machine was full."""


class FetchError(DocintelError):
    """A URL could not be fetched."""


class BlockedURL(FetchError):
    """The URL's scheme or address is not allowed (private, loopback, link-local, ...)."""


class EngineUnavailable(DocintelError):
    """No engine can run with this configuration; the message says how to get one."""


class GrammarError(DocintelError, ValueError):
    """A schema cannot be compiled into a decoding grammar by a structured-output backend."""

    def __init__(self, message: str, *, schema: str, backend: str) -> None:
        super().__init__(message)
        self.schema = schema
        self.backend = backend


class InvalidJSONSchema(DocintelError, ValueError):
    """The JSON Schema cannot be turned into a model; ``path`` is the JSON pointer of the node."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"at {path or '/ (top level)'}: {problem}")

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # The default would call __init__ with the message alone (e.g. across processes).
        return type(self), (self.path, self.problem)


class UnsupportedPattern(DocintelError, ValueError):
    """A schema ``pattern`` that the linear-time regex engine refuses (see ``patterns``)."""

    def __init__(self, pattern: str, reason: str) -> None:
        self.pattern = pattern
        self.reason = reason
        shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
        super().__init__(
            f"pattern {shown!r} is refused ({reason}): docintel matches patterns in linear "
            "time, which rules out look-around and backreferences; rewrite the pattern "
            "without them, or simplify it"
        )

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # The default would call __init__ with the message alone (e.g. across processes).
        return type(self), (self.pattern, self.reason)


class ExtractionFailed(DocintelError):
    """Every attempt failed. ``result`` holds the last candidate, every attempt and error."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result

    @property
    def last_candidate(self) -> str | None:
        """The raw text of the last attempt (what the model said), if any."""
        return self.result.attempts[-1].text if self.result.attempts else None

    @property
    def errors(self) -> list[str]:
        return list(self.result.errors)


class Cancelled(DocintelError):
    """The work was stopped because nobody waits for its result any more."""


class DocumentClosed(DocintelError, RuntimeError):
    """A closed document's page was asked for an image; load the document again."""


class SchemaNotFound(DocintelError, LookupError):
    """The schema named on the command line or in a request cannot be found."""


class OutputConflict(DocintelError):
    """``docintel batch``'s output already holds results made with another schema (or is not
    a batch output at all): resuming into it would mix them."""


class MissingDependency(DocintelError, ImportError):
    """An optional dependency a feature needs is not installed; the message names the extra."""


class StoreError(DocintelError):
    """The job store cannot be opened or used; the message names the store and what to do."""


class StoreUnavailable(StoreError):
    """The job store's database stayed unreachable longer than the watcher may wait."""


class StoreVersionMismatch(StoreError):
    """The store's recorded layout version is not the one this docintel writes."""

    def __init__(self, message: str, *, found: int | None, expected: int) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected
