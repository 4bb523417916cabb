"""The batch folder watcher: files dropped in an inbox come out as JSON, each exactly once.

Intake (``intake.py``) hands over a file only once its size and mtime have settled; the
watcher enqueues that file version in the store (a no-op when it is known). Workers claim
jobs in batches and run them through ``extract_many`` (one engine batch); each job then ends
in this order: result saved, JSON written atomically, job closed, input moved. A crash
anywhere in between is repaired on restart: a job whose lease ran out runs again (reusing
the saved result), and a closed job whose input is still in the inbox just gets its input
moved.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from docintel.backoff import backoff
from docintel.document import Document
from docintel.engines import Engine, get_engine
from docintel.engines.base import capabilities
from docintel.engines.batching import MicroBatcher
from docintel.errors import (
    DocintelError,
    InputError,
    InputNotFound,
    InputTooLarge,
    OutOfMemory,
    StoreUnavailable,
)
from docintel.ingest.budget import admit
from docintel.ingest.load import load
from docintel.jobs.store import JobRow, Store
from docintel.jobs.watch.files import (
    fitted,
    open_for_writing,
    store_name,
    write_json,
    written_by_other_version,
)
from docintel.jobs.watch.health import Health
from docintel.jobs.watch.intake import Intake
from docintel.pipeline.extract import extract_many
from docintel.pipeline.schema_ref import resolve_schema
from docintel.result import Result
from docintel.settings import Settings, get_settings

log = logging.getLogger("docintel.jobs.watch")

OUTAGE_WAIT_CAP = 30.0  # seconds: the longest wait between tries while the store or disk is down


def schema_key(schema: str | type[BaseModel]) -> tuple[type[BaseModel], str]:
    """The class and its store name: name plus a digest of its JSON schema, so that results
    made with an older version of an edited schema are not reused."""
    cls = resolve_schema(schema) if isinstance(schema, str) else schema
    label = schema if isinstance(schema, str) else f"{cls.__module__}:{cls.__qualname__}"
    digest = hashlib.sha256(json.dumps(cls.model_json_schema(), sort_keys=True).encode())
    return cls, f"{label}@{digest.hexdigest()[:12]}"


@dataclass
class WatchStats:
    """What this watcher did since it started."""

    queued: int = 0
    done: int = 0
    reused: int = 0  # of done: same content seen before, stored result reused
    failed: int = 0
    retried: int = 0
    in_flight: int = 0
    trouble: str = ""  # what is failing now (the store, the output folder), for the progress line
    started: float = field(default_factory=time.time)

    @property
    def files_per_second(self) -> float:
        return (self.done + self.failed) / max(1e-9, time.time() - self.started)


class Watcher:
    """Watch ``inbox`` and extract ``schema`` from every file dropped there into ``out``.

    Results go to ``out/<name>.json``; a file that cannot be extracted gets
    ``out/<name>.error.json``. A later version of a file under the same name (other content)
    gets ``out/<name>.<sha256[:8]>.json`` and leaves the first version's result alone; a
    version that succeeds clears the error file of an earlier one. Names too long for the
    file system are cut and tagged with a digest (``fitted``). Inputs move to
    ``inbox/processed/`` or ``inbox/failed/`` (``after="leave"`` keeps them in place). The
    store (default ``out/.docintel.db``) holds every job and result; several watchers on
    several machines can share a PostgreSQL store and an inbox (give them the same ``queue``
    name when the inbox is mounted at other paths).
    """

    def __init__(
        self,
        inbox: str | Path,
        schema: str | type[BaseModel],
        out: str | Path,
        *,
        store: Store | str | Path | None = None,
        engine: str | Engine | None = None,
        settings: Settings | None = None,
        workers: int = 1,
        batch_size: int = 8,
        settle: float = 1.0,
        lease: float = 60.0,
        after: Literal["move", "leave"] = "move",
        retry_limit: int = 8,
        backoff: float = 2.0,
        backoff_cap: float = 300.0,
        rescan: float = 30.0,
        drain: float = 30.0,
        poll: float = 0.2,
        queue: str | None = None,
        store_wait: float = 300.0,
    ) -> None:
        self.inbox = Path(inbox).expanduser().resolve()
        if not self.inbox.is_dir():
            raise InputNotFound(f"inbox {inbox} is not a directory: create it, or fix the path.")
        self.schema, self.schema_name = schema_key(schema)
        self.out = Path(out).expanduser().resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.store = (
            store
            if isinstance(store, Store)
            else _open_store(store or self.out / ".docintel.db", store_wait)
        )
        self.settings = settings or get_settings()
        self.workers, self.batch_size = max(1, workers), max(1, batch_size)
        self.settle, self.lease, self.after = settle, lease, after
        self.retry_limit, self.backoff, self.backoff_cap = retry_limit, backoff, backoff_cap
        self.rescan, self.drain, self.poll = rescan, drain, poll
        self.store_wait = store_wait  # --once: how long the store may be down before we give up
        self.queue = queue or str(self.inbox)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = WatchStats()
        self._skip = {self.inbox / "processed", self.inbox / "failed", self.out}
        self._engine_spec = engine
        self._engine: Engine | None = None
        self._known: set[tuple[str, int, int]] = set()
        self._in_flight: set[int] = set()
        self._stop = threading.Event()  # no more intake, no more claims
        self._abort = threading.Event()  # stop waiting for in-flight jobs
        self._threads: list[threading.Thread] = []
        self.health = Health()
        self.intake = Intake(
            self.inbox,
            self._skip,
            self._take,
            self.health,
            self._stop,
            settle=settle,
            poll=poll,
            rescan=rescan,
        )

    # ---- running ----

    def run(
        self,
        *,
        until_idle: bool = False,
        progress: Callable[[WatchStats], None] | None = None,
        handle_signals: bool = True,
    ) -> WatchStats:
        """Watch until stopped (``stop()``, SIGINT or SIGTERM), or until nothing is left to do.

        On the first signal no new job is claimed and in-flight jobs get ``drain`` seconds to
        finish; a second signal, or the end of that time, puts them back in the queue.
        """
        for event in (self._stop, self._abort, self.intake.scanned):  # a watcher can run again
            event.clear()
        restore = self._install_signals() if handle_signals else {}
        self.stats = WatchStats()
        targets = [self.intake.run, *[self._work] * self.workers, self._heartbeat]
        threads = self._threads = [threading.Thread(target=t, daemon=True) for t in targets]
        for t in threads:
            t.start()
        self._sweep()
        gave_up: StoreUnavailable | None = None
        try:
            while not self._stop.wait(0.25):
                self.stats.in_flight = len(self._in_flight)
                self.stats.trouble = self.health.summary()
                if progress:
                    progress(self.stats)
                if until_idle and self._idle():
                    self._stop.set()
                down = self.health.down_for("store")
                if until_idle and down > self.store_wait:
                    gave_up = StoreUnavailable(
                        f"the job store {self.store.url.split('@')[-1]} has been unreachable for "
                        f"{down:.0f} s (last error: {self.health.last('store')}); nothing was "
                        "lost: start the database and run again"
                    )
                    self._stop.set()
                    self._abort.set()
            deadline = time.monotonic() + self.drain
            for t in threads[1:-1]:
                while t.is_alive() and time.monotonic() < deadline and not self._abort.is_set():
                    t.join(0.1)
        finally:
            self._stop.set()
            left = list(self._in_flight)
            if left:  # not finished in time: back to the queue, not counted as an attempt
                try:
                    released = self.store.release(self.owner, left, count=False)
                    log.warning("released %d unfinished job(s) back to the queue", released)
                except Exception as exc:  # their leases run out and they come back then
                    log.warning("cannot release %d unfinished job(s): %s", len(left), exc)
            for t in (threads[0], threads[-1]):  # a file watcher left running aborts exit
                t.join(timeout=5)
            for sig, handler in restore.items():
                signal.signal(sig, handler)
        self.stats.in_flight = 0
        if progress:
            progress(self.stats)
        if gave_up is not None:
            raise gave_up
        return self.stats

    @property
    def busy(self) -> bool:
        """A worker is still inside a batch ``run`` stopped waiting for (see ``exit``)."""
        return any(t.is_alive() for t in self._threads)

    def exit(self, code: int = 0) -> None:
        """End the process. When a worker is still inside native code (a model, a PDF
        renderer), a normal interpreter exit would kill it mid-call and abort; its jobs are
        back in the queue already, so leave at once instead."""
        if not self.busy:
            raise SystemExit(code)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)

    def stop(self) -> None:
        """Stop taking files and jobs; in-flight jobs finish (see ``run``)."""
        if self._stop.is_set():
            self._abort.set()
        self._stop.set()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        restore = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            restore[sig] = signal.signal(sig, lambda *_: self.stop())
        return restore

    def _idle(self) -> bool:
        if not self.intake.scanned.is_set() or self.intake.candidates or self._in_flight:
            return False
        try:
            active = self.store.active(self.queue, self.schema_name)
        except Exception as exc:
            self.health.failed("store", exc)
            return False
        self.health.recovered("store")
        return active == 0

    def _sweep(self) -> None:
        """Remove temporary output files a crash left behind (older than an hour, so that
        another watcher's write in progress is never touched)."""
        cutoff = time.time() - 3600
        for tmp in self.out.rglob(".docintel-*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
            except OSError:
                pass

    def _take(self, files: list[tuple[Path, int, int]]) -> None:
        """Queue the settled files in one transaction (so workers claim them as one batch)."""
        named = [
            (path, store_name(path.relative_to(self.inbox).as_posix()), size, mtime_ns)
            for path, size, mtime_ns in files
        ]
        named = [f for f in named if f[1:] not in self._known]
        queued = self.store.enqueue_many(self.queue, self.schema_name, [f[1:] for f in named])
        for (path, name, size, mtime_ns), job_id in zip(named, queued, strict=True):
            self._known.add((name, size, mtime_ns))
            if job_id is not None:
                self.stats.queued += 1
                log.info("queued %s", name)
                continue
            # Known already. A closed job whose input is still here: a crash came between
            # closing it and moving the input; finish the move.
            job = self.store.job_for(self.queue, self.schema_name, name, size, mtime_ns)
            if job is not None and job.status in ("done", "failed"):
                self._move(path, "processed" if job.status == "done" else "failed", job.sha256)

    def _path(self, name: str) -> Path:
        """The inbox file a store name stands for (see ``store_name``)."""
        path = self.inbox / name
        if "\\x" in name and not path.exists():
            raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m[1], 16)]), name.encode())
            path = self.inbox / os.fsdecode(raw)
        return path

    # ---- workers ----

    def _work(self) -> None:
        """Claim and process batches until stopped. Never dies: a store or disk failure is
        waited out with backoff (the jobs of a batch that could not be released come back
        when their lease ends), and anything else is logged and the batch retried."""
        failures = 0
        while not self._stop.is_set():
            try:
                jobs = self.store.claim(
                    self.owner, self.queue, self.schema_name, self.batch_size, self.lease
                )
            except Exception as exc:
                self.health.failed("store", exc)
                failures += 1
                self._stop.wait(self._delay(failures))
                continue
            self.health.recovered("store")
            failures = 0
            if not jobs:
                self._stop.wait(self.poll)
                continue
            ids = [j.id for j in jobs if j.id is not None]
            self._in_flight.update(ids)
            try:
                self._process(jobs)
            except Exception as exc:  # an outage mid-batch, or a bug: the batch runs again
                log.warning("batch failed: %s: %s", type(exc).__name__, exc)
                try:
                    self._retry(jobs, f"{type(exc).__name__}: {exc}")
                except Exception as again:
                    self.health.failed("store", again)
                    self._stop.wait(self._delay(1))
            finally:
                self._in_flight.difference_update(ids)

    def _delay(self, failures: int) -> float:
        """Backoff with jitter while the store or output folder is down: doubling, so that
        many watchers do not hammer a database coming back, but capped at ``OUTAGE_WAIT_CAP``
        so that work resumes soon after it is back."""
        return backoff(failures - 1, self.backoff, OUTAGE_WAIT_CAP, jitter=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                self.store.heartbeat(self.owner, list(self._in_flight), self.lease)
            except Exception as exc:
                self.health.failed("store", exc)

    def _process(self, jobs: Sequence[JobRow]) -> None:
        todo: list[tuple[JobRow, Path, Document]] = []
        try:
            for job in jobs:
                loaded = self._open(job)
                if loaded is not None:
                    todo.append(loaded)
            for part in _by_pages(todo, self.settings.max_work_pages):
                self._extract(part)
        finally:
            for _, _, doc in todo:
                doc.close()

    def _open(self, job: JobRow) -> tuple[JobRow, Path, Document] | None:
        """The job's document, loaded; or None when the job ended here (every per-document
        outcome stays with its document: a file that cannot be read never sinks a batch)."""
        path = self._path(job.name)
        if job.attempts > self.retry_limit:  # claimed that often: the worker kept dying
            self._fail(
                job,
                path,
                None,
                "GaveUp",
                f"gave up after {job.attempts - 1} "
                f"attempts; last error: {job.error or 'the worker stopped'}",
            )
            return None
        if not path.is_file():
            self.store.finish(
                self.owner,
                job.id or 0,
                "skipped",
                error="the file was gone before it was processed (deleted or renamed)",
            )
            return None
        try:
            doc = load(path, settings=self.settings)
            try:
                admit(doc, None, self.settings)  # over the work budget: refused, not rendered
            except InputTooLarge:
                doc.close()
                raise
        except OutOfMemory as exc:  # this machine, now: worth another try later
            self._retry([job], f"OutOfMemory: {exc}")
            return None
        except Exception as exc:
            if self._still_writing(job, path):
                return None
            error = exc if isinstance(exc, DocintelError) else None
            name = type(exc).__name__ if error else f"Unreadable ({type(exc).__name__})"
            self._fail(job, path, None, name, str(exc) or repr(exc))
            return None
        cached = self.store.find_result(doc.sha256, self.schema_name)
        if cached is not None and cached.id is not None:
            self._done(job, path, doc.sha256, cached.id, cached.data, reused=True)
            doc.close()
            return None
        return job, path, doc

    def _still_writing(self, job: JobRow, path: Path) -> bool:
        """A file that failed to parse because its writer is not done (it changed since it
        was queued, or a process has it open for writing) goes back to waiting."""
        try:
            st = path.stat()
        except OSError:
            return False
        if (st.st_size, st.st_mtime_ns) != (job.size, job.mtime_ns):
            # the new version is queued by intake once it settles: this one is superseded
            self.store.finish(
                self.owner, job.id or 0, "skipped", error="changed while being read: requeued"
            )
            self._known.discard((job.name, job.size, job.mtime_ns))
            self.intake.offer(path)
            return True
        if str(path.resolve()) in open_for_writing():
            self.store.release(self.owner, [job.id or 0], delay=max(1.0, self.settle), count=False)
            return True
        return False

    def _extract(self, todo: list[tuple[JobRow, Path, Document]]) -> None:
        unique = {doc.sha256: doc for _, _, doc in todo}  # same bytes twice: extract once
        try:
            engine = self._get_engine()
            results = extract_many(
                list(unique.values()), self.schema, engine=engine, settings=self.settings
            )
        except InputError as exc:  # one document's own problem, raised inside the batch
            if len(unique) > 1:  # find out whose: each document on its own
                for sha in unique:
                    self._extract([t for t in todo if t[2].sha256 == sha])
            else:  # no retry can help
                for job, path, doc in todo:
                    self._fail(job, path, doc.sha256, type(exc).__name__, str(exc))
            return
        except Exception as exc:  # the engine is down or failing, or memory ran out: retry
            self._retry([job for job, _, _ in todo], f"{type(exc).__name__}: {exc}")
            return
        saved: dict[str, int] = {}
        for (sha, doc), result in zip(unique.items(), results, strict=True):
            if result.ok or not self._transient(result):
                size = next(j.size for j, _, d in todo if d is doc)
                saved[sha] = self.store.save_result(doc.name or sha, size, result, self.schema_name)
        by_sha = dict(zip(unique, results, strict=True))
        first: set[str] = set()
        for job, path, doc in todo:
            result = by_sha[doc.sha256]
            if result.ok:
                reused = doc.sha256 in first  # the same bytes twice in this batch
                first.add(doc.sha256)
                self._done(job, path, doc.sha256, saved[doc.sha256], result.to_dict(), reused)
            elif self._transient(result):
                self._retry([job], "; ".join(result.errors) or "engine error")
            else:
                message = f"{len(result.attempts)} attempt(s) failed: " + "; ".join(result.errors)
                self._fail(job, path, doc.sha256, "ExtractionFailed", message, result.to_dict())

    def _get_engine(self) -> Engine:
        if self._engine is None:
            engine = get_engine(self._engine_spec, self.settings)
            if self.workers > 1 and not capabilities(engine).thread_safe:
                # Workers' calls queue for one engine thread; those that meet there share a
                # batch (no window: nobody waits for company).
                engine = MicroBatcher(engine, window=0.0, max_batch=self.settings.max_batch)
            self._engine = engine
        return self._engine

    def _transient(self, result: Result[Any]) -> bool:
        """Every attempt was an engine error (server down, out of memory): worth retrying later.
        A deterministic engine's errors (the CPU path declining a schema) never are."""
        return (
            bool(result.attempts)
            and all(a.finish_reason == "error" for a in result.attempts)
            and not capabilities(self._engine).deterministic
        )

    def _retry(self, jobs: Sequence[JobRow], reason: str) -> None:
        for job in jobs:
            if job.attempts >= self.retry_limit:
                path = self.inbox / job.name
                self._fail(
                    job,
                    path,
                    job.sha256,
                    "GaveUp",
                    f"gave up after {job.attempts} attempts; last error: {reason}",
                )
                continue
            delay = backoff(job.attempts - 1, self.backoff, self.backoff_cap)
            if self.store.release(self.owner, [job.id or 0], delay=delay, error=reason):
                self.stats.retried += 1
                log.warning("%s: %s; retrying in %.1f s", job.name, reason, delay)

    # ---- finishing a job: write, close, move ----

    def _done(
        self,
        job: JobRow,
        path: Path,
        sha: str,
        result_id: int,
        data: dict[str, Any],
        reused: bool = False,
    ) -> None:
        if not self.store.owns(self.owner, job.id or 0):
            return  # the lease was lost (released at shutdown): whoever has it now finishes
        body = {**data, "input": job.name, "sha256": sha, "reused": reused}
        out = self._output(job, ".json", sha, body)
        if out is None:
            return
        self._clear_error(job)
        if self.store.finish(
            self.owner, job.id or 0, "done", output=str(out), result_id=result_id, sha256=sha
        ):
            self.stats.done += 1
            self.stats.reused += reused
            log.info("done %s%s", job.name, " (same content seen before)" if reused else "")
        self._move(path, "processed", sha, job)

    def _fail(
        self,
        job: JobRow,
        path: Path,
        sha: str | None,
        error: str,
        message: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        if not self.store.owns(self.owner, job.id or 0):
            return
        report = {
            "input": job.name,
            "sha256": sha,
            "error": error,
            "message": message,
            "attempts": job.attempts,
            "failed_at": time.time(),
            "result": result,
        }
        out = self._output(job, ".error.json", sha, report)
        if out is None:
            return
        if self.store.finish(
            self.owner,
            job.id or 0,
            "failed",
            error=f"{error}: {message}",
            output=str(out),
            sha256=sha,
        ):
            self.stats.failed += 1
            log.warning("failed %s: %s: %s", job.name, error, message)
        self._move(path, "failed", sha, job)

    def _output(
        self, job: JobRow, suffix: str, sha: str | None, data: dict[str, Any]
    ) -> Path | None:
        """Write the job's output file; None when the output folder cannot take it now (read-
        only, full): the job then waits and runs again, and the watcher says so meanwhile."""
        target = self.out / fitted(job.name, suffix)
        version = (sha or f"job{job.id}")[:8]
        if written_by_other_version(target, sha, job.name):
            target = self.out / fitted(f"{job.name}.{version}", suffix)
        try:
            write_json(target, data)
        except OSError as exc:  # not the document's fault: the job waits, no attempt counted
            self.health.failed("output folder", exc)
            reason = f"cannot write {target.name}: {exc}"
            # Due again as long from now as the folder has been down (within the cap): jobs do
            # not spin on a full disk, and resume soon after it has room again.
            down = self.health.down_for("output folder")
            delay = min(OUTAGE_WAIT_CAP, max(self.backoff, down)) * random.uniform(0.5, 1)
            if self.store.release(
                self.owner, [job.id or 0], delay=delay, error=reason, count=False
            ):
                self.stats.retried += 1
            return None
        self.health.recovered("output folder")
        return target

    def _clear_error(self, job: JobRow) -> None:
        """A version that succeeded supersedes the error file an earlier one left."""
        stale = self.out / fitted(job.name, ".error.json")
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot remove the stale error file %s: %s", stale.name, exc)

    def _move(self, path: Path, where: str, sha: str | None, job: JobRow | None = None) -> None:
        if self.after == "leave":
            return
        if job is not None:  # gone from the inbox: no need to remember it (bounded memory)
            self._known.discard((job.name, job.size, job.mtime_ns))
        if not path.exists():
            return
        rel = path.relative_to(self.inbox)
        target = self.inbox / where / rel
        if target.exists():  # an earlier file of that name: keep both
            tag = (sha or uuid.uuid4().hex)[:8]
            target = target.with_name(fitted(f"{rel.stem}.{tag}", rel.suffix))
            if target.exists():
                target = target.with_name(fitted(f"{rel.stem}.{uuid.uuid4().hex[:6]}", rel.suffix))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError as exc:  # the job is closed: a restart or the next scan moves it
            self.health.failed("inbox", exc)


def _by_pages(
    todo: list[tuple[JobRow, Path, Document]], pages: int
) -> Iterator[list[tuple[JobRow, Path, Document]]]:
    """Split a batch so that no engine call holds more than ``pages`` pages (memory in flight
    is bounded whatever the batch size; a document over the budget alone fails on its own)."""
    part: list[tuple[JobRow, Path, Document]] = []
    count = 0
    for item in todo:
        if part and count + len(item[2]) > pages:
            yield part
            part, count = [], 0
        part.append(item)
        count += len(item[2])
    if part:
        yield part


def _open_store(url: str | Path, wait: float) -> Store:
    """Open the store, waiting up to ``wait`` seconds for a database that is not up yet."""
    from docintel.errors import StoreError, StoreVersionMismatch

    deadline = time.monotonic() + wait
    for attempt in itertools.count():
        try:
            return Store(url)
        except StoreVersionMismatch:
            raise
        except StoreError as exc:
            delay = backoff(attempt, 0.5, OUTAGE_WAIT_CAP)
            if time.monotonic() + delay > deadline:
                raise StoreUnavailable(f"{exc} (waited {wait:g} s)") from exc
            log.warning("%s; trying again in %.0f s", exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def watch(
    inbox: str | Path, schema: str | type[BaseModel], out: str | Path, **options: Any
) -> WatchStats:
    """Watch ``inbox`` until stopped; see ``Watcher`` for the options."""
    return Watcher(inbox, schema, out, **options).run()


__all__ = ["WatchStats", "Watcher", "schema_key", "watch"]
