"""The ``docintel`` command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from docintel.errors import DocintelError, StoreUnavailable

EXIT_STORE_UNAVAILABLE = 75  # EX_TEMPFAIL: the store stayed down; run again later

if TYPE_CHECKING:
    from docintel.jobs.batch import BatchStats
    from docintel.jobs.watch import WatchStats

app = typer.Typer(
    name="docintel",
    help="Turn PDFs, scans, photos and diagrams into validated, typed data.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # error messages stay whole lines


@app.callback()
def main() -> None:
    """docintel: document intelligence on Pixtral."""


@app.command()
def inspect(
    source: Annotated[str, typer.Argument(help="A file path, http(s) URL or data: URL.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Write the regions drawn on the page as a PNG (page N: out-N.png)."),
    ] = None,
    pages: Annotated[str | None, typer.Option(help="Pages to show, e.g. '1,3-5'.")] = None,
    password: Annotated[str | None, typer.Option(help="Password of an encrypted PDF.")] = None,
    allow_private_urls: Annotated[
        bool, typer.Option(help="Allow URLs on private/loopback addresses.")
    ] = False,
) -> None:
    """Show a document's kind, pages and layout regions."""
    from docintel.ingest.load import load
    from docintel.pages.overlay import draw_regions

    try:
        doc = load(source, password=password, allow_private_urls=allow_private_urls)
        chosen = _page_numbers(pages, len(doc))
        console.print(
            f"[bold]{doc.name or source[:60]}[/]  kind=[cyan]{doc.kind.value}[/]  "
            f"pages={len(doc)}  sha256={doc.sha256[:16]}…"
        )
        for n in chosen:
            page = doc[n]
            table = Table(
                title=f"page {n + 1}: {page.kind.value}, {page.width:.0f}x{page.height:.0f} pt, "
                f"{len(page.words)} words, {page.tokens()} image tokens" + _correction_note(page),
                title_justify="left",
            )
            for col in ("#", "kind", "box (pt)", "conf", "source"):
                table.add_column(col, no_wrap=True)
            table.add_column("text", no_wrap=True, overflow="ellipsis", max_width=48)
            for i, r in enumerate(page.regions):
                b = r.bbox
                table.add_row(
                    str(i),
                    r.kind.value,
                    f"{b.x0:.0f},{b.y0:.0f},{b.x1:.0f},{b.y1:.0f}",
                    f"{r.confidence:.2f}",
                    r.source,
                    r.text.replace("\n", " ")[:60],
                )
            console.print(table)
            if out is not None:
                target = out if len(chosen) == 1 else out.with_stem(f"{out.stem}-{n + 1}")
                draw_regions(page).save(target)
                console.print(f"overlay written to [green]{target}[/]")
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="A file path, http(s) URL or data: URL.")],
    schema: Annotated[str, typer.Option(help="The schema: module:Class or path/to/file.py:Class.")],
    engine: Annotated[
        str, typer.Option(help="auto | vllm | server | transformers", envvar="DOCINTEL_ENGINE")
    ] = "auto",
    model: Annotated[str | None, typer.Option(help="Model id or local weights directory.")] = None,
    pages: Annotated[str | None, typer.Option(help="Pages to use, e.g. '1,3-5'.")] = None,
    max_attempts: Annotated[int | None, typer.Option(help="Attempts, retries included.")] = None,
    password: Annotated[str | None, typer.Option(help="Password of an encrypted PDF.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
) -> None:
    """Extract a schema from a document and print the typed result."""
    import json

    from docintel.ingest.load import load
    from docintel.pipeline.extract import extract as run_extract
    from docintel.pipeline.schema_ref import resolve_schema
    from docintel.settings import get_settings

    overrides = {"engine": engine} | ({"model": model} if model else {})
    settings = get_settings(**overrides)
    try:
        model_cls = resolve_schema(schema)
        doc = load(source, password=password, settings=settings)
        chosen = _page_numbers(pages, len(doc)) if pages else None
        result = run_extract(
            doc,
            model_cls,
            pages=chosen,
            max_attempts=max_attempts,
            settings=settings,
            raise_on_failure=False,
        )
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        status = "[green]ok[/]" if result.ok else "[red]failed[/]"
        console.print(
            f"{status}  {model_cls.__name__} from {doc.name or 'input'} via {result.engine} "
            f"({result.model}), {len(result.attempts)} attempt(s), "
            f"{result.prompt_tokens}+{result.completion_tokens} tokens, {result.seconds:.1f} s"
        )
        if result.engine == "cpu":
            console.print(
                "[yellow]no vision model here[/]: values come from the text layer and OCR. "
                "For Pixtral, set DOCINTEL_SERVER_URL or run on a GPU (see README, Engines)."
            )
        if result.value is not None:
            console.print_json(result.value.model_dump_json())
            _print_provenance(result.provenance)
        elif result.partial:  # what was read is shown, not thrown away with the rest
            console.print(f"[yellow]partial[/]: missing {', '.join(result.missing) or '-'}")
            console.print_json(json.dumps(result.partial, ensure_ascii=False, default=str))
            _print_provenance(result.provenance)
        for e in result.errors:
            err.print(f"[red]-[/] {e}")
    raise typer.Exit(0 if result.ok else 1)


@app.command(name="eval")
def evaluate_folder(
    directory: Annotated[Path, typer.Argument(help="Documents with <name>.json expected values.")],
    schema: Annotated[str, typer.Option(help="Catalog name, module:Class or file.py:Class.")],
    engine: Annotated[str, typer.Option(help="auto | vllm | server | transformers | cpu")] = "auto",
    field_map: Annotated[
        str | None,
        typer.Option("--map", help="Expected-key to schema-path map: 'invoice2data' or 'sroie'."),
    ] = None,
) -> None:
    """Run a schema over a folder with expected JSON and print per-field accuracy."""
    from docintel.jobs.evaluate import FIELD_MAPS, evaluate
    from docintel.pipeline.schema_ref import resolve_schema
    from docintel.settings import get_settings

    maps = FIELD_MAPS
    if field_map is not None and field_map not in maps:
        raise typer.BadParameter(f"unknown map {field_map!r}: use {', '.join(maps)}")
    try:
        report = evaluate(
            directory,
            resolve_schema(schema),
            engine=engine,
            field_map=maps.get(field_map or ""),
            settings=get_settings(engine=engine),
        )
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    console.print(report.render())


@app.command()
def watch(
    inbox: Annotated[Path, typer.Argument(help="The folder to watch (subfolders too).")],
    schema: Annotated[str, typer.Option(help="Catalog name, module:Class or file.py:Class.")],
    out: Annotated[Path, typer.Option(help="Where <name>.json and <name>.error.json go.")],
    store: Annotated[
        str | None,
        typer.Option(
            help="Job store: SQLite path or postgresql+psycopg:// URL [default: OUT/.docintel.db]",
            envvar="DOCINTEL_STORE",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="auto | vllm | server | transformers | cpu", envvar="DOCINTEL_ENGINE"),
    ] = "auto",
    workers: Annotated[int, typer.Option(min=1, help="Worker threads.")] = 1,
    batch: Annotated[int, typer.Option(min=1, help="Files per engine batch.")] = 8,
    settle: Annotated[float, typer.Option(help="Seconds a file must stay unchanged.")] = 2.0,
    leave: Annotated[
        bool, typer.Option("--leave", help="Leave inputs in place (default: processed/, failed/).")
    ] = False,
    queue: Annotated[
        str | None, typer.Option(help="Queue name shared by watchers on several machines.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Process what is there, then exit.")] = False,
    store_wait: Annotated[
        float,
        typer.Option(
            help="Seconds to wait for an unreachable store before giving up (exit code 75): "
            "at start, and with --once while running."
        ),
    ] = 300.0,
) -> None:
    """Extract every file dropped into INBOX, once each, until stopped (Ctrl-C)."""
    import logging

    from rich.live import Live

    from docintel.jobs.watch import Watcher
    from docintel.settings import get_settings

    try:
        watcher = Watcher(
            inbox,
            schema,
            out,
            store=store,
            engine=None if engine == "auto" else engine,
            settings=get_settings(engine=engine),
            workers=workers,
            batch_size=batch,
            settle=settle,
            after="leave" if leave else "move",
            queue=queue,
            store_wait=store_wait,
        )
    except StoreUnavailable as exc:
        err.print(f"[red]error[/] (StoreUnavailable): {exc}")
        raise typer.Exit(EXIT_STORE_UNAVAILABLE) from None
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    from rich.logging import RichHandler

    # Through the same console as the progress line, so log lines print above it cleanly.
    handler = RichHandler(console=err, show_path=False, show_level=False, markup=False)
    logging.basicConfig(
        level=logging.INFO, format="%(message)s", datefmt="%H:%M:%S", handlers=[handler]
    )
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    err.print(
        f"watching [bold]{watcher.inbox}[/] for {watcher.schema.__name__} -> {watcher.out} "
        f"(store {watcher.store.url.split('@')[-1]}); Ctrl-C stops"
    )
    with Live(console=err, transient=not err.is_terminal, auto_refresh=False) as live:
        try:
            stats = watcher.run(
                until_idle=once, progress=lambda s: live.update(_progress(s), refresh=True)
            )
        except StoreUnavailable as exc:
            err.print(f"[red]error[/] (StoreUnavailable): {exc}")
            watcher.exit(EXIT_STORE_UNAVAILABLE)
    err.print(
        f"{stats.done} done ({stats.reused} reused), {stats.failed} failed, "
        f"{stats.retried} retried, {stats.files_per_second:.2f} files/s"
    )
    watcher.exit()


def _progress(stats: WatchStats) -> Table:
    table = Table.grid(padding=(0, 2))
    names = ("queued", "in_flight", "done", "reused", "failed", "retried")
    cells = [f"{n.replace('_', ' ')} [bold]{getattr(stats, n)}[/]" for n in names]
    cells.append(f"[bold]{stats.files_per_second:.2f}[/] files/s")
    if stats.trouble:
        cells.append(f"[yellow]{stats.trouble}[/]")
    table.add_row(*cells)
    return table


@app.command()
def batch(
    schema: Annotated[str, typer.Option(help="Catalog name, module:Class or file.py:Class.")],
    out: Annotated[
        str,
        typer.Option(help="results.jsonl; a folder for --format parquet and for --ray (or s3://)."),
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Files, folders, globs ('docs/**/*.pdf'), @list.txt, URLs."),
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option(help="A text file of inputs (paths or URLs), one a line.")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="jsonl | parquet")] = "jsonl",
    engine: Annotated[
        str,
        typer.Option(help="auto | cpu | vllm | server | transformers", envvar="DOCINTEL_ENGINE"),
    ] = "auto",
    model: Annotated[str | None, typer.Option(help="Model id or local weights directory.")] = None,
    batch_size: Annotated[
        int, typer.Option("--batch", min=1, help="Documents per engine batch.")
    ] = 8,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Preprocessing processes (default: one per core); 0: all in this process.",
        ),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Extract again what failed in earlier runs.")
    ] = False,
    on_ray: Annotated[
        bool, typer.Option("--ray", help="Run on Ray Data (a local cluster, or --ray-address).")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="A Ray cluster to join: auto, ray://head:10001 (implies --ray)."),
    ] = None,
    actors: Annotated[
        int | None, typer.Option(min=1, help="Ray: extraction actors (default: from resources).")
    ] = None,
    gpus_per_actor: Annotated[
        float | None, typer.Option(min=0, help="Ray: GPUs per actor (default: 1 for vllm).")
    ] = None,
) -> None:
    """Extract a schema from many documents into JSON lines or Parquet; resumable."""
    from docintel.jobs.batch import FORMATS, iter_inputs, run_batch
    from docintel.settings import get_settings

    if output_format not in FORMATS:
        raise typer.BadParameter(f"--format {output_format!r}: use jsonl or parquet")
    specs = list(inputs or [])
    if not specs and from_file is None:
        raise typer.BadParameter("give inputs (files, folders, globs, @list.txt) or --from-file")
    settings = get_settings(engine=engine, **({"model": model} if model else {}))
    try:
        if on_ray or ray_address:
            from docintel.jobs.distributed import run_batch_on_ray

            stats: BatchStats = run_batch_on_ray(
                list(iter_inputs(specs, from_file)),
                schema,
                out,
                format=output_format,  # type: ignore[arg-type]
                engine=engine,
                address=ray_address,
                actors=actors,
                batch_size=batch_size,
                gpus_per_actor=gpus_per_actor,
                retry_failed=retry_failed,
                settings=settings,
            )
        else:
            with _BatchProgress() as show:
                stats = run_batch(
                    specs,
                    schema,
                    out,
                    format=output_format,  # type: ignore[arg-type]
                    engine=engine,
                    batch_size=batch_size,
                    workers=workers,
                    retry_failed=retry_failed,
                    from_file=from_file,
                    settings=settings,
                    progress=show.update,
                )
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    err.print(_batch_summary(stats) + f" -> {out}", markup=False, highlight=False)
    raise typer.Exit(1 if stats.failed else 0)


def _batch_summary(s: BatchStats) -> str:
    return (
        f"{s.documents} documents ({s.failed} failed), {s.pages} pages in {s.seconds:.1f} s: "
        f"{s.documents_per_second:.2f} documents/s, {s.pages_per_second:.2f} pages/s; "
        f"{s.skipped} already done, {s.duplicates} duplicates, engine {s.engine}"
    )


class _BatchProgress:
    """A rich progress bar on a terminal; elsewhere (logs, CI) a plain line every 10 s, so
    output that is not a terminal never gets control codes."""

    PLAIN_EVERY = 10.0

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._live = err.is_terminal
        self._progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[line]}"),
            console=err,
            disable=not self._live,
        )
        self._task = self._progress.add_task("batch", total=None, line="")
        self._printed = 0.0

    def __enter__(self) -> _BatchProgress:
        self._progress.start()
        self._printed = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, s: BatchStats) -> None:
        eta = "-" if s.eta is None else _duration(s.eta)
        line = (
            f"{s.pages} pages  {s.pages_per_second:.1f} pages/s  "
            f"{s.documents_per_second:.2f} docs/s  failed {s.failed}  "
            f"skipped {s.skipped + s.duplicates}  ETA {eta}"
        )
        if self._live:
            self._progress.update(self._task, completed=s.inputs, total=s.total, line=line)
        elif time.monotonic() - self._printed >= self.PLAIN_EVERY:
            total = "?" if s.total is None else s.total
            err.print(f"{s.inputs}/{total} inputs  {line}", markup=False, highlight=False)
            self._printed = time.monotonic()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


@app.command()
def status(
    out: Annotated[
        Path | None,
        typer.Argument(help="A watcher's output folder (its store is OUT/.docintel.db)."),
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="Store path or URL instead.", envvar="DOCINTEL_STORE")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a job store: pending, running, done, failed, throughput."""
    import json

    from docintel.jobs.store import Store

    target = store or (out / ".docintel.db" if out else None)
    if target is None or (not store and not Path(target).exists()):
        err.print(
            "[red]error[/]: no store found: give the watcher's output folder "
            "(docintel status OUT) or --store PATH|URL."
        )
        raise typer.Exit(2)
    try:
        summary = Store(target).summary()
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
        return
    table = Table(title="jobs", title_justify="left")
    for name in summary.counts:
        table.add_column(name, justify="right")
    table.add_column("done/s (last min)", justify="right")
    table.add_row(*map(str, summary.counts.values()), f"{summary.throughput:.2f}")
    console.print(table)
    if summary.oldest_pending_seconds is not None:
        console.print(f"oldest pending job waits {summary.oldest_pending_seconds:.0f} s")
    console.print(f"{summary.results} results stored")
    for failure in summary.recent_failures:
        console.print(f"[red]failed[/] {failure['name']}: {failure['error']}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    engine: Annotated[
        str,
        typer.Option(help="auto | vllm | server | transformers | cpu", envvar="DOCINTEL_ENGINE"),
    ] = "auto",
    model: Annotated[str | None, typer.Option(help="Model id or local weights directory.")] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(help="Accept this API key (repeat for several; or DOCINTEL_API_KEYS)."),
    ] = None,
    allow_urls: Annotated[bool, typer.Option(help="Let requests name inputs by URL.")] = False,
    batch_window_ms: Annotated[
        float | None, typer.Option(help="Micro-batching window in milliseconds.")
    ] = None,
    max_queue: Annotated[
        int | None, typer.Option(help="Requests admitted at once; more get 429.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API: POST /v1/latex, POST /v1/extract, GET /v1/schemas, /metrics."""
    from docintel.http.app import create_app, serve
    from docintel.settings import get_settings

    overrides: dict[str, object] = {"engine": engine}
    for key, value in (
        ("model", model),
        ("api_keys", api_key),
        ("batch_window_ms", batch_window_ms),
        ("max_queue", max_queue),
    ):
        if value:
            overrides[key] = value
    if allow_urls:
        overrides["allow_urls"] = True
    settings = get_settings(**overrides)
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
        err.print("[yellow]warning[/]: listening beyond this machine with no API key set")
    app_ = create_app(settings, None if engine == "auto" else engine)
    serve(app_, settings, host=host, port=port, log_level=log_level)


@app.command()
def latex(
    source: Annotated[str, typer.Argument(help="A formula image, a page image or a PDF.")],
    server: Annotated[
        str | None,
        typer.Option(help="A docintel server's URL (default: run here).", envvar="DOCINTEL_API"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="API key for the server.", envvar="DOCINTEL_API_KEY")
    ] = None,
    pages: Annotated[str | None, typer.Option(help="Pages, e.g. '1,3-5'.")] = None,
    mathml: Annotated[bool, typer.Option(help="Also print MathML.")] = False,
    engine: Annotated[
        str, typer.Option(help="auto | vllm | server | transformers", envvar="DOCINTEL_ENGINE")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Transcribe formulas to LaTeX, here or on a docintel server (--server)."""
    import json

    try:
        if server:
            answer = _latex_remote(server, source, api_key, pages, mathml)
        else:
            from docintel.ingest.load import load
            from docintel.pipeline.transcribe import transcribe
            from docintel.settings import get_settings

            settings = get_settings(engine=engine)
            doc = load(source, settings=settings)
            chosen = _page_numbers(pages, len(doc)) if pages else None
            found = transcribe(doc, pages=chosen, mathml=mathml, settings=settings)
            answer = {"formulas": [t.to_dict() for t in found]}
    except DocintelError as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        for f in answer["formulas"]:
            mark = "[green]valid[/]" if f["valid"] else "[red]invalid[/]"
            where = f"page {f['page'] + 1}" + (f" box {_box(f['box'])}" if f["box"] else "")
            console.print(f"{mark}  {where}  confidence {f['confidence']:.2f}")
            console.print(f"  {f['latex']}", markup=False, highlight=False)
            for e in f["errors"][:3]:
                err.print(f"  [red]-[/] {e}")
            if f.get("mathml"):
                console.print(f"  {f['mathml']}", markup=False, highlight=False)
    raise typer.Exit(0 if all(f["valid"] for f in answer["formulas"]) else 1)


def _latex_remote(
    server: str, source: str, api_key: str | None, pages: str | None, mathml: bool
) -> dict:
    import httpx

    from docintel.errors import EngineUnavailable, InputNotFound

    path = Path(source)
    if not path.is_file():
        raise InputNotFound(f"{source} does not exist. Pass the path of an image or PDF.")
    data: dict[str, str] = {"mathml": str(mathml).lower()}
    if pages:
        data["pages"] = str(_page_numbers(pages, 100_000))  # the server checks the range
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(
            server.rstrip("/") + "/v1/latex",
            files={"file": (path.name, path.read_bytes())},
            data=data,
            headers=headers,
            timeout=600,
        )
    except httpx.HTTPError as exc:
        raise EngineUnavailable(f"cannot reach {server}: {exc}") from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise EngineUnavailable(f"{server} answered {response.status_code}: {detail}")
    return response.json()


def _box(box: list[float]) -> str:
    return "(" + ", ".join(f"{v:.0f}" for v in box) + ")"


def _print_provenance(provenance: dict) -> None:
    table = Table(title="provenance", title_justify="left")
    for col, width in (
        ("field", 26),
        ("value", 22),
        ("page", 4),
        ("box (pt)", 15),
        ("source", 10),
        ("conf", 4),
    ):
        table.add_column(col, no_wrap=True, overflow="ellipsis", max_width=width)
    for path, src in provenance.items():
        box = ",".join(f"{v:.0f}" for v in src.bbox.as_tuple()) if src.bbox else ""
        page = "" if src.page is None else str(src.page + 1)
        table.add_row(path, str(src.value), page, box, src.source, f"{src.confidence:.2f}")
    console.print(table)


def _correction_note(page: object) -> str:
    c = getattr(page, "correction", None)
    if c is None:
        return ""
    return f", rotated {c.rotation}°, deskewed {c.skew:+.1f}°"


def _page_numbers(spec: str | None, count: int) -> list[int]:
    if not spec:
        return list(range(count))
    chosen: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise typer.BadParameter(f"not a page range: {part!r}") from None
        if not 1 <= first <= last <= count:
            raise typer.BadParameter(f"pages {part!r} outside 1-{count}")
        chosen.extend(range(first - 1, last))
    return chosen


@app.command()
def train(
    directory: Annotated[
        Path, typer.Argument(help="Documents with <name>.json expected values (or img/ + key/).")
    ],
    schema: Annotated[str, typer.Option(help="Catalog name, module:Class or file.py:Class.")],
    field_map: Annotated[
        str | None,
        typer.Option("--map", help="Expected-key to schema-path map: invoice2data | sroie."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the scorer (JSON).")] = Path(
        "scorer.json"
    ),
    trees: Annotated[int, typer.Option(help="Boosting rounds per candidate group.")] = 150,
    on_shipped: Annotated[
        bool,
        typer.Option(
            "--on-shipped/--alone",
            help="Learn on top of the shipped scorer (its score a feature), or from scratch.",
        ),
    ] = True,
) -> None:
    """Fit the CPU engine's candidate scorer on a folder; use it with DOCINTEL_CPU_SCORER."""
    from docintel.jobs.evaluate import FIELD_MAPS
    from docintel.jobs.training import train as fit_folder
    from docintel.pipeline.schema_ref import resolve_schema

    if field_map is not None and field_map not in FIELD_MAPS:
        raise typer.BadParameter(f"unknown map {field_map!r}: use {', '.join(FIELD_MAPS)}")
    try:
        report = fit_folder(
            directory,
            resolve_schema(schema),
            field_map=FIELD_MAPS.get(field_map or ""),
            out=out,
            trees=trees,
            on_shipped=on_shipped,
        )
    except (DocintelError, ValueError, RuntimeError) as exc:
        err.print(f"[red]error[/] ({type(exc).__name__}): {exc}")
        raise typer.Exit(2) from None
    console.print(report.render())
    console.print(f"use it: DOCINTEL_CPU_SCORER={out} docintel extract FILE --engine cpu ...")


if __name__ == "__main__":
    app()
