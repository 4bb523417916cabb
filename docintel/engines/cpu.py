"""The CPU engine: fills the schema from the words on the page, with no model.

It reads the request's pages (their text layer, or OCR words where ingestion provides them)
through ``docintel.fill`` and answers with the filled JSON, deterministically and in
milliseconds. What needs a vision model (LaTeX transcription, diagrams, captions, counting
objects, handwriting with no words to read) it declines with an error naming the setting that
gets a model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import UnsupportedPattern
from .base import Capabilities, GenerationOutput, GenerationRequest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..document import Page

__all__ = ["UNSUPPORTED", "CPUEngine", "supports"]

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
    """Schema-driven extraction from the text layer (and OCR words), no model involved."""

    name = "cpu"
    model = "text-layer+ocr"
    # Asking again gives the same answer (the retry loop asks once); no state between calls.
    capabilities = Capabilities(deterministic=True, thread_safe=True)

    def supports(self, schema: type[BaseModel], pages: Sequence[Page] = ()) -> str | None:
        return supports(schema, pages)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        return [self._one(r) for r in requests]

    def _one(self, request: GenerationRequest) -> GenerationOutput:
        from ..fill import fill

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
        try:
            value = fill(request.schema, request.pages, region=request.region)
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
        return GenerationOutput(text, "stop", 0, 0, time.perf_counter() - start)

    def close(self) -> None:
        pass
