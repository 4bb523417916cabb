"""The public extraction API: ``extract``, ``extract_many`` and ``extract_regions``.

Documents become jobs (whole-document requests, split by a page and token budget, or one
request per region), every job of every document runs through one batched retry loop, and the
parts of a split document are merged back into one value.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from docintel.checks.grounding import _page_words, grounding_check, locate, must_ground
from docintel.checks.semantic import salvage, semantic_errors
from docintel.document import Document, Page, PageImages, RegionKind
from docintel.engines import Engine, get_engine
from docintel.errors import DocintelError, EmptyDocument
from docintel.ingest.budget import admit, admit_regions
from docintel.ingest.load import Source, load
from docintel.pipeline.retry import ExtraCheck, Job, RetryPolicy, run
from docintel.result import Result
from docintel.settings import Settings, get_settings

T = TypeVar("T", bound=BaseModel)


def extract(
    source: Source | Document,
    schema: type[T],
    *,
    engine: str | Engine | None = None,
    pages: Sequence[int] | None = None,
    max_attempts: int | None = None,
    password: str | None = None,
    checks: Sequence[ExtraCheck] = (),
    settings: Settings | None = None,
    raise_on_failure: bool = True,
    provenance: bool = True,
) -> Result[T]:
    """Extract ``schema`` from one document.

    ``pages`` are 0-based page indices (default: all). ``provenance=False`` skips locating
    values in the page's words (OCR on scans), for values never printed as such (LaTeX).
    When every attempt fails, raises
    ``ExtractionFailed`` carrying the result (last candidate, every attempt and error), or,
    with ``raise_on_failure=False``, returns that result with ``ok=False``.
    Input problems (corrupt, encrypted, too large...) raise their ``DocintelError``.
    """
    settings = settings or get_settings()
    start = time.perf_counter()
    doc = load(source, password=password, settings=settings)
    loaded = time.perf_counter() - start
    with _closing_unless(doc, source):
        admit(doc, pages, settings)
        (result,) = _extract_docs(
            [doc], schema, engine, pages, max_attempts, checks, settings, provenance
        )
    result.timings = {"load": loaded, **result.timings}
    return result.raise_for_failure() if raise_on_failure else result


def extract_many(
    sources: Iterable[Source | Document],
    schema: type[T],
    *,
    engine: str | Engine | None = None,
    pages: Sequence[int] | None = None,
    max_attempts: int | None = None,
    checks: Sequence[ExtraCheck] = (),
    settings: Settings | None = None,
) -> list[Result[T]]:
    """Extract ``schema`` from many documents, batching their requests together.

    Never raises for one document: a document that cannot be loaded or whose attempts run
    out gives a result with ``ok=False`` and its errors, in the same position as its source.
    """
    settings = settings or get_settings()
    docs: list[Document | Result[T]] = []
    load_seconds: list[float] = []
    opened: list[Document] = []  # loaded here, so closed here
    for source in sources:
        start = time.perf_counter()
        try:
            doc = load(source, settings=settings)
            if doc is not source:
                opened.append(doc)
            admit(doc, pages, settings)
            docs.append(doc)
            load_seconds.append(time.perf_counter() - start)
        except DocintelError as exc:
            name = source if isinstance(source, str) and len(source) < 300 else None
            docs.append(
                Result(
                    schema,
                    None,
                    False,
                    errors=[f"{type(exc).__name__}: {exc}"],
                    source=name,
                    timings={"load": time.perf_counter() - start},
                )
            )
    loaded = [d for d in docs if isinstance(d, Document)]
    try:
        results = _extract_docs(loaded, schema, engine, pages, max_attempts, checks, settings)
    finally:
        for doc in opened:
            doc.close()
    for result, seconds in zip(results, load_seconds, strict=True):
        result.timings = {"load": seconds, **result.timings}
    done = iter(results)
    return [next(done) if isinstance(d, Document) else d for d in docs]


def extract_regions(
    source: Source | Document,
    schema: type[T],
    kind: RegionKind | str,
    *,
    engine: str | Engine | None = None,
    pages: Sequence[int] | None = None,
    max_attempts: int | None = None,
    password: str | None = None,
    longest_side: int = 1024,
    settings: Settings | None = None,
) -> list[Result[T]]:
    """Extract ``schema`` from every region of ``kind`` (e.g. every formula), one request each.

    Each region is cropped and rendered at ``longest_side`` px, sharper than in the full
    page. Results come in reading order with ``result.region`` set; failures have ``ok=False``.
    """
    settings = settings or get_settings()
    start = time.perf_counter()
    doc = load(source, password=password, settings=settings)
    loaded = time.perf_counter() - start
    jobs: list[Job] = []
    meta: list[tuple[Page, Any]] = []
    with _closing_unless(doc, source):
        admit(doc, pages, settings)
        chosen = _pages(doc, pages)
        found = [(page, region) for page in chosen for region in page.regions_of(kind)]
        admit_regions(len(found), settings)
        for page, region in found:
            crop = page.crop(region, longest_side=longest_side)
            jobs.append(Job(schema, [crop], pages=[page], region=region))
            meta.append((page, region))
        rendered = time.perf_counter() - start - loaded
        engine_ = get_engine(engine, settings)
        spent = run(jobs, engine_, _policy(settings, max_attempts))
    share = spent / max(1, len(jobs))
    return [
        Result(
            schema,
            job.value,
            job.done,
            attempts=job.attempts,  # type: ignore[arg-type]
            errors=job.attempts[-1].errors if job.attempts else [],
            engine=engine_.name,
            model=engine_.model,
            document=doc.sha256,
            source=doc.name,
            pages=[page.index],
            region=region,
            timings={"load": loaded / len(jobs), "render": rendered / len(jobs), "generate": share},
        )
        for job, (page, region) in zip(jobs, meta, strict=True)
    ]


# ---- internals --------------------------------------------------------------------------------


def _closing_unless(doc: Document, source: object) -> contextlib.AbstractContextManager[Any]:
    """Close ``doc`` at the end when it was loaded here (a caller's Document stays open)."""
    return contextlib.nullcontext() if doc is source else contextlib.closing(doc)


def _policy(settings: Settings, max_attempts: int | None) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=max_attempts or settings.max_attempts,
        max_tokens=settings.max_tokens,
        max_tokens_cap=settings.max_tokens_cap,
    )


def _pages(doc: Document, pages: Sequence[int] | None) -> list[Page]:
    if pages is None:
        return list(doc)
    if not pages:
        raise EmptyDocument("no pages selected (pages is empty): pass None for every page")
    bad = [p for p in pages if not 0 <= p < len(doc)]
    if bad:
        raise IndexError(f"pages {bad} are outside this {len(doc)}-page document (0-based)")
    return [doc[p] for p in pages]


def _split(pages: list[Page], settings: Settings) -> list[list[Page]]:
    """Consecutive pages per request, within the page and image-token budgets."""
    parts: list[list[Page]] = []
    tokens = 0
    for page in pages:
        cost = page.tokens()
        if parts and (
            len(parts[-1]) < settings.pages_per_request
            and tokens + cost <= settings.image_tokens_per_request
        ):
            parts[-1].append(page)
            tokens += cost
        else:
            parts.append([page])
            tokens = cost
    return parts


def _extract_docs(
    docs: list[Document],
    schema: type[T],
    engine: str | Engine | None,
    pages: Sequence[int] | None,
    max_attempts: int | None,
    checks: Sequence[ExtraCheck],
    settings: Settings,
    provenance: bool = True,
) -> list[Result[T]]:
    if not docs:
        return []
    engine_ = get_engine(engine, settings)
    plans: list[tuple[Document, list[list[Page]], list[Job], float]] = []
    for doc in docs:
        start = time.perf_counter()
        parts = _split(_pages(doc, pages), settings)
        jobs = [
            Job(
                schema,
                PageImages(part),
                (i + 1, len(parts)) if len(parts) > 1 else None,
                [*checks, *_grounding(doc, part, schema)],
                pages=part,
            )
            for i, part in enumerate(parts)
        ]
        plans.append((doc, parts, jobs, time.perf_counter() - start))
    all_jobs = [job for _, _, jobs, _ in plans for job in jobs]
    spent = run(all_jobs, engine_, _policy(settings, max_attempts))
    results = []
    for doc, parts, jobs, rendered in plans:
        result = _combine(schema, jobs)
        result.engine, result.model = engine_.name, engine_.model
        result.document, result.source = doc.sha256, doc.name
        result.pages = [p.index for part in parts for p in part]
        if result.value is not None and provenance:
            earlier = _candidates(schema, jobs) if len(jobs) == 1 else []
            result.provenance = locate(result.value, doc, result.pages, attempts_values=earlier)
        elif result.partial and provenance:  # what was filled of a value that did not validate
            result.provenance = locate(result.partial, doc, result.pages)  # type: ignore[arg-type]
        result.timings = {
            "render": rendered,
            "generate": spent * len(jobs) / len(all_jobs),  # the batch's time, shared out
        }
        results.append(result)
    return results


def _grounding(doc: Document, pages: list[Page], schema: type[BaseModel]) -> list[ExtraCheck]:
    """The must-ground check for a request, when its pages have words to ground in.

    Scans are searched through their OCR words; where there are none (OCR not installed, a
    blank page), values are flagged (provenance says "model") rather than rejected.
    """
    if not must_ground(schema) or not any(_page_words(p)[0] for p in pages):
        return []
    return [grounding_check(doc, [p.index for p in pages])]


def _candidates(schema: type[BaseModel], jobs: list[Job]) -> list[BaseModel]:
    """Earlier attempts that parsed: their agreement with the final value feeds confidence."""
    values = []
    for attempt in jobs[0].attempts[:-1]:
        with contextlib.suppress(ValidationError):
            values.append(schema.model_validate_json(attempt.text))
    return values


def _combine(schema: type[T], jobs: list[Job]) -> Result[T]:
    """One result from a document's jobs: a single job as is, several parts merged.

    A part that did not validate on its own (no invoice number on page 9) still gives what it
    filled: the parts' values are merged first and the merged value is what is checked.
    """
    attempts = [a for job in jobs for a in job.attempts]
    failed = [job for job in jobs if not job.done]
    if len(jobs) == 1:
        job = jobs[0]
        if job.done:
            return Result(schema, job.value, True, attempts=attempts)  # type: ignore[arg-type]
        errors = job.attempts[-1].errors if job.attempts else []
        partial = job.partial if job.value is None else None
        missing = job.missing if job.value is None else []
        return Result(
            schema,
            job.value,  # type: ignore[arg-type]
            False,
            attempts=attempts,
            errors=list(errors),
            partial=partial,
            missing=list(missing),
        )
    merged: dict[str, Any] = {}
    for job in jobs:
        part = job.value.model_dump() if job.value is not None else job.partial
        if part is not None:
            merged = _merge(merged, part)
    part_errors = [e for job in failed for e in (job.attempts[-1].errors if job.attempts else [])]
    if not merged:
        return Result(schema, None, False, attempts=attempts, errors=part_errors)
    try:
        value = schema.model_validate(merged)
    except ValidationError as exc:
        errors = [f"merging the parts: {e['msg']} at {e['loc']}" for e in exc.errors()]
        partial, missing = salvage(merged, schema)
        return Result(
            schema,
            None,
            False,
            attempts=attempts,
            errors=errors,
            partial=partial,
            missing=missing,
        )
    errors = semantic_errors(value)
    # a part that failed for another reason than what the merge supplies keeps the result failed
    errors += [e for e in part_errors if e.startswith("engine error")]
    return Result(schema, value, not errors, attempts=attempts, errors=errors)


def _merge(a: Any, b: Any) -> Any:
    """Parts of one document: lists concatenate, objects merge, first non-null value wins."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) if k in a else b[k] for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    return b if a is None or a == [] else a
