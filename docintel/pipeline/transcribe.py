"""Formula images to LaTeX: what ``POST /v1/latex``, ``POST /v3/text`` and ``docintel latex`` do.

A page with formula regions gives one transcription per region, each with its box; a page
without (a cropped formula image, a photo of a blackboard) is transcribed whole. Every
formula of every page asked for goes to the engine in one batch, retries included (as
``extract_many`` does), so an N-page PDF costs one engine batch per attempt, not N. Each
transcription says whether the LaTeX is valid (KaTeX's verdict), and optionally its MathML.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel

from docintel.cancel import checkpoint
from docintel.checks.latex import check_latex, to_mathml
from docintel.document import Document, Page, PageImages, Region, RegionKind
from docintel.engines import Engine, get_engine
from docintel.ingest.budget import admit, admit_regions
from docintel.ingest.load import Source, load
from docintel.pipeline.retry import ExtraCheck, Job, RetryPolicy, run
from docintel.settings import Settings, get_settings


@dataclass
class Transcription:
    """One formula: its LaTeX, whether it is valid, where it is, and what it cost."""

    latex: str | None  # None when no attempt produced a candidate
    display: bool | None  # the layout's verdict where it has one, else the model's
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
    longest_side: int | None = None,
    settings: Settings | None = None,
) -> list[Transcription]:
    """Transcribe every formula of ``source`` (see the module docstring).

    ``longest_side``: pixels of the longer side of each formula crop (and of a page sent
    whole); default ``settings.target_longest_side``.
    """
    settings = settings or get_settings()
    doc = source if isinstance(source, Document) else load(source, settings=settings)
    with contextlib.nullcontext() if doc is source else contextlib.closing(doc):
        return _transcribe(doc, engine, pages, mathml, max_attempts, longest_side, settings)


def _transcribe(
    doc: Document,
    engine: str | Engine | None,
    pages: Sequence[int] | None,
    mathml: bool,
    max_attempts: int | None,
    longest_side: int | None,
    settings: Settings,
) -> list[Transcription]:
    admit(doc, pages, settings)
    chosen = [doc[i] for i in pages] if pages is not None else list(doc)
    side = longest_side or settings.target_longest_side
    # Regions are known after layout, which is cheap next to the model: count them all first.
    plan: list[tuple[Page, Region | None]] = []
    for page in chosen:
        checkpoint()
        plan += [(page, r) for r in page.regions_of(RegionKind.FORMULA)] or [(page, None)]
    admit_regions(len(plan), settings)
    schema = _formula()
    jobs: list[Job] = []
    modes: list[bool | None] = []
    renders: list[float] = []
    for page, region in plan:
        checkpoint()
        start = time.perf_counter()
        display = _displayed(page, region) if region is not None else None
        if region is not None:
            images: Sequence[Any] = [page.crop(region, longest_side=side)]
        else:
            images = PageImages([page], side)
        checks = [_valid_as(display)] if display is not None else []
        jobs.append(Job(schema, images, checks=checks, pages=[page], region=region))
        modes.append(display)
        renders.append(time.perf_counter() - start)
    policy = RetryPolicy(
        max_attempts=max_attempts or settings.max_attempts,
        max_tokens=settings.max_tokens,
        max_tokens_cap=settings.max_tokens_cap,
    )
    spent = run(jobs, get_engine(engine, settings), policy)  # one batch per attempt
    share = spent / max(1, len(jobs))
    return [
        _transcription(job, page, region, display, render + share, mathml)
        for job, (page, region), display, render in zip(jobs, plan, modes, renders, strict=True)
    ]


def _formula() -> type[BaseModel]:
    from docintel.schemas import Formula

    return Formula


def _displayed(page: Page, region: Region) -> bool | None:
    """Whether the formula in ``region`` stands alone on its lines (display) or shares a line
    with words outside it (inline); None when the page has no words to tell by."""
    if not page.words:
        return None
    box = region.bbox
    for word in page.words:
        w = word.bbox
        cx, cy = w.center
        if box.x0 <= cx <= box.x1 and box.y0 <= cy <= box.y1:
            continue  # part of the formula
        overlap = min(box.y1, w.y1) - max(box.y0, w.y0)
        if overlap > 0.5 * min(box.height, w.height):
            return False  # a word beside the formula on the same line
    return True


def _valid_as(display: bool) -> ExtraCheck:
    """The LaTeX must render in the mode the layout found (the schema checks the model's)."""

    def check(value: BaseModel) -> list[str]:
        if getattr(value, "display", None) == display:
            return []
        mode = "display" if display else "inline (it shares its line with text)"
        found = check_latex(getattr(value, "latex", ""), display=display)
        return [f"latex, as a {mode} formula: {e}" for e in found.errors]

    return check


def _transcription(
    job: Job,
    page: Page,
    region: Region | None,
    layout_display: bool | None,
    seconds: float,
    mathml: bool,
) -> Transcription:
    value = job.value
    latex = getattr(value, "latex", None)
    display = layout_display if layout_display is not None else getattr(value, "display", None)
    check = check_latex(latex, display=bool(display)) if latex else None
    valid = bool(check and check.valid) and job.done
    if check is not None and not check.valid:
        errors = list(check.errors)
    elif not job.done:
        errors = list(job.attempts[-1].errors) if job.attempts else ["no answer"]
    else:
        errors = []
    # Attempts that agree on the same LaTeX raise confidence; an invalid answer has none.
    texts = [a.text for a in job.attempts if a.text]
    agreement = texts.count(texts[-1]) / len(texts) if texts else 0.0
    return Transcription(
        latex=latex,
        display=display,
        valid=valid,
        errors=errors,
        confidence=round(agreement if valid else 0.0, 3),
        page=page.index,
        box=list(region.bbox.as_tuple()) if region is not None else None,
        attempts=len(job.attempts),
        prompt_tokens=sum(a.prompt_tokens for a in job.attempts),
        completion_tokens=sum(a.completion_tokens for a in job.attempts),
        seconds=round(seconds, 4),
        mathml=to_mathml(latex, display=bool(display)) if mathml and latex and valid else None,
        raw=texts,
    )
