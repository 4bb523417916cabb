"""The CPU engine: fills the schema from the words on the page, with no model.

It reads the request's pages (their text layer, or OCR words where ingestion provides them),
gathers candidates for every field, scores them with a small trained model (``scorer``) and
answers with the likeliest combination that passes the schema's checks, deterministically and
in milliseconds. When the retry loop sends an answer back (a check it could not run, such as
grounding or a caller's own check), it takes the next-best candidates for the fields the
errors name. What needs a vision model (LaTeX transcription, diagrams, captions, counting
objects, handwriting with no words to read) it declines with an error naming the setting that
gets a model.

The package, by job: ``words`` (lines and phrases), ``vocab`` (printed labels in many
languages), ``schema`` (the field walk), ``parse`` (typed values), ``labels`` (label
occurrences), ``tables`` (line items), ``parties``, ``candidates`` (values and features),
``scorer`` (the model), ``select`` (choice under the checks), ``fill`` (all of it),
``train`` (labelled candidates for ``docintel train``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docintel.engines.base import Capabilities, GenerationOutput, GenerationRequest
from docintel.engines.cpu.fill import Filled, fill
from docintel.engines.cpu.parse import parse_value
from docintel.engines.cpu.schema import labels_for
from docintel.engines.cpu.scorer import Scorer, get_scorer
from docintel.engines.cpu.select import named_fields
from docintel.errors import UnsupportedPattern

if TYPE_CHECKING:
    from pydantic import BaseModel

    from docintel.document import Page

__all__ = [
    "UNSUPPORTED",
    "CPUEngine",
    "Filled",
    "fill",
    "labels_for",
    "parse_value",
    "supports",
]

_HOW = (
    "it needs a vision model; set DOCINTEL_SERVER_URL to a vLLM server or run on a GPU with "
    "engine='vllm'"
)

# Catalog schemas (by class name) the CPU engine cannot fill, and what it would have to do.
UNSUPPORTED: dict[str, str] = {
    "Formula": "transcribe formulas to LaTeX",
    "Diagram": "read diagrams and charts (nodes, arrows, data series)",
    "ImageCaption": "describe images",
    "ObjectCount": "count and locate objects in images",
}
# Schemas it can fill only from words: it declines them on pages with none.
NEEDS_WORDS: dict[str, str] = {
    "HandwrittenNote": "read handwriting on pages without a text layer or OCR words",
}


def _has_words(page: Page) -> bool:
    try:
        return bool(getattr(page, "ocr_words", page.words) or page.words)
    except Exception:  # OCR unavailable: only the text layer counts
        return bool(page.words)


def supports(schema: type[BaseModel], pages: Sequence[Page] = ()) -> str | None:
    """Why the CPU engine cannot fill ``schema`` (a full error message), or None when it can."""
    name = schema.__name__
    what = UNSUPPORTED.get(name)
    if what is None and name in NEEDS_WORDS and pages and not any(_has_words(p) for p in pages):
        what = NEEDS_WORDS[name]
    if what is None:
        return None
    return f"the cpu engine cannot {what}: {_HOW}"


class CPUEngine:
    """Schema-driven extraction from the text layer (and OCR words), no model involved.

    ``scorer``: a ``Scorer`` or the path of a scorer file (``docintel train``); default
    ``DOCINTEL_CPU_SCORER``, else the one shipped in ``docintel/data/cpu_scorer.json``.
    """

    name = "cpu"
    model = "text-layer+ocr"
    # The same request gives the same answer; an answer sent back with errors naming fields
    # gives the next-best candidates for them (so the retry loop asks again). No state.
    capabilities = Capabilities(deterministic=True, thread_safe=True, feedback=True)

    def __init__(self, scorer: Scorer | str | Path | None = None) -> None:
        self.scorer = get_scorer(scorer)

    def supports(self, schema: type[BaseModel], pages: Sequence[Page] = ()) -> str | None:
        return supports(schema, pages)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        return [self._one(r) for r in requests]

    def _one(self, request: GenerationRequest) -> GenerationOutput:
        start = time.perf_counter()
        reason = supports(request.schema, request.pages)
        if reason is None and not request.pages:
            reason = (
                "the cpu engine reads the words of the request's pages, and this request "
                "carries none (GenerationRequest.pages is empty); pass the pages the images "
                f"show, or use a vision model: {_HOW}"
            )
        if reason is not None:
            return GenerationOutput("", "error", seconds=time.perf_counter() - start, error=reason)
        banned = bans(request.schema, request.history)
        try:
            value = fill(
                request.schema,
                request.pages,
                region=request.region,
                scorer=self.scorer,
                banned=banned,
            )
        except UnsupportedPattern as exc:  # a schema pattern only a backtracking engine runs
            return GenerationOutput(
                "", "error", seconds=time.perf_counter() - start, error=f"the cpu engine: {exc}"
            )
        except Exception as exc:  # a bug or an odd page must not sink the batch
            return GenerationOutput(
                "",
                "error",
                seconds=time.perf_counter() - start,
                error=f"the cpu engine failed: {type(exc).__name__}: {exc}",
            )
        text = json.dumps(dict(value), ensure_ascii=False)
        # nothing new to offer: asking again would give this answer again
        again = any(_same(text, previous) for previous, _ in request.history)
        return GenerationOutput(
            text, "stop", 0, 0, time.perf_counter() - start, retryable=not again
        )

    def close(self) -> None:
        pass


def _same(a: str, b: str) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return a == b


def bans(schema: type[BaseModel], history: Sequence[tuple[str, Sequence[str]]]) -> set:
    """(path, value) pairs earlier answers gave for the fields their errors name."""
    out: set[tuple[str, Any]] = set()
    for text, errors in history:
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            continue
        if not isinstance(data, dict):
            continue
        leaves = dict(_leaves(data))
        for error in errors:
            for path in named_fields(error, list(leaves)):
                if leaves[path] is not None:
                    out.add((path, leaves[path]))
    return out


def _leaves(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out += _leaves(value, path)
        elif not isinstance(value, list):
            out.append((path, value))
    return out
