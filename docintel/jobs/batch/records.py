"""What a batch writes: one record per document, to JSONL or Parquet parts, and what a rerun
finds already done (resume)."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel

from docintel.errors import (
    DocintelError,
    OutputConflict,
)
from docintel.jobs.batch.inputs import URI
from docintel.result import Result

if TYPE_CHECKING:
    import pyarrow as pa


log = logging.getLogger("docintel.jobs.batch")

Format = Literal["jsonl", "parquet"]

_TYPED = {
    "input": "string",
    "schema": "string",
    "ok": "bool",
    "errors": "list<string>",
    "missing": "list<string>",
    "engine": "string",
    "model": "string",
    "document": "string",
    "source": "string",
    "pages": "list<int32>",
    "confidence": "double",
    "prompt_tokens": "int64",
    "completion_tokens": "int64",
    "schema_key": "string",
    "error": "string",
}


@functools.cache
def record_fields() -> tuple[str, ...]:
    """The fields of a result line, in order: ``input``, then ``Result.to_dict()``'s, then
    ``schema_key`` and ``error``."""

    class _Empty(BaseModel):
        pass

    return ("input", *Result(_Empty, None, False).to_dict(), "schema_key", "error")


_SYNC_SECONDS = 1.0  # fsync the JSON lines at most this often (flushed after every line)
_PARQUET_ROWS = 1000  # rows per Parquet part file ...
_PARQUET_SECONDS = 60.0  # ... or fewer, after this long (a killed run loses at most that)


# ---- result lines -------------------------------------------------------------------------
class Line(NamedTuple):
    """One document's outcome, ready for the output."""

    key: str  # the document's SHA-256, or "input:<input>" when it could not be read
    # skipped: the output already has it; duplicate: another input of this run had its bytes
    status: Literal["ok", "failed", "skipped", "duplicate"]
    pages: int
    payload: str | dict[str, Any] | None  # a JSON line or a Parquet row; None when not written


def record(
    source: str, result: Result[Any], schema_key: str, sha256: str | None = None
) -> dict[str, Any]:
    """The line for one document: ``input``, ``Result.to_dict()``, ``schema_key``, ``error``."""
    data = result.to_dict()
    if sha256 and not data["document"]:  # it could not be loaded, but it was read
        data["document"] = sha256
    error = None if result.ok else _error(result)
    return {"input": source, **data, "schema_key": schema_key, "error": error}


def _error(result: Result[Any]) -> str:
    if not result.attempts:  # never reached the engine: the load error ("CorruptDocument: ...")
        return "; ".join(result.errors) or "failed"
    return f"ExtractionFailed: {len(result.attempts)} attempt(s) failed: " + "; ".join(
        result.errors
    )


def key_of(rec: dict[str, Any]) -> str:
    """What identifies a line's document for resuming: its content, else its input."""
    return rec.get("document") or f"input:{rec.get('input')}"


def flat(rec: dict[str, Any]) -> dict[str, Any]:
    """A record as a Parquet row: the untyped fields as JSON text."""
    return {
        k: v if k in _TYPED or v is None else json.dumps(v, ensure_ascii=False)
        for k, v in rec.items()
    }


def unflat(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row back as the record a JSON line holds."""
    return {
        k: row.get(k) if k in _TYPED or row.get(k) is None else json.loads(row[k])
        for k in record_fields()
        if k in row
    }


def encode(rec: dict[str, Any], fmt: Format) -> str | dict[str, Any]:
    return json.dumps(rec, ensure_ascii=False) if fmt == "jsonl" else flat(rec)


def parquet_schema() -> pa.Schema:
    """The Arrow schema of a Parquet result row (the same for every schema and outcome)."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "bool": pa.bool_(),
        "double": pa.float64(),
        "int64": pa.int64(),
        "list<string>": pa.list_(pa.string()),
        "list<int32>": pa.list_(pa.int32()),
    }
    return pa.schema([(k, types[_TYPED.get(k, "string")]) for k in record_fields()])


def failed_record(
    source: str,
    schema: type[BaseModel],
    key: str,
    exc: BaseException,
    sha256: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The line of an input that failed before any extraction (unread, unloadable): its error
    as the type and message (``"CorruptDocument: ..."``)."""
    kind = type(exc).__name__ if isinstance(exc, DocintelError) else f"Error ({type(exc).__name__})"
    result: Result[Any] = Result(schema, None, False, errors=[f"{kind}: {exc}"], source=name)
    return record(source, result, key, sha256)


# ---- outputs ------------------------------------------------------------------------------
class Sink(Protocol):
    def write(self, payload: str | dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class JsonlSink:
    """Appends one line per write, flushed at once (a killed run keeps every line written)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self._synced = time.monotonic()

    def write(self, payload: str | dict[str, Any]) -> None:
        assert isinstance(payload, str)
        self._file.write(payload.encode() + b"\n")
        self._file.flush()
        if time.monotonic() - self._synced > _SYNC_SECONDS:  # and survive a power cut too
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


class ParquetSink:
    """Part files of up to ``_PARQUET_ROWS`` rows, each written whole: temporary, renamed."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._run = uuid.uuid4().hex[:12]
        self._rows: list[dict[str, Any]] = []
        self._since = time.monotonic()
        self._parts = 0

    def write(self, payload: str | dict[str, Any]) -> None:
        assert isinstance(payload, dict)
        if not self._rows:
            self._since = time.monotonic()
        self._rows.append(payload)
        if len(self._rows) >= _PARQUET_ROWS or time.monotonic() - self._since > _PARQUET_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = f"part-{self._run}-{self._parts:05d}.parquet"
        tmp = self._folder / f".{name}.tmp"
        pq.write_table(pa.Table.from_pylist(self._rows, schema=parquet_schema()), tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self._folder / name)
        self._rows.clear()
        self._parts += 1

    def close(self) -> None:
        self.flush()


def _conflict(path: object, found: object, key: str) -> OutputConflict:
    return OutputConflict(
        f"{path} holds results made with schema {found} and this run extracts {key}: "
        "write to another --out, or delete it to start over."
    )


def _check(rec: object, path: object, key: str) -> dict[str, Any]:
    if not isinstance(rec, dict) or "schema_key" not in rec:
        raise OutputConflict(
            f"{path} is not a docintel batch output (a line without schema_key): "
            "write to another --out."
        )
    if rec["schema_key"] != key:
        raise _conflict(path, rec["schema_key"], key)
    return rec


def scan_jsonl(path: Path, key: str, *, drop_failed: bool = False) -> set[str]:
    """The keys of documents a JSON lines output holds (failed ones too, unless
    ``drop_failed``: their lines are then removed, so a retry leaves one line each).

    A torn last line (a run killed mid-write) is cut off. Raises ``OutputConflict`` when the
    file holds another schema's results or is not a batch output.
    """
    done: set[str] = set()
    if not path.exists():
        return done
    failed = 0
    good = 0  # bytes up to the end of the last whole line
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                break  # torn: cut below
            try:
                rec = _check(json.loads(raw), path, key)
            except json.JSONDecodeError:
                raise OutputConflict(
                    f"{path}: line {number} is not JSON; remove it (or the file) and run again."
                ) from None
            good += len(raw)
            if rec.get("ok") or not drop_failed:
                done.add(key_of(rec))
            else:
                failed += 1
    if good < path.stat().st_size:
        log.warning("%s: cutting off a torn last line (%d bytes)", path, path.stat().st_size - good)
        os.truncate(path, good)
    if failed:
        _rewrite_jsonl(path, lambda rec: bool(rec.get("ok")))
    return done


def _rewrite_jsonl(path: Path, keep: Callable[[dict[str, Any]], bool]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        for raw in src:
            if keep(json.loads(raw)):
                dst.write(raw)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, path)


def scan_parts(uri: str, key: str, fmt: Format, *, drop_failed: bool = False) -> set[str]:
    """``scan_jsonl`` for a folder of part files (local, or any URI pyarrow's file systems
    open: ``s3://``, ``gs://``...), as ``docintel batch --format parquet`` and Ray's writers
    leave them. A part that cannot be read (a writer killed mid-file) is renamed
    ``*.unreadable`` and its documents run again."""
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(uri if URI.match(uri) else os.path.abspath(uri))
    if fs.get_file_info(root).type == pafs.FileType.NotFound:
        return set()
    done: set[str] = set()
    suffix = ".parquet" if fmt == "parquet" else ".jsonl"
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=False))
    for info in sorted(infos, key=lambda i: i.path):
        name = info.base_name
        if info.type != pafs.FileType.File or not name.endswith(suffix):
            if name.startswith(".") and name.endswith(".tmp"):
                fs.delete_file(info.path)  # a part file a killed run left half written
            continue
        try:
            records = read_part(fs, info.path, fmt)
        except (OSError, ValueError) as exc:
            log.warning(
                "%s cannot be read (%s): renamed *.unreadable, its documents rerun", name, exc
            )
            fs.move(info.path, info.path + ".unreadable")
            continue
        keep = [_check(rec, info.path, key) for rec in records]
        if drop_failed and not all(rec.get("ok") for rec in keep):
            keep = [rec for rec in keep if rec.get("ok")]
            _write_part(fs, info.path, keep, fmt)
        done.update(key_of(rec) for rec in keep)
    return done


def read_part(fs: Any, path: str, fmt: Format) -> list[dict[str, Any]]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        columns = ["input", "document", "ok", "schema_key"]
        return pq.read_table(path, filesystem=fs, columns=columns).to_pylist()
    with fs.open_input_stream(path) as f:
        data = f.read()
    lines = data.split(b"\n")
    whole, torn = lines[:-1], lines[-1]
    records = [json.loads(line) for line in whole if line.strip()]
    if torn.strip():  # cut off a torn last line: rewrite the part without it
        log.warning("%s: cutting off a torn last line", path)
        _write_part(fs, path, records, fmt)
    return records


def _write_part(fs: Any, path: str, records: list[dict[str, Any]], fmt: Format) -> None:
    """Replace a part file with ``records`` (whole records for JSON; for Parquet the full rows
    are read again and filtered to the documents in ``records``)."""
    if not records:
        fs.delete_file(path)
        return
    tmp = f"{path.rsplit('/', 1)[0]}/.{path.rsplit('/', 1)[-1]}.tmp"
    if fmt == "parquet":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = pq.read_table(path, filesystem=fs)
        documents = _array([r["document"] for r in records if r.get("document")])
        pq.write_table(
            table.filter(pc.is_in(table["document"], value_set=documents)), tmp, filesystem=fs
        )
    else:
        with fs.open_output_stream(tmp) as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False).encode() + b"\n")
    fs.move(tmp, path)


def _array(values: list[str]) -> Any:
    import pyarrow as pa

    return pa.array(values, type=pa.string())
