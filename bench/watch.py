"""Files per second through the folder watcher with an instant engine: the watcher's own cost.

The engine (``docintel.testing.engines.InstantEngine``) answers the Memo schema at once, so
what is timed is everything around the model: intake (scan, settle), the store (enqueue,
claim, leases, results, attempts), loading each PDF, writing the JSON atomically and moving
the input. A watcher row runs ``Watcher(...).run(until_idle=True)`` over N distinct one-page
PDFs, timed from start to idle, with a fresh inbox and a fresh store. Its baseline, in the same
run: ``docintel.extract_many`` over the same files with the same engine and settings, in the
same batches (over the same number of threads), no watcher and no store. The difference per
file is the watcher's overhead; it includes the fixed delays (``settle`` 0.2 s before a file is
taken, the 0.25 s idle check), which weigh less as N grows. Stores: SQLite (the default,
OUT/.docintel.db) and PostgreSQL (a throwaway local server started and stopped here by
``docintel.testing.postgres``, fsync off, a new database per run; skipped with a reason when
initdb is not found). Each row is the best of ``--repeat`` runs. Usage::

    python bench/watch.py [--files 200] [--batch 8] [--workers 1 4] [--repeat 3] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "tests"))  # the watcher tests' Memo schema and PDF maker

from watch_support import MEMO_ANSWER, Memo, pdf_bytes  # noqa: E402

import docintel  # noqa: E402
from docintel.jobs.store import Store  # noqa: E402
from docintel.jobs.watch import Watcher  # noqa: E402
from docintel.settings import Settings, get_settings  # noqa: E402
from docintel.testing import postgres  # noqa: E402
from docintel.testing.engines import InstantEngine  # noqa: E402

SETTLE = 0.2


def baseline(paths: list[Path], batch: int, workers: int, settings: Settings) -> float:
    """Seconds for ``extract_many`` over ``paths`` in batches of ``batch``, on ``workers``
    threads: what the watcher does minus the watcher and the store."""
    engine = InstantEngine(MEMO_ANSWER)
    batches = [paths[i : i + batch] for i in range(0, len(paths), batch)]

    def run(group: list[Path]) -> int:
        results = docintel.extract_many(group, Memo, engine=engine, settings=settings)
        return sum(r.ok for r in results)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        ok = sum(pool.map(run, batches))
    seconds = time.perf_counter() - start
    assert ok == len(paths), f"baseline: {len(paths) - ok} of {len(paths)} failed"
    return seconds


def through_watcher(
    sources: list[Path], work: Path, store_url: str | None, batch: int, workers: int,
    settings: Settings, timeout: float = 120.0,
) -> float:  # fmt: skip
    """Seconds from ``run`` to idle for the watcher over copies of ``sources``; RuntimeError
    when it is not idle after ``timeout`` seconds (then it is stopped)."""
    inbox, out = work / "inbox", work / "out"
    inbox.mkdir(parents=True)
    for path in sources:
        shutil.copyfile(path, inbox / path.name)
    store = Store(store_url or out / ".docintel.db")
    try:
        watcher = Watcher(
            inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), settle=SETTLE,
            batch_size=batch, workers=workers, settings=settings, store=store,
        )  # fmt: skip
        start = time.perf_counter()

        def guard(_stats: object) -> None:
            if time.perf_counter() - start > timeout:
                watcher.stop()
                watcher.stop()  # the second stop does not wait for in-flight jobs

        stats = watcher.run(until_idle=True, progress=guard)
        seconds = time.perf_counter() - start
    finally:
        store.close()
    if seconds > timeout:
        raise RuntimeError(f"not idle after {timeout:.0f} s ({stats.done} done, see stderr)")
    written = len(list(out.glob("*.json")))
    assert stats.done == len(sources) and stats.failed == 0, stats
    assert stats.reused == 0 and written == len(sources), (stats, written)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per row")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per row")
    args = parser.parse_args()

    settings = get_settings(target_longest_side=256)
    with tempfile.TemporaryDirectory(prefix="docintel-bench-watch-") as tmp_name:
        tmp = Path(tmp_name)
        sources = tmp / "files"
        sources.mkdir()
        paths = []
        for i in range(args.files):
            path = sources / f"memo-{i:05d}.pdf"
            path.write_bytes(pdf_bytes(f"memo {i}"))
            paths.append(path)

        # warm up imports (pymupdf, watchfiles, SQLAlchemy) outside the timings
        baseline(paths[:4], args.batch, 1, settings)
        through_watcher(paths[:4], tmp / "warmup", None, args.batch, 1, settings)

        base = {
            w: min(baseline(paths, args.batch, w, settings) for _ in range(args.repeat))
            for w in args.workers
        }

        with_pg = not args.no_postgres and postgres.available()
        if args.no_postgres:
            print("postgresql: skipped (--no-postgres)")
        elif not with_pg:
            print("postgresql: skipped: initdb/pg_ctl not found (PATH, /usr/lib/postgresql/*/bin)")

        print(
            f"{args.files} one-page PDFs, batch {args.batch}, settle {SETTLE} s, page images "
            f"256 px, InstantEngine (no model), best of {args.repeat}, {os.cpu_count()} CPUs"
        )
        header = (
            f"{'store':10} {'workers':>7} {'seconds':>8} {'files/s':>8} "
            f"{'baseline files/s':>17} {'overhead ms/file':>17}"
        )
        print(header)
        print("-" * len(header))

        def row(label: str, new_store: Callable[[], str | None], workers: int) -> None:
            times = []
            for _ in range(args.repeat):  # a new inbox and a new store each time
                work = Path(tempfile.mkdtemp(dir=tmp))
                try:
                    times.append(
                        through_watcher(
                            paths, work, new_store(), args.batch, workers, settings, args.timeout
                        )
                    )
                except RuntimeError as exc:
                    print(f"{label:10} {workers:>7} {exc}")
                    return
            seconds = min(times)
            overhead = (seconds - base[workers]) / args.files * 1000
            print(
                f"{label:10} {workers:>7} {seconds:>8.2f} {args.files / seconds:>8.1f} "
                f"{args.files / base[workers]:>17.1f} {overhead:>17.2f}"
            )

        for workers in args.workers:
            row("sqlite", lambda: None, workers)
        if with_pg:
            try:
                with postgres.temporary_postgres() as server:
                    for workers in args.workers:  # a new database each: no results to reuse
                        row("postgresql", lambda: postgres.new_database(server), workers)
            except subprocess.CalledProcessError as exc:
                tool = next((Path(c).name for c in exc.cmd if c.endswith(("initdb", "pg_ctl"))), "")
                lines = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
                print(f"postgresql: skipped: {tool} failed: {lines[-1] if lines else exc}")


if __name__ == "__main__":
    main()
