"""Batch extraction: many documents in, one JSON line (or Parquet row) per document out.

``run_batch(inputs, schema, out)`` (``docintel batch``) streams its inputs (files, folders,
globs, ``@list.txt`` files of paths or URLs) through ``extract_many`` in engine-sized batches:

- **Every core works.** A process pool reads each input, hashes it and prepares its pages
  (orientation and deskew, OCR words on scans, the page images the model reads). With the CPU
  engine (deterministic, no model) each worker runs the whole extraction; with a model engine
  the workers hand prepared documents to this process, which runs the engine and never waits
  for a page to render. A ``Document`` holds an open PDF and does not pickle: what crosses the
  process boundary is a ``Prepared`` (bytes, words, corrections, images).
- **Bounded memory.** Inputs are listed lazily and a few batches at most are in flight; what
  grows with the number of inputs is the set of documents done (one key, about 100 bytes each).
- **One line per document**, ok or failed, in completion order: ``Result.to_dict()`` plus
  ``input``, ``schema_key`` and ``error`` (why it failed; null when ok). The same content
  under a second name is extracted once (the line names the first input).
- **Resumable.** A document is known by its content (SHA-256) and the schema (its name and a
  digest of its JSON schema, ``watch.schema_key``): a rerun skips what the output holds,
  failures too unless ``retry_failed``. JSON lines are appended and flushed one by one, so a
  killed run loses only the documents in flight; a torn last line is cut off on the next run.
  Parquet goes to a folder of part files, each written whole (temporary name, then renamed).

``docintel.jobs.distributed`` runs the same stages on Ray Data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from docintel.backoff import backoff
from docintel.errors import (
    EngineUnavailable,
    InputError,
    MissingDependency,
    OutputConflict,
)
from docintel.jobs.batch.inputs import iter_inputs
from docintel.jobs.batch.records import (
    Format,
    JsonlSink,
    Line,
    ParquetSink,
    Sink,
    encode,
    failed_record,
    record,
    scan_jsonl,
    scan_parts,
)
from docintel.settings import Settings, available_cores, get_settings

if TYPE_CHECKING:
    from PIL import Image

    from docintel.document import Document, Word
    from docintel.engines.base import Engine
    from docintel.render.preprocess import Correction

log = logging.getLogger("docintel.jobs.batch")

FORMATS: tuple[Format, ...] = ("jsonl", "parquet")

# Parquet needs one type per column, whatever the schema and the outcome. These columns are
# typed; every other field of a result line (the value, partial values, provenance, attempts:
# shaped by the schema, or by the document) is stored as JSON text.
_ENGINE_TRIES = 3  # a model engine that raises (server down): tries per batch, with backoff
_ENGINE_BACKOFF = 2.0  # seconds before the second try, doubled after


def require(module: str, extra: str, feature: str) -> None:
    """Raise ``MissingDependency`` naming the pip extra when ``module`` is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(
            f"{feature} needs {module}, which is not installed: pip install 'docintel[{extra}]'"
        )


# ---- progress -----------------------------------------------------------------------------
@dataclass
class BatchStats:
    """What a batch run did; the progress callback gets it after every batch."""

    documents: int = 0  # lines written by this run (ok and failed)
    failed: int = 0  # of documents
    pages: int = 0  # pages of the documents written
    skipped: int = 0  # already in the output (done, or failed and not retried)
    duplicates: int = 0  # the same content as another input of this run
    total: int | None = None  # inputs listed; None until counted (or not countable)
    engine: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def inputs(self) -> int:
        """Inputs handled so far, whatever became of them."""
        return self.documents + self.skipped + self.duplicates

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def documents_per_second(self) -> float:
        return self.documents / max(1e-9, self.seconds)

    @property
    def pages_per_second(self) -> float:
        return self.pages / max(1e-9, self.seconds)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, once the inputs are counted."""
        if self.total is None or not self.documents:
            return None
        return max(0, self.total - self.inputs) / self.documents_per_second


# ---- what crosses the process boundary ----------------------------------------------------
@dataclass
class PreparedPage:
    """What a worker computed for one page, so the engine's process need not."""

    correction: Correction | None  # orientation and deskew (scans and photos)
    ocr_words: list[Word] | None  # OCR words, for pages without a text layer
    image: Image.Image | None  # the page at ``target_longest_side``, for engines that read pixels


@dataclass
class Prepared:
    """A loaded document in picklable form: bytes plus its pages' costly results."""

    input: str
    name: str | None
    sha256: str
    data: bytes
    pages: list[PreparedPage]


def read_input(source: str, settings: Settings) -> tuple[bytes, str | None]:
    """An input's bytes and file name (paths, http(s) and data: URLs, as ``load`` reads them)."""
    from docintel.ingest.load import _read

    return _read(source, settings)


def prepare(
    source: str,
    settings: Settings,
    *,
    render: bool = True,
    data: bytes | None = None,
    name: str | None = None,
) -> Prepared:
    """Load ``source`` (or ``data``) and do a document's CPU work: correction and OCR words of
    pages without a text layer, and with ``render`` the page images a model reads.
    Input problems raise their ``InputError``."""
    from docintel.document import PageKind
    from docintel.ingest.load import from_bytes

    if data is None:
        data, name = read_input(source, settings)
    with from_bytes(data, name=name, settings=settings) as doc:
        pages = []
        for page in doc:
            words = None
            if not page.words and page.kind != PageKind.DIGITAL:
                try:
                    words = page.ocr_words
                except EngineUnavailable:  # OCR not installed: grounding goes without words
                    words = None
            pages.append(
                PreparedPage(
                    page.correction if page.preprocessed else None,
                    words,
                    page.image() if render else None,
                )
            )
        return Prepared(source, doc.name, doc.sha256, data, pages)


def restore(prepared: Prepared, settings: Settings) -> Document:
    """The ``Document`` back from a ``Prepared``, its pages' work already done."""
    from docintel.ingest.load import from_bytes

    doc = from_bytes(prepared.data, name=prepared.name, settings=settings)
    side = settings.target_longest_side
    for page, done in zip(doc.pages, prepared.pages, strict=True):
        if page.preprocessed:  # cached properties: set as if computed here
            page.__dict__["correction"] = done.correction
        if done.ocr_words is not None:
            page.__dict__["ocr_words"] = done.ocr_words
        if done.image is not None:
            doc.keep_image(page.index, side, done.image)
    return doc


# ---- the work, in whichever process runs it -----------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What every worker needs to know, sent once per worker."""

    schema: str | type[BaseModel]  # a spec string is resolved in the worker (user files too)
    schema_key: str
    settings: Settings
    format: Format
    extract: bool  # run the whole extraction in the worker (the CPU engine)
    engine: str | None
    skip: frozenset[str]  # keys the output held when the run started

    def resolve(self) -> type[BaseModel]:
        if isinstance(self.schema, str):
            from docintel.pipeline.schema_ref import resolve_schema

            return resolve_schema(self.schema)
        return self.schema

    def failed(
        self,
        schema: type[BaseModel],
        source: str,
        exc: BaseException,
        sha: str | None = None,
        name: str | None = None,
    ) -> Line:
        """The output line of an input that failed (keyed by its content, else its name)."""
        rec = failed_record(source, schema, self.schema_key, exc, sha, name)
        return Line(sha or f"input:{source}", "failed", 0, encode(rec, self.format))


def _read_batch(
    plan: Plan, schema: type[BaseModel], inputs: Sequence[str]
) -> Iterator[tuple[str, bytes, str | None, str] | Line]:
    """Each input read and hashed, or its line (skipped, or failed to read)."""
    import hashlib

    for source in inputs:
        unread = f"input:{source}"
        if unread in plan.skip:  # it failed to be read before, and failures are not retried
            yield Line(unread, "skipped", 0, None)
            continue
        try:
            data, name = read_input(source, plan.settings)
        except Exception as exc:
            yield plan.failed(schema, source, exc)
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in plan.skip:
            yield Line(sha, "skipped", 0, None)
        else:
            yield source, data, name, sha


def _extract_loaded(
    plan: Plan,
    schema: type[BaseModel],
    engine: str | Engine | None,
    loaded: Sequence[tuple[str, str, Document]],
) -> list[Line]:
    """Extract a batch of loaded documents (input, sha256, document) into their lines."""
    from docintel.pipeline.extract import extract_many

    docs = [doc for _, _, doc in loaded]
    try:
        results = extract_many(docs, schema, engine=engine, settings=plan.settings)
    except InputError as exc:  # one document's own problem, raised inside the batch
        if len(loaded) > 1:  # find out whose: each document on its own
            return [
                line for item in loaded for line in _extract_loaded(plan, schema, engine, [item])
            ]
        source, sha, doc = loaded[0]
        return [plan.failed(schema, source, exc, sha, doc.name)]
    lines = []
    for (source, sha, _), result in zip(loaded, results, strict=True):
        rec = record(source, result, plan.schema_key, sha)
        status: Literal["ok", "failed"] = "ok" if result.ok else "failed"
        lines.append(Line(sha, status, len(result.pages), encode(rec, plan.format)))
    return lines


def _extract_inputs(plan: Plan, inputs: Sequence[str]) -> list[Line]:
    """Read, load and extract: the whole path, for the CPU engine."""
    from docintel.ingest.load import from_bytes

    schema = plan.resolve()
    lines: list[Line] = []
    loaded: list[tuple[str, str, Document]] = []
    try:
        for item in _read_batch(plan, schema, inputs):
            if isinstance(item, Line):
                lines.append(item)
                continue
            source, data, name, sha = item
            try:
                loaded.append((source, sha, from_bytes(data, name=name, settings=plan.settings)))
            except Exception as exc:
                lines.append(plan.failed(schema, source, exc, sha, name))
        if loaded:
            lines += _extract_loaded(plan, schema, plan.engine, loaded)
    finally:
        for _, _, doc in loaded:
            doc.close()
    return lines


def _prepare_inputs(plan: Plan, inputs: Sequence[str]) -> list[Prepared | Line]:
    """Read, load and prepare, for the engine in the main process."""
    schema = plan.resolve()
    out: list[Prepared | Line] = []
    for item in _read_batch(plan, schema, inputs):
        if isinstance(item, Line):
            out.append(item)
            continue
        source, data, name, sha = item
        try:
            out.append(prepare(source, plan.settings, data=data, name=name))
        except Exception as exc:
            out.append(plan.failed(schema, source, exc, sha, name))
    return out


_worker_plan: Plan | None = None  # set in each pool worker by _init_worker


def _init_worker(plan: Plan) -> None:
    import signal

    from docintel.pages import ocr

    global _worker_plan
    _worker_plan = plan
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    ocr.set_concurrency(1)  # the pool already puts one worker on each core


def _worker_task(inputs: list[str]) -> list[Prepared | Line]:
    assert _worker_plan is not None, "not a batch worker"
    if _worker_plan.extract:
        return list[Prepared | Line](_extract_inputs(_worker_plan, inputs))
    return _prepare_inputs(_worker_plan, inputs)


# ---- the run ------------------------------------------------------------------------------
def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _count(specs: Sequence[str], from_file: str | Path | None, stats: BatchStats) -> None:
    """List the inputs a second time, only to count them, for the total and the ETA."""
    try:
        stats.total = sum(1 for _ in iter_inputs(specs, from_file))
    except Exception:  # the run itself reports what is wrong with the inputs
        log.debug("counting the inputs failed", exc_info=True)


def run_batch(
    inputs: Iterable[str] | str,
    schema: str | type[BaseModel],
    out: str | Path,
    *,
    format: Format = "jsonl",
    engine: str | Engine | None = None,
    batch_size: int = 8,
    workers: int | None = None,
    retry_failed: bool = False,
    from_file: str | Path | None = None,
    settings: Settings | None = None,
    progress: Callable[[BatchStats], None] | None = None,
) -> BatchStats:
    """Extract ``schema`` from every input into ``out``, one line (or row) per document.

    ``inputs``: files, folders, globs, ``@list.txt`` and URLs (see ``iter_inputs``); a list
    is counted first in the background (for the ETA), an iterator is consumed once.
    ``format``: ``"jsonl"`` (``out`` is a file) or ``"parquet"`` (``out`` is a folder of part
    files). ``engine``: a name or an ``Engine`` (default: ``settings.engine``). ``workers``:
    preprocessing processes (default: one per core; 0 runs everything in this process).
    ``batch_size``: documents per ``extract_many`` call. ``retry_failed``: extract again the
    documents the output holds as failed. ``progress`` gets the stats after every batch.

    Raises ``OutputConflict`` when ``out`` holds another schema's results; one document's
    problem never raises: it is a failed line.
    """
    from docintel.engines import get_engine
    from docintel.jobs.watch import schema_key

    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}: use {' or '.join(FORMATS)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if format == "parquet":
        require("pyarrow", "parquet", "--format parquet")
    settings = settings or get_settings()
    cls, key = schema_key(schema)
    out = Path(out)
    # What the output holds first: a conflict fails at once, before a model loads.
    if format == "jsonl":
        if out.is_dir():
            raise OutputConflict(f"{out} is a folder: JSON lines go to a file (--out FILE.jsonl)")
        done = scan_jsonl(out, key, drop_failed=retry_failed)
    else:
        if out.is_file():
            raise OutputConflict(f"{out} is a file: Parquet parts go to a folder (--out DIR)")
        done = scan_parts(str(out), key, format, drop_failed=retry_failed)

    loaded = get_engine(engine, settings)  # resolves "auto"; loads a model here, once
    sink: Sink = JsonlSink(out) if format == "jsonl" else ParquetSink(out)
    # The CPU engine is cheap and deterministic: workers run it end to end. A model stays in
    # this process, fed documents the workers prepared.
    in_workers = loaded.name == "cpu" and (engine is None or isinstance(engine, str))
    plan = Plan(
        schema if isinstance(schema, str) else cls,
        key,
        settings,
        format,
        in_workers,
        "cpu" if in_workers else None,
        frozenset(done),
    )
    stats = BatchStats(engine=loaded.name)
    if isinstance(inputs, str):
        inputs = [inputs]
    if isinstance(inputs, Sequence):
        threading.Thread(
            target=_count, args=(list(inputs), from_file, stats), daemon=True, name="count"
        ).start()
    stream = iter_inputs(inputs, from_file)

    def take(lines: Iterable[Line]) -> None:
        for line in lines:
            if line.status == "skipped":
                stats.skipped += 1
            elif line.status == "duplicate" or line.key in done:
                stats.duplicates += 1
            else:
                assert line.payload is not None
                sink.write(line.payload)
                done.add(line.key)
                stats.documents += 1
                stats.pages += line.pages
                stats.failed += line.status == "failed"
        if progress is not None:
            progress(stats)

    def finish(items: list[Prepared | Line]) -> list[Line]:
        """Prepared documents through the engine, in this process."""
        return run_prepared(plan, cls, loaded, items, done)

    workers = available_cores() if workers is None else workers
    try:
        if workers <= 0:
            for batch in _batched(stream, batch_size):
                if in_workers:
                    take(_extract_inputs(plan, batch))
                else:
                    take(finish(list(_prepare_inputs(plan, batch))))
        else:
            _pool_loop(plan, cls, workers, _batched(stream, batch_size), take, finish)
    finally:
        sink.close()
        stats.finished = time.monotonic()
    if progress is not None:
        progress(stats)
    return stats


def run_prepared(
    plan: Plan,
    schema: type[BaseModel],
    engine: Engine,
    items: list[Prepared | Line],
    done: set[str],
) -> list[Line]:
    """The engine stage, in the process that holds the engine: prepared documents restored
    (those whose content is in ``done`` are duplicates) and extracted as one batch; lines
    already made (failures, skips) pass through. An engine that raises is tried again with
    backoff; after ``_ENGINE_TRIES`` the batch's documents are failed lines."""
    lines = [item for item in items if isinstance(item, Line)]
    loaded: list[tuple[str, str, Document]] = []
    try:
        for item in items:
            if isinstance(item, Line):
                continue
            if item.sha256 in done:  # the same content as an input already written
                lines.append(Line(item.sha256, "duplicate", 0, None))
                continue
            try:
                loaded.append((item.input, item.sha256, restore(item, plan.settings)))
            except Exception as exc:
                lines.append(plan.failed(schema, item.input, exc, item.sha256, item.name))
        if not loaded:
            return lines
        for attempt in range(_ENGINE_TRIES):
            try:
                return lines + _extract_loaded(plan, schema, engine, loaded)
            except Exception as exc:  # the engine raised (a server down): wait, try again
                if attempt + 1 == _ENGINE_TRIES:
                    for source, sha, doc in loaded:
                        lines.append(plan.failed(schema, source, exc, sha, doc.name))
                    return lines
                delay = backoff(attempt, _ENGINE_BACKOFF)
                log.warning(
                    "engine failed (%s: %s); trying again in %.0f s", type(exc).__name__, exc, delay
                )
                time.sleep(delay)
        return lines
    finally:
        for _, _, doc in loaded:
            doc.close()


def _pool_loop(
    plan: Plan,
    schema: type[BaseModel],
    workers: int,
    batches: Iterator[list[str]],
    take: Callable[[Iterable[Line]], None],
    finish: Callable[[list[Prepared | Line]], list[Line]],
) -> None:
    """Keep ``workers`` processes busy with a few batches queued ahead; a worker that dies
    (a crash in a native library, the OOM killer) takes its batch-mates' work with it: those
    run again one at a time, and the input that kills a worker alone gets a failed line."""
    import multiprocessing

    # spawn, not fork: this process has threads (the counter, the progress display), and a
    # forked child inherits their locks in whatever state they were in.
    context = multiprocessing.get_context("spawn")

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(plan,)
        )

    pool = new_pool()
    ahead = workers + 2  # batches queued: the engine finds the next one prepared
    pending: dict[Future[list[Prepared | Line]], list[str]] = {}
    suspects: deque[list[str]] = deque()
    alone = False  # the one pending batch is a suspect, run by itself
    try:
        while True:
            if suspects:
                if not pending:
                    batch = suspects.popleft()
                    pending[pool.submit(_worker_task, batch)] = batch
                    alone = True
            else:
                while len(pending) < ahead:
                    batch = next(batches, None)
                    if batch is None:
                        break
                    pending[pool.submit(_worker_task, batch)] = batch
                    alone = False
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            crashed: list[list[str]] = []
            for future in finished:
                batch = pending.pop(future)
                try:
                    items = future.result()
                except BrokenProcessPool:
                    crashed.append(batch)
                    continue
                except Exception as exc:  # a bug, or a result that would not pickle
                    take(_failed_batch(plan, schema, batch, exc))
                    continue
                take(finish(items) if not plan.extract else items)  # type: ignore[arg-type]
            if crashed:
                crashed += pending.values()  # the pool is gone: what it held died with it
                pending.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
                if alone and len(crashed) == 1 and len(crashed[0]) == 1:
                    error = RuntimeError("the worker process died on this input (crash or OOM)")
                    take(_failed_batch(plan, schema, crashed[0], error, "WorkerCrashed"))
                else:
                    suspects.extend([source] for batch in crashed for source in batch)
                alone = False
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _failed_batch(
    plan: Plan,
    schema: type[BaseModel],
    batch: Sequence[str],
    exc: BaseException,
    kind: str | None = None,
) -> list[Line]:
    lines = []
    for source in batch:
        rec = failed_record(source, schema, plan.schema_key, exc)
        if kind:
            rec["errors"] = [f"{kind}: {exc}"]
            rec["error"] = rec["errors"][0]
        lines.append(Line(f"input:{source}", "failed", 0, encode(rec, plan.format)))
    return lines
