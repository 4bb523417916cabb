"""The batch pipeline on Ray Data: ``docintel batch``'s stages, spread over a cluster.

::

    read_binary_files ──► prepare (CPU tasks) ──► extract (actor pool) ──► write
    (local paths, s3://,   hash, skip what the      one engine per actor:   write_parquet, or
     gs://...; URLs are    output holds, load,      extract_many, so the    JSON lines through a
     fetched in prepare)   deskew, OCR, render      validation-and-retry    Ray file datasink
                                                    loop runs in the batch

Each actor holds one engine: in-process vLLM on its own GPU (``num_gpus=1``), the server
engine (actors on CPUs, a vLLM server doing the batching), the transformers engine, or the
CPU engine. Actor count, batch size and GPUs per actor default from the cluster's resources
(``ray.cluster_resources()``). Rows are ``batch.record_fields()``: the JSON lines hold
exactly what ``docintel batch`` writes locally; Parquet keeps the fields shaped by the schema
(value, partial values, provenance, attempts) as JSON text.

Ray is optional (``pip install 'docintel[ray]'``) and imported only here, when called. Unlike
the local run, the same content under two names within one run is extracted twice (finding
it would need a shuffle across the cluster); a later run skips both.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from docintel.errors import EngineUnavailable
from docintel.jobs.batch import (
    BatchStats,
    Format,
    Line,
    Plan,
    Prepared,
    encode,
    failed_record,
    key_of,
    parquet_schema,
    prepare,
    read_input,
    require,
    run_prepared,
    scan_parts,
    unflat,
)
from docintel.settings import Settings, get_settings

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset


log = logging.getLogger("docintel.jobs.distributed")

ENGINES = ("auto", "cpu", "vllm", "server", "transformers")


@dataclass(frozen=True)
class Layout:
    """How the extraction stage is laid out on the cluster."""

    engine: str  # resolved: never "auto"
    actors: int
    batch_size: int
    gpus_per_actor: float
    cpus_per_actor: float


def layout(
    engine: str = "auto",
    *,
    settings: Settings | None = None,
    resources: dict[str, float] | None = None,
    actors: int | None = None,
    batch_size: int | None = None,
    gpus_per_actor: float | None = None,
    cpus_per_actor: float | None = None,
) -> Layout:
    """The extraction stage's layout: what is given, the rest from ``resources`` (default:
    ``ray.cluster_resources()``).

    ``auto`` is the server engine where a server URL is set, in-process vLLM where the
    cluster has GPUs, else the CPU engine. vLLM gets one actor per GPU and large batches
    (it schedules them itself); the server engine a few client actors; the CPU engine one
    actor per two CPUs, so half the cluster stays free for the preprocessing tasks.
    """
    if engine not in ENGINES:
        raise EngineUnavailable(f"unknown engine {engine!r}: use {', '.join(ENGINES)}")
    settings = settings or get_settings()
    if resources is None:
        import ray

        resources = ray.cluster_resources()
    cpus, gpus = float(resources.get("CPU", 1)), float(resources.get("GPU", 0))
    if engine == "auto":
        engine = "server" if settings.server_url else "vllm" if gpus else "cpu"
    if gpus_per_actor is None:
        gpus_per_actor = 1.0 if engine in ("vllm", "transformers") and gpus else 0.0
    if engine == "vllm" and not gpus_per_actor:
        raise EngineUnavailable(
            "engine 'vllm' on Ray needs GPUs: the cluster has none (or pass --gpus-per-actor); "
            "use engine 'server' against a vLLM server, or 'cpu'."
        )
    if actors is None:
        if gpus_per_actor:
            actors = max(1, int(gpus // gpus_per_actor))
        elif engine == "server":
            actors = max(1, min(8, int(cpus // 4)))
        else:
            actors = max(1, int(cpus // 2))
    if batch_size is None:
        batch_size = {"vllm": 64, "server": 32, "cpu": 16}.get(engine, 8)
    if cpus_per_actor is None:
        cpus_per_actor = 1.0
    if actors * cpus_per_actor >= cpus:
        log.warning(
            "%d actors x %g CPUs leave no CPU of the %g for preprocessing tasks: the job "
            "waits for more nodes (or lower --actors)",
            actors,
            cpus_per_actor,
            cpus,
        )
    return Layout(engine, actors, batch_size, gpus_per_actor, cpus_per_actor)


# ---- the stages ---------------------------------------------------------------------------
def _prepared_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("input", pa.string()),
            ("prepared", pa.binary()),  # a pickled batch.Prepared, or null ...
            ("failed", pa.string()),  # ... and then the failed row, as JSON
        ]
    )


def _prepare_batch(
    batch: pa.Table, *, plan: Plan, skip: Any, render: bool, scheme: str
) -> pa.Table:
    """CPU task: each input read (unless Ray read it), hashed and, unless the output already
    holds it, loaded and prepared; inputs that cannot be read or loaded become failed rows."""
    import hashlib

    import pyarrow as pa
    import ray

    done: Collection[str] = ray.get(skip) if isinstance(skip, ray.ObjectRef) else skip
    schema = plan.resolve()
    paths = batch.column("path").to_pylist()
    datas = batch.column("bytes").to_pylist() if "bytes" in batch.column_names else None
    rows: dict[str, list[Any]] = {"input": [], "prepared": [], "failed": []}

    def failed(
        source: str, exc: BaseException, sha: str | None = None, name: str | None = None
    ) -> None:
        rec = failed_record(source, schema, plan.schema_key, exc, sha, name)
        rows["input"].append(source)
        rows["prepared"].append(None)
        rows["failed"].append(json.dumps(rec))

    for i, path in enumerate(paths):
        source = scheme + path  # Ray drops the scheme of the paths it read (s3://b/k -> b/k)
        if f"input:{source}" in done:
            continue
        try:
            data, name = (datas[i], Path(path).name) if datas else read_input(source, plan.settings)
        except Exception as exc:
            failed(source, exc)
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in done:
            continue
        try:
            prepared = prepare(source, plan.settings, render=render, data=data, name=name)
        except Exception as exc:
            failed(source, exc, sha, name)
            continue
        rows["input"].append(source)
        rows["prepared"].append(pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL))
        rows["failed"].append(None)
    return pa.Table.from_pydict(rows, schema=_prepared_schema())


class _Extractor:
    """Actor: one engine, loaded once; each call extracts one batch of prepared documents."""

    def __init__(self, plan: Plan, engine: str) -> None:
        from docintel.engines import get_engine

        self.plan = plan
        self.schema = plan.resolve()
        self.engine = get_engine(engine, plan.settings)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        items: list[Prepared | Line] = []
        for blob, failed in zip(
            batch.column("prepared").to_pylist(), batch.column("failed").to_pylist(), strict=True
        ):
            if failed is None:
                items.append(pickle.loads(blob))
            else:
                rec = json.loads(failed)
                items.append(Line(key_of(rec), "failed", 0, encode(rec, "parquet")))
        # As in the local run: restore, extract_many (the retry loop across the batch), and an
        # engine that raises (a server down) tried again with backoff before its rows fail.
        lines = run_prepared(self.plan, self.schema, self.engine, items, set())
        rows = [line.payload for line in lines if line.payload is not None]
        return pa.Table.from_pylist(rows, schema=parquet_schema())  # type: ignore[arg-type]


def extract_dataset(
    ds: Dataset,
    schema: str | type[BaseModel],
    *,
    engine: str = "auto",
    settings: Settings | None = None,
    actors: int | None = None,
    batch_size: int | None = None,
    gpus_per_actor: float | None = None,
    cpus_per_actor: float | None = None,
    skip: Collection[str] = (),
    scheme: str = "",
) -> Dataset:
    """Extract ``schema`` from every document of ``ds`` (lazily, as Ray datasets are).

    ``ds`` has a ``path`` column and, when Ray read the files, ``bytes``
    (``ray.data.read_binary_files(paths, include_paths=True)``); rows without bytes are read
    in the preprocessing tasks (http(s) URLs, with the SSRF guard). ``scheme`` is put back in
    front of Ray's paths (``"s3://"``). ``skip``: document keys (SHA-256, or
    ``"input:<input>"``) to leave out, as ``batch.scan_parts`` finds them in an output.
    The layout options default as ``layout`` says.
    Returns one row per document, ``batch.parquet_schema()`` (``batch.unflat`` turns a row
    back into the JSON line).
    """
    require("ray", "ray", "docintel.jobs.distributed")
    plan = _plan(schema, settings)
    where = layout(
        engine,
        settings=plan.settings,
        actors=actors,
        batch_size=batch_size,
        gpus_per_actor=gpus_per_actor,
        cpus_per_actor=cpus_per_actor,
    )
    return _extract_stage(_prepare_stage(ds, plan, where, skip, scheme), plan, where)


def _plan(schema: str | type[BaseModel], settings: Settings | None) -> Plan:
    from docintel.jobs.watch import schema_key

    cls, key = schema_key(schema)
    spec = schema if isinstance(schema, str) else cls
    return Plan(spec, key, settings or get_settings(), "parquet", False, None, frozenset())


# What a preprocessing task may hold at once (its documents' bytes and page images, the OCR
# models: up to 480 MiB measured on a photo), asked of Ray's scheduler. Asking for memory also
# keeps the stage apart from the actors' (Ray Data fuses stages with equal resource requests):
# fused, the OCR would run inside the few actors rather than on every free CPU.
_PREPARE_MEMORY = 1 << 30


def _prepare_stage(ds: Dataset, plan: Plan, where: Layout, skip: Any, scheme: str) -> Dataset:
    import ray

    if not isinstance(skip, ray.ObjectRef):
        skip = ray.put(frozenset(skip))  # once in the object store, not in every task
    return ds.map_batches(
        _prepare_batch,
        batch_format="pyarrow",
        batch_size=max(1, min(where.batch_size, 8)),  # small tasks spread evenly over CPUs
        fn_kwargs={
            "plan": plan,
            "skip": skip,
            "render": where.engine != "cpu",  # the CPU engine reads words, not pixels
            "scheme": scheme,
        },
        num_cpus=1,
        memory=_PREPARE_MEMORY,
    )


def _extract_stage(ds: Dataset, plan: Plan, where: Layout) -> Dataset:
    from ray.data import ActorPoolStrategy

    log.info("extraction on Ray: %s", where)
    return ds.map_batches(
        _Extractor,
        batch_format="pyarrow",
        batch_size=where.batch_size,
        fn_constructor_kwargs={"plan": plan, "engine": where.engine},
        compute=ActorPoolStrategy(size=where.actors),
        num_gpus=where.gpus_per_actor or None,
        num_cpus=where.cpus_per_actor,
    )


def _jsonl_datasink(path: str) -> Any:
    from ray.data.datasource import BlockBasedFileDatasink

    class JsonLinesDatasink(BlockBasedFileDatasink):
        """Writes rows as the JSON lines ``docintel batch`` writes. Ray's ``write_json``
        would go through Arrow structs, which merge every row's keys (null-filled) across a
        block and so change provenance and values."""

        def __init__(self, path: str) -> None:
            super().__init__(path, file_format="jsonl")

        def write_block_to_file(self, block: Any, file: Any) -> None:
            for row in block.to_arrow().to_pylist():
                file.write(json.dumps(unflat(row), ensure_ascii=False).encode() + b"\n")

    return JsonLinesDatasink(path)


def write(ds: Dataset, out: str, format: Format = "jsonl") -> None:
    """Write ``extract_dataset``'s rows to the folder (or URI) ``out`` with Ray's writers."""
    if format == "parquet":
        ds.write_parquet(out, schema=parquet_schema())
    else:
        ds.write_datasink(_jsonl_datasink(out))


# ---- the command --------------------------------------------------------------------------
def _split(inputs: Sequence[str]) -> tuple[list[str], list[str], str]:
    """Inputs Ray's file readers read (existing files; file-system URIs), the rest (URLs,
    missing paths: read in the tasks, where a failure becomes a row), and the URI scheme."""
    from docintel.jobs.batch import URI

    files: list[str] = []
    other: list[str] = []
    schemes: set[str] = set()
    for source in inputs:
        if source.lower().startswith(("http://", "https://", "data:")):
            other.append(source)
        elif URI.match(source):
            files.append(source)
            schemes.add(source.split("://", 1)[0] + "://")
        elif Path(source).is_file():
            files.append(str(Path(source).resolve()))
            schemes.add("")
        else:
            other.append(source)
    if len(schemes) > 1:
        raise ValueError(f"inputs mix file systems ({', '.join(sorted(schemes))}): one per run")
    return files, other, next(iter(schemes), "")


def run_batch_on_ray(
    inputs: Sequence[str],
    schema: str | type[BaseModel],
    out: str | Path,
    *,
    format: Format = "jsonl",
    engine: str = "auto",
    address: str | None = None,
    actors: int | None = None,
    batch_size: int | None = None,
    gpus_per_actor: float | None = None,
    cpus_per_actor: float | None = None,
    retry_failed: bool = False,
    settings: Settings | None = None,
) -> BatchStats:
    """``docintel batch --ray``: ``inputs`` (listed paths and URIs) through ``extract_dataset``
    into the folder ``out`` (local or a URI), resuming what it holds.

    ``address``: a Ray cluster (``auto``, ``ray://head:10001``); None starts a local one (or
    uses the one this process already joined).
    """
    require("ray", "ray", "docintel batch --ray")
    import ray
    import ray.data

    from docintel.jobs.watch import schema_key

    settings = settings or get_settings()
    stats = BatchStats(total=len(inputs))
    _, key = schema_key(schema)
    out = str(out)
    before = scan_parts(out, key, format, drop_failed=retry_failed)
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except ConnectionError as exc:
            raise EngineUnavailable(
                f"cannot join the Ray cluster at {address}: {exc}. Check the address (and, for "
                "a cluster with token authentication, RAY_AUTH_MODE=token and its token), or "
                "give --ray without an address for a local cluster."
            ) from None
    try:
        where = layout(
            engine,
            settings=settings,
            actors=actors,
            batch_size=batch_size,
            gpus_per_actor=gpus_per_actor,
            cpus_per_actor=cpus_per_actor,
        )
        stats.engine = where.engine
        files, other, scheme = _split(inputs)
        sources: list[tuple[Dataset, str]] = []
        if files:
            sources.append((ray.data.read_binary_files(files, include_paths=True), scheme))
        if other:
            sources.append((ray.data.from_items([{"path": p} for p in other]), ""))
        if not sources:
            return stats
        plan = _plan(schema, settings)
        skip = ray.put(frozenset(before))
        # One actor pool for all inputs: the sources meet after preprocessing.
        prepared = [_prepare_stage(ds, plan, where, skip, prefix) for ds, prefix in sources]
        ds = prepared[0].union(*prepared[1:]) if len(prepared) > 1 else prepared[0]
        write(_extract_stage(ds, plan, where), out, format)
    finally:
        if started:
            ray.shutdown()
    _count_new(out, key, format, before, stats)
    return stats


def _count_new(out: str, key: str, format: Format, before: set[str], stats: BatchStats) -> None:
    """Fill ``stats`` from the lines the run added to ``out``."""
    import pyarrow.fs as pafs

    from docintel.jobs.batch import URI, read_part

    new = scan_parts(out, key, format) - before
    fs, root = pafs.FileSystem.from_uri(out if URI.match(out) else str(Path(out).resolve()))
    for info in fs.get_file_info(pafs.FileSelector(root)):
        if info.type != pafs.FileType.File or not info.base_name.endswith(f".{format}"):
            continue
        if format == "parquet":
            import pyarrow.parquet as pq

            columns = ["input", "document", "ok", "pages"]
            records = pq.read_table(info.path, filesystem=fs, columns=columns).to_pylist()
        else:
            records = read_part(fs, info.path, format)
        for rec in records:
            if key_of(rec) in new:
                stats.documents += 1
                stats.failed += not rec.get("ok")
                stats.pages += len(rec.get("pages") or ())
    stats.skipped = max(0, (stats.total or 0) - stats.documents)
    stats.finished = time.monotonic()
