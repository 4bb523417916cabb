"""The watcher in a hostile world, for real: a database that stops, an output folder that is full
or refuses writes, odd and over-long file names, slow writers, files that break a batch, the
same name dropped twice. Each test runs the real ``Watcher`` (or the real CLI) on real files and
real stores, injects the fault, and checks that nothing is lost or doubled and that the watcher
is still working afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from watch_support import MEMO_ANSWER, Memo, drop, pdf_bytes, wait_for

from docintel.errors import StoreUnavailable
from docintel.jobs.store import Store
from docintel.jobs.watch import NAME_MAX, Watcher
from docintel.settings import get_settings
from docintel.testing import postgres
from docintel.testing.engines import InstantEngine

SMALL = get_settings(target_longest_side=128)
FAST = dict(settle=0.2, poll=0.05, backoff=0.05, backoff_cap=0.5, settings=SMALL)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    return tmp_path / "inbox"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def pg() -> Iterator[postgres.Server]:
    """A PostgreSQL server of this test's own, to stop and start."""
    postgres.require()
    with postgres.temporary_server() as server:
        yield server


class Running:
    """A watcher running in a thread until ``stop()``; its exception, if any, kept."""

    def __init__(self, watcher: Watcher, until_idle: bool = False) -> None:
        self.watcher = watcher
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(until_idle,), daemon=True)
        self.thread.start()

    def _run(self, until_idle: bool) -> None:
        try:
            self.watcher.run(until_idle=until_idle, handle_signals=False)
        except BaseException as exc:
            self.error = exc

    def alive_workers(self) -> int:
        return sum(t.is_alive() for t in self.watcher._threads)

    def stop(self) -> None:
        self.watcher.stop()
        self.thread.join(30)


def outputs(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))


def test_database_down_then_back(inbox: Path, out: Path, pg: postgres.Server) -> None:
    """Stopped mid-run and started again: every file comes out once, no worker died."""
    watcher = Watcher(inbox, Memo, out, store=pg.url, engine=InstantEngine(MEMO_ANSWER), **FAST)
    running = Running(watcher)
    try:
        wait_for(lambda: watcher.intake.scanned.is_set())
        threads = 2 + watcher.workers  # intake, heartbeat, workers
        names = [f"{i}.pdf" for i in range(10)]
        for name in names[:5]:
            drop(inbox, name, pdf_bytes(name))
        wait_for(lambda: watcher.stats.done == 5, 30)
        pg.stop()
        for name in names[5:]:
            drop(inbox, name, pdf_bytes(name))
        wait_for(lambda: "store down" in watcher.stats.trouble, 30)
        time.sleep(2)  # several failed claims and enqueues while it is down
        assert running.alive_workers() == threads  # nobody died
        pg.start()
        wait_for(lambda: watcher.stats.done == 10, 60)
        wait_for(lambda: watcher.stats.trouble == "", 10)
        drop(inbox, "after.pdf", pdf_bytes("after"))  # still taking new files
        wait_for(lambda: watcher.stats.done == 11, 30)
    finally:
        running.stop()
    assert running.error is None
    assert outputs(out) == sorted(f"{n}.json" for n in [*names, "after.pdf"])
    jobs = Store(pg.url).jobs()
    assert sorted(j.name for j in jobs) == sorted([*names, "after.pdf"])
    assert {j.status for j in jobs} == {"done"}


def test_once_gives_up_on_a_database_that_stays_down(
    inbox: Path, out: Path, pg: postgres.Server
) -> None:
    """--once waits within its bound, then stops with a typed error (CLI: exit code 75)."""
    drop(inbox, "a.pdf", pdf_bytes("a"))
    watcher = Watcher(
        inbox, Memo, out, store=pg.url, engine=InstantEngine(MEMO_ANSWER), store_wait=2, **FAST
    )
    pg.stop()
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match="unreachable for"):
        watcher.run(until_idle=True, handle_signals=False)
    assert time.monotonic() - start < 20
    # At start: the CLI waits, then exits 75 with the reason.
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("docintel")), "watch", str(inbox),
         "--schema", "invoice", "--out", str(out), "--store", pg.url, "--engine", "cpu", "--once",
         "--store-wait", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 75, cli.stderr
    assert "StoreUnavailable" in cli.stderr and "waited 2 s" in cli.stderr
    pg.start()
    stats = watcher.run(until_idle=True, handle_signals=False)  # and nothing was lost
    assert stats.done == 1 and outputs(out) == ["a.pdf.json"]


def tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)])
    if done.returncode != 0:
        if os.geteuid() == 0:  # root can mount: a failure is real
            pytest.fail(f"mounting a tmpfs at {path} failed")
        pytest.skip("mounting a tmpfs needs root")


def test_output_folder_full_then_read_only_then_fine(inbox: Path, out: Path) -> None:
    """Writes fail (no space, then read-only): jobs wait, no worker dies, no temp file stays."""
    tmpfs(out, "256k")
    try:
        filler = out / "filler"
        with filler.open("wb", buffering=0) as f:  # no space left
            try:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass
        store = out.parent / "store.db"  # the store elsewhere: the output folder is what fails
        engine = InstantEngine(MEMO_ANSWER)
        watcher = Watcher(inbox, Memo, out, store=store, engine=engine, **FAST)
        running = Running(watcher)
        wait_for(lambda: watcher.intake.scanned.is_set())
        threads = 2 + watcher.workers  # intake, heartbeat, workers
        names = [f"{i}.pdf" for i in range(4)]
        for name in names:
            drop(inbox, name, pdf_bytes(name))
        wait_for(lambda: "output folder down" in watcher.stats.trouble, 30)
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        time.sleep(1.5)
        assert watcher.stats.done < 4 and running.alive_workers() == threads
        subprocess.run(["mount", "-o", "remount,rw", str(out)], check=True)
        wait_for(lambda: watcher.stats.done == 4, 60)
        running.stop()
        assert running.error is None
        assert outputs(out) == sorted(f"{n}.json" for n in names)
        assert not list(out.rglob(".docintel-*.tmp"))
        assert {j.status for j in Store(store).jobs()} == {"done"}
    finally:
        subprocess.run(["umount", "-l", str(out)])


def test_output_name_taken_by_a_folder_is_retried(inbox: Path, out: Path) -> None:
    """A write that fails for one file leaves the others alone and is retried."""
    (out / "a.pdf.json").mkdir(parents=True)  # the output name is taken: writes fail
    for name in ("a.pdf", "b.pdf"):
        drop(inbox, name, pdf_bytes(name))
    watcher = Watcher(inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), **FAST)
    running = Running(watcher)
    try:
        wait_for(lambda: watcher.stats.done == 1 and watcher.stats.retried >= 2, 30)
        (out / "a.pdf.json").rmdir()
        wait_for(lambda: watcher.stats.done == 2, 30)
    finally:
        running.stop()
    assert outputs(out) == ["a.pdf.json", "b.pdf.json"]


def test_names_not_utf8_and_near_the_limit(inbox: Path, out: Path) -> None:
    """Legal but odd names are processed, at start and while watching; outputs fit."""
    odd = os.fsdecode(b"caf\xe9-at-start.pdf")
    (inbox / odd).write_bytes(pdf_bytes("odd"))
    long = "x" * (NAME_MAX - 8) + ".pdf"  # 251 bytes: "<name>.json" would not fit
    watcher = Watcher(inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), **FAST)
    running = Running(watcher)
    try:
        wait_for(lambda: watcher.intake.scanned.is_set())
        (inbox / os.fsdecode(b"\xff\xfe-while-watching.pdf")).write_bytes(pdf_bytes("odd 2"))
        (inbox / long).write_bytes(pdf_bytes("long"))
        (inbox / os.fsdecode(b"broken-\xff" + b"y" * 200 + b".pdf")).write_bytes(b"%PDF-1.7 no")
        wait_for(lambda: watcher.stats.done == 3 and watcher.stats.failed == 1, 30)
        drop(inbox, "plain.pdf", pdf_bytes("plain"))  # intake still works
        wait_for(lambda: watcher.stats.done == 4, 30)
    finally:
        running.stop()
    names = outputs(out)
    assert "caf\\xe9-at-start.pdf.json" in names and "\\xff\\xfe-while-watching.pdf.json" in names
    assert all(len(n.encode()) <= NAME_MAX for n in names), names
    assert sum(n.endswith(".error.json") for n in names) == 1
    assert len(names) == 5
    assert len(os.listdir(inbox)) == 2  # processed/ and failed/: every input moved


def test_one_bad_document_does_not_sink_its_batch(inbox: Path, out: Path) -> None:
    """A document that cannot be read stays alone with its error; no retries."""
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        drop(inbox, name, pdf_bytes(name))
    (inbox / "d.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Pages/Count 9999999999>>endobj")
    watcher = Watcher(inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), batch_size=8, **FAST)
    stats = watcher.run(until_idle=True, handle_signals=False)
    assert (stats.done, stats.failed, stats.retried) == (3, 1, 0)
    assert outputs(out) == ["a.pdf.json", "b.pdf.json", "c.pdf.json", "d.pdf.error.json"]


def test_slow_writer_pausing_past_the_settle_time(inbox: Path, out: Path) -> None:
    """A half-written file that fails to parse goes back to waiting, and is done once whole."""
    data = pdf_bytes("slow")
    watcher = Watcher(inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), **FAST)
    running = Running(watcher)
    try:
        wait_for(lambda: watcher.intake.scanned.is_set())
        with (inbox / "slow.pdf").open("wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(2)  # ten times the settle time, file still open
            f.write(data[len(data) // 2 :])
        wait_for(lambda: watcher.stats.done == 1, 30)
        time.sleep(0.5)
    finally:
        running.stop()
    assert watcher.stats.failed == 0
    assert outputs(out) == ["slow.pdf.json"]
    assert (inbox / "processed" / "slow.pdf").read_bytes() == data


def test_same_name_dropped_again(inbox: Path, out: Path) -> None:
    """Each version of a name gets its own output; a good version clears an earlier error."""
    watcher = Watcher(inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), **FAST)
    drop(inbox, "y.pdf", pdf_bytes("first"))
    drop(inbox, "x.pdf", b"%PDF-1.7 corrupt")
    watcher.run(until_idle=True, handle_signals=False)
    assert outputs(out) == ["x.pdf.error.json", "y.pdf.json"]
    second = pdf_bytes("second")
    drop(inbox, "y.pdf", second)
    drop(inbox, "x.pdf", pdf_bytes("x, good now"))
    watcher.run(until_idle=True, handle_signals=False)
    import hashlib

    tag = hashlib.sha256(second).hexdigest()[:8]
    assert outputs(out) == sorted(["x.pdf.json", "y.pdf.json", f"y.pdf.{tag}.json"])


def test_work_over_the_budget_fails_alone_with_bounded_memory(inbox: Path, out: Path) -> None:
    """A 2000-page PDF (tiny on disk) and a 1000-frame TIFF are refused before rendering."""
    import io

    import pymupdf
    from PIL import Image

    pdf = pymupdf.open()
    for _ in range(2000):
        pdf.new_page()
    (inbox / "pages.pdf").write_bytes(pdf.tobytes())
    frames = [Image.new("1", (1000, 1000), 1) for _ in range(1000)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], compression="group4")
    (inbox / "frames.tiff").write_bytes(buf.getvalue())
    drop(inbox, "fine.pdf", pdf_bytes("fine"))
    before = _rss_mib()
    watcher = Watcher(inbox, Memo, out, engine=InstantEngine(MEMO_ANSWER), **FAST)
    stats = watcher.run(until_idle=True, handle_signals=False)
    grown = _rss_mib() - before
    assert (stats.done, stats.failed) == (1, 2)
    for name in ("pages.pdf", "frames.tiff"):
        report = json.loads((out / f"{name}.error.json").read_text())
        assert report["error"] == "InputTooLarge", report
        assert "max_work_pages" in report["message"] or "pixels" in report["message"]
    assert grown < 300, f"RSS grew {grown:.0f} MiB"


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
