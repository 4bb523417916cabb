"""Formula images to LaTeX: what ``POST /v1/latex`` and ``docintel latex`` do.

A page with formula regions gives one transcription per region, each with its box; a page
without (a cropped formula image, a photo of a blackboard) is transcribed whole. Each
transcription says whether the LaTeX is valid (KaTeX's grammar), and optionally its MathML.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .budget import admit, admit_regions
from .cancel import checkpoint
from .document import Document, RegionKind
from .engines import Engine
from .extract import extract, extract_regions
from .ingest import Source, load
from .latex import check_latex, to_mathml
from .result import Result
from .settings import Settings, get_settings


@dataclass
class Transcription:
    """One formula: its LaTeX, whether it is valid, where it is, and what it cost."""

    latex: str | None  # None when no attempt produced a candidate
    display: bool | None
    valid: bool
    errors: list[str]
    confidence: float  # 0..1: validity, and agreement between attempts
    page: int  # 0-based
    box: list[float] | None  # [x0, y0, x1, y1] in page points; None: the whole page
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    mathml: str | None = None
    raw: list[str] = field(default_factory=list)  # what the model answered, per attempt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def transcribe(
    source: Source | Document,
    *,
    engine: str | Engine | None = None,
    pages: Sequence[int] | None = None,
    mathml: bool = False,
    max_attempts: int | None = None,
    settings: Settings | None = None,
) -> list[Transcription]:
    """Transcribe every formula of ``source`` (see the module docstring)."""
    settings = settings or get_settings()
    doc = source if isinstance(source, Document) else load(source, settings=settings)
    with contextlib.nullcontext() if doc is source else contextlib.closing(doc):
        return _transcribe(doc, engine, pages, mathml, max_attempts, settings)


def _transcribe(
    doc: Document,
    engine: str | Engine | None,
    pages: Sequence[int] | None,
    mathml: bool,
    max_attempts: int | None,
    settings: Settings,
) -> list[Transcription]:
    admit(doc, pages, settings)
    chosen = list(pages) if pages is not None else list(range(len(doc)))
    # Regions are known after layout, which is cheap next to the model: count them all first.
    admit_regions(sum(max(1, len(doc[i].regions_of(RegionKind.FORMULA))) for i in chosen), settings)
    out: list[Transcription] = []
    for index in chosen:
        checkpoint()
        page = doc[index]
        options: dict[str, Any] = dict(engine=engine, max_attempts=max_attempts, settings=settings)
        if page.regions_of(RegionKind.FORMULA):
            for result in extract_regions(
                doc, _formula(), RegionKind.FORMULA, pages=[index], **options
            ):
                out.append(
                    _transcription(result, index, list(result.region.bbox.as_tuple()), mathml)
                )
        else:
            result = extract(
                doc, _formula(), pages=[index], raise_on_failure=False, provenance=False, **options
            )
            out.append(_transcription(result, index, None, mathml))
    return out


def _formula() -> type:
    from .schemas import Formula

    return Formula


def _transcription(
    result: Result[Any], page: int, box: list[float] | None, mathml: bool
) -> Transcription:
    value = result.value
    latex = getattr(value, "latex", None)
    display = getattr(value, "display", None)
    check = check_latex(latex, display=bool(display)) if latex else None
    valid = bool(check and check.valid)
    # Attempts that agree on the same LaTeX raise confidence; an invalid answer has none.
    texts = [a.text for a in result.attempts if a.text]
    agreement = texts.count(texts[-1]) / len(texts) if texts else 0.0
    return Transcription(
        latex=latex,
        display=getattr(value, "display", None),
        valid=valid,
        errors=list(check.errors) if check else list(result.errors),
        confidence=round(agreement if valid else 0.0, 3),
        page=page,
        box=box,
        attempts=len(result.attempts),
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        seconds=round(result.seconds, 4),
        mathml=to_mathml(latex, display=bool(getattr(value, "display", True)))
        if mathml and latex and valid
        else None,
        raw=texts,
    )
