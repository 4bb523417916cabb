"""The job store: documents, jobs, results and attempts, in SQLite or PostgreSQL (SQLModel).

A job is one file version (queue, schema, relative path, size, mtime) to extract; its key is
unique, so enqueueing the same file twice, from two watchers or after a restart, is a no-op.
Workers claim jobs in one statement (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP
LOCKED)``), so several workers on several machines never take the same job, and a claim is a
lease that expires: a dead worker's jobs go back to the queue. Results are kept by document
content (SHA-256) and schema, so the same bytes under another name are not extracted twice.
Times are epoch seconds (floats): comparable the same way in both databases.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Engine, event, func, inspect, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from docintel.errors import StoreError, StoreVersionMismatch
from docintel.result import Result

SCHEMA_VERSION = 1
STATUSES = ("pending", "running", "done", "failed", "skipped")


class Meta(SQLModel, table=True):
    __tablename__ = "docintel_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class DocumentRow(SQLModel, table=True):
    """A document by content; ``name`` is the first name it was seen under."""

    __tablename__ = "documents"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_type=BigInteger)
    name: str
    created_at: float = Field(default_factory=time.time)


class JobRow(SQLModel, table=True):
    """One file version to extract, and where it stands."""

    __tablename__ = "jobs"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)  # sha256(queue, schema, name, size, mtime_ns)
    queue: str = Field(index=True)  # which inbox (workers on several machines share a name)
    name: str  # path relative to the inbox
    size: int = Field(sa_type=BigInteger)
    mtime_ns: int = Field(sa_type=BigInteger)
    schema_name: str
    status: str = Field(default="pending", index=True)  # one of STATUSES
    attempts: int = 0  # claims so far: a worker that dies mid-job still counts one
    lease_owner: str | None = None  # the worker holding it (after it ends: who finished it)
    lease_expires: float | None = None
    not_before: float = 0.0  # backoff after a transient failure
    sha256: str | None = Field(default=None, index=True)  # known once a worker read the file
    error: str | None = None
    output: str | None = None  # the result or error file written
    result_id: int | None = Field(default=None, foreign_key="results.id")
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = Field(default=None, index=True)


class ResultRow(SQLModel, table=True):
    """An extraction of one document with one schema (``data`` is ``Result.to_dict()``)."""

    __tablename__ = "results"
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(foreign_key="documents.sha256", index=True)
    schema_name: str  # name@digest of the JSON schema: an edited schema is a new one
    ok: bool
    value: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    provenance: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    confidence: float | None = None  # Result.confidence: mean of the per-field confidences
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    engine: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    created_at: float = Field(default_factory=time.time)


class AttemptRow(SQLModel, table=True):
    """One model call behind a result."""

    __tablename__ = "attempts"
    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="results.id", index=True)
    number: int
    part: int
    text: str
    finish_reason: str
    errors: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    max_tokens: int
    temperature: float


_TABLES = ("docintel_meta", "documents", "jobs", "results", "attempts")


@dataclass
class Summary:
    """What ``docintel status`` shows."""

    counts: dict[str, int]  # per status
    done_last_minute: int
    results: int
    oldest_pending_seconds: float | None
    recent_failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Jobs finished per second over the last minute."""
        return self.done_last_minute / 60.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "throughput_per_second": self.throughput}


def store_url(target: str | Path) -> str:
    """A database URL from a URL or a path to an SQLite file."""
    target = str(target)
    return target if "://" in target else f"sqlite:///{Path(target).expanduser().resolve()}"


def job_key(queue: str, schema_name: str, name: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(
        f"{queue}\0{schema_name}\0{name}\0{size}\0{mtime_ns}".encode()
    ).hexdigest()


class Store:
    """The job store at ``url`` (``sqlite:///path.db``, ``postgresql+psycopg://...``, or a path).

    Creates the tables on first use and records the layout version; a store written by another
    layout raises ``StoreVersionMismatch`` instead of being misread.
    """

    def __init__(self, url: str | Path) -> None:
        self.url = store_url(url)
        self.dialect = self.url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = _connect(self.url, self.dialect)
            self._prepare()
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the job store at {_redact(self.url)}: {exc.orig}. Check the URL, "
                "that the database server is running, and its credentials."
            ) from exc

    # ---- queue ----

    def enqueue(
        self, queue: str, schema_name: str, name: str, size: int, mtime_ns: int
    ) -> int | None:
        """Add a job for this file version; None when it is already known (any status)."""
        return self.enqueue_many(queue, schema_name, [(name, size, mtime_ns)])[0]

    def enqueue_many(
        self, queue: str, schema_name: str, files: Sequence[tuple[str, int, int]]
    ) -> list[int | None]:
        """Add a job per ``(name, size, mtime_ns)`` in one transaction, so that files that
        settle together are claimable together (one engine batch); None for known ones."""
        now, new = time.time(), []
        with Session(self.engine) as s:
            for name, size, mtime_ns in files:
                row = dict(
                    key=job_key(queue, schema_name, name, size, mtime_ns),
                    queue=queue,
                    name=name,
                    size=size,
                    mtime_ns=mtime_ns,
                    schema_name=schema_name,
                    status="pending",
                    attempts=0,
                    not_before=0.0,
                    created_at=now,
                )
                stmt = self._insert(JobRow).values(**row).on_conflict_do_nothing()
                new.append(s.execute(stmt.returning(JobRow.id)).scalar_one_or_none())  # type: ignore[attr-defined]
            s.commit()
        return new

    def job_for(
        self, queue: str, schema_name: str, name: str, size: int, mtime_ns: int
    ) -> JobRow | None:
        key = job_key(queue, schema_name, name, size, mtime_ns)
        with Session(self.engine) as s:
            return s.exec(select(JobRow).where(JobRow.key == key)).first()

    def claim(
        self, owner: str, queue: str, schema_name: str, limit: int, lease: float
    ) -> list[JobRow]:
        """Take up to ``limit`` due jobs (pending, or running with an expired lease)."""
        now = time.time()
        due = (
            select(JobRow.id)
            .where(JobRow.queue == queue, JobRow.schema_name == schema_name)
            .where(
                or_(
                    (col(JobRow.status) == "pending") & (col(JobRow.not_before) <= now),
                    (col(JobRow.status) == "running") & (col(JobRow.lease_expires) < now),
                )
            )
            .order_by(col(JobRow.id))
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
        )
        stmt = (
            update(JobRow)
            .where(col(JobRow.id).in_(due.scalar_subquery()))
            .values(
                status="running",
                lease_owner=owner,
                lease_expires=now + lease,
                attempts=JobRow.attempts + 1,
                started_at=now,
            )
            .returning(JobRow)
        )
        with Session(self.engine, expire_on_commit=False) as s:
            jobs = list(s.execute(stmt, execution_options={"synchronize_session": False}).scalars())
            s.commit()
        return sorted(jobs, key=lambda j: j.id or 0)

    def heartbeat(self, owner: str, ids: Sequence[int], lease: float) -> None:
        """Extend the leases of ``owner``'s running jobs."""
        if ids:
            self._update(owner, ids, lease_expires=time.time() + lease)

    def finish(
        self,
        owner: str,
        job_id: int,
        status: str,
        *,
        error: str | None = None,
        output: str | None = None,
        result_id: int | None = None,
        sha256: str | None = None,
    ) -> bool:
        """Close a job ``owner`` holds; False when its lease was lost (someone else has it)."""
        return bool(
            self._update(
                owner,
                [job_id],
                status=status,
                error=error,
                output=output,
                result_id=result_id,
                sha256=sha256,
                lease_expires=None,
                finished_at=time.time(),
            )
        )

    def release(
        self, owner: str, ids: Sequence[int], *, delay: float = 0.0, error: str | None = None,
        count: bool = True,
    ) -> int:  # fmt: skip
        """Put jobs back in the queue, due after ``delay`` seconds (``count=False``: the claim
        was not an attempt, e.g. a shutdown)."""
        if not ids:
            return 0
        values: dict[str, Any] = dict(
            status="pending", lease_owner=None, lease_expires=None, not_before=time.time() + delay
        )
        if error is not None:
            values["error"] = error
        if not count:
            values["attempts"] = JobRow.attempts - 1
        return self._update(owner, ids, **values)

    def active(self, queue: str, schema_name: str) -> int:
        """Jobs of this queue and schema not yet finished (pending, backing off, or running)."""
        with Session(self.engine) as s:
            query = select(func.count()).where(
                JobRow.queue == queue,
                JobRow.schema_name == schema_name,
                col(JobRow.status).in_(("pending", "running")),
            )
            return s.exec(query).one()

    def owns(self, owner: str, job_id: int) -> bool:
        with Session(self.engine) as s:
            job = s.get(JobRow, job_id)
            return job is not None and job.status == "running" and job.lease_owner == owner

    # ---- documents and results ----

    def save_result(self, name: str, size: int, result: Result[Any], schema_name: str) -> int:
        """Record a document, its result and the attempts behind it; return the result id."""
        data = result.to_dict()
        with Session(self.engine) as s:
            s.execute(
                self._insert(DocumentRow)
                .values(sha256=result.document, size=size, name=name, created_at=time.time())
                .on_conflict_do_nothing()
            )
            row = ResultRow(
                sha256=result.document,
                schema_name=schema_name,
                ok=result.ok,
                value=data["value"],
                provenance=data["provenance"],
                confidence=result.confidence,
                data=data,
                engine=result.engine,
                model=result.model,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                seconds=result.seconds,
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            s.add_all(AttemptRow(result_id=row.id, **asdict(a)) for a in result.attempts)
            s.commit()
            return row.id

    def find_result(self, sha256: str, schema_name: str) -> ResultRow | None:
        """The latest successful result for this content and schema, if any."""
        with Session(self.engine) as s:
            query = (
                select(ResultRow)
                .where(ResultRow.sha256 == sha256, ResultRow.schema_name == schema_name)
                .where(col(ResultRow.ok).is_(True))
                .order_by(col(ResultRow.id).desc())
            )
            return s.exec(query).first()

    # ---- reading ----

    def jobs(self, status: str | None = None, queue: str | None = None) -> list[JobRow]:
        with Session(self.engine) as s:
            query = select(JobRow).order_by(col(JobRow.id))
            if status:
                query = query.where(JobRow.status == status)
            if queue:
                query = query.where(JobRow.queue == queue)
            return list(s.exec(query))

    def results(self) -> list[ResultRow]:
        with Session(self.engine) as s:
            return list(s.exec(select(ResultRow).order_by(col(ResultRow.id))))

    def attempts(self, result_id: int) -> list[AttemptRow]:
        with Session(self.engine) as s:
            query = select(AttemptRow).where(AttemptRow.result_id == result_id)
            return list(s.exec(query.order_by(col(AttemptRow.id))))

    def summary(self, queue: str | None = None) -> Summary:
        now = time.time()
        with Session(self.engine) as s:
            where = [JobRow.queue == queue] if queue else []
            counts = dict.fromkeys(STATUSES, 0)
            for status, n in s.exec(
                select(JobRow.status, func.count()).where(*where).group_by(col(JobRow.status))
            ):
                counts[status] = n
            recent = s.exec(
                select(func.count())
                .where(*where)
                .where(JobRow.status == "done", col(JobRow.finished_at) >= now - 60)
            ).one()
            oldest = s.exec(
                select(func.min(JobRow.created_at)).where(*where).where(JobRow.status == "pending")
            ).one()
            failures = s.exec(
                select(JobRow)
                .where(*where)
                .where(JobRow.status == "failed")
                .order_by(col(JobRow.finished_at).desc())
                .limit(5)
            )
            return Summary(
                counts=counts,
                done_last_minute=recent,
                results=s.exec(select(func.count()).select_from(ResultRow)).one(),
                oldest_pending_seconds=None if oldest is None else now - oldest,
                recent_failures=[{"name": j.name, "error": j.error} for j in failures],
            )

    def close(self) -> None:
        self.engine.dispose()

    # ---- internals ----

    def _insert(self, table: type[SQLModel]) -> Any:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(table)

    def _update(self, owner: str, ids: Sequence[int], **values: Any) -> int:
        stmt = (
            update(JobRow)
            .where(col(JobRow.id).in_(list(ids)))
            .where(JobRow.lease_owner == owner, JobRow.status == "running")
            .values(**values)
        )
        with Session(self.engine) as s:
            n = s.execute(stmt, execution_options={"synchronize_session": False}).rowcount  # type: ignore[attr-defined]
            s.commit()
            return n

    def _prepare(self) -> None:
        """Create the tables, or check that the existing ones are this layout's."""
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":  # two workers starting at once: one creates
                conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
            tables = set(inspect(conn).get_table_names())
            if "docintel_meta" not in tables:
                if tables & set(_TABLES):
                    raise StoreVersionMismatch(
                        f"the database at {_redact(self.url)} has docintel tables but no version "
                        "record: point docintel at a new database, or drop those tables.",
                        found=None,
                        expected=SCHEMA_VERSION,
                    )
                SQLModel.metadata.create_all(conn, tables=[t.__table__ for t in _MODELS])  # type: ignore[attr-defined]
                conn.execute(
                    self._insert(Meta)
                    .values(key="schema_version", value=str(SCHEMA_VERSION))
                    .on_conflict_do_nothing()
                )
                return
            found = conn.execute(
                select(Meta.value).where(Meta.key == "schema_version")
            ).scalar_one_or_none()
        if found != str(SCHEMA_VERSION):
            raise StoreVersionMismatch(
                f"the job store at {_redact(self.url)} has layout version {found}, this docintel "
                f"uses {SCHEMA_VERSION}: finish its jobs with the docintel that made it, or "
                "start a new store (--store).",
                found=int(found) if found and found.isdigit() else None,
                expected=SCHEMA_VERSION,
            )


_MODELS = (Meta, DocumentRow, ResultRow, JobRow, AttemptRow)


def _connect(url: str, dialect: str) -> Engine:
    if dialect != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # WAL: readers never block the writer; several processes can share the file.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"
    return url


__all__ = [
    "SCHEMA_VERSION",
    "AttemptRow",
    "DocumentRow",
    "JobRow",
    "ResultRow",
    "Store",
    "Summary",
    "store_url",
]
