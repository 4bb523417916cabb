"""The folder watcher, for real: real files, real SQLite and PostgreSQL stores, real processes.

The engine answers instantly (or fails on purpose): what is under test is everything around
it. Each fault test ends by checking that every input has exactly one result or one error file
and that the store agrees.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner
from watch_support import MEMO_ANSWER, Memo, drop, pdf_bytes, wait_for

from docintel.cli import app
from docintel.engines.base import GenerationOutput, GenerationRequest
from docintel.jobs.store import Store
from docintel.jobs.watch import Watcher, ignored
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine

WORKER = Path(__file__).parent / "watch_worker.py"
SMALL = get_settings(target_longest_side=128)  # page images are not what is under test


def watcher(inbox: Path, out: Path, engine: object, **options: object) -> Watcher:
    options = {"settle": 0.2, "poll": 0.05, "settings": SMALL, **options}
    return Watcher(inbox, Memo, out, engine=engine, **options)  # type: ignore[arg-type]


def check_outcome(inbox: Path, out: Path, names: Sequence[str], failed: Sequence[str] = ()) -> None:
    """Each input: exactly one result or one error file, its input moved, the store agreeing."""
    for name in names:
        ok, error = (out / f"{name}.json").exists(), (out / f"{name}.error.json").exists()
        assert ok != error, f"{name}: result {ok}, error file {error}"
        assert error == (name in failed), name
        assert (inbox / ("failed" if error else "processed") / name).exists(), name
        assert not (inbox / name).exists(), name
    outputs = sorted(p.name for p in out.rglob("*.json"))
    assert len(outputs) == len(names)
    jobs = Store(out / ".docintel.db").jobs()
    assert sorted(j.name for j in jobs) == sorted(names)  # one job per input, no more
    assert {j.name: j.status for j in jobs} == {
        n: "failed" if n in failed else "done" for n in names
    }


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def test_ignored_names() -> None:
    for name in ("a.pdf.part", "a.crdownload", "a.tmp", ".hidden.pdf", "~$report.docx", "x.PART"):
        assert ignored(name), name
    for name in ("a.pdf", "scan 1.png", "a.partial.pdf"):
        assert not ignored(name), name


def test_files_are_extracted_in_engine_batches(inbox: Path, out: Path) -> None:
    names = [f"doc-{i}.pdf" for i in range(6)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    drop(inbox, "sub/nested.pdf", pdf_bytes("nested"))
    for name in ("partial.pdf.part", ".hidden.pdf", "~$lock.pdf", "dl.crdownload"):
        (inbox / name).write_bytes(b"not yet")
    engine = InstantEngine(MEMO_ANSWER)
    stats = watcher(inbox, out, engine, batch_size=8).run(until_idle=True)
    assert stats.done == 7 and stats.failed == 0
    assert engine.batches == [7]  # several files' requests in one engine batch
    check_outcome(inbox, out, [*names, "sub/nested.pdf"])
    data = json.loads((out / "doc-0.pdf.json").read_text())
    assert data["ok"] and data["value"] == {"title": None} and data["input"] == "doc-0.pdf"
    assert data["engine"] == "instant" and len(data["attempts"]) == 1
    for name in ("partial.pdf.part", ".hidden.pdf", "~$lock.pdf", "dl.crdownload"):
        assert (inbox / name).exists()  # never touched


def test_a_file_written_slowly_is_taken_once_complete(inbox: Path, out: Path) -> None:
    data = pdf_bytes("written slowly")
    chunks = [data[i : i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    target = inbox / "slow.pdf"

    def write() -> None:
        with target.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
                f.flush()
                time.sleep(0.15)

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(target.exists)
    stats = watcher(inbox, out, InstantEngine(MEMO_ANSWER), settle=1.0).run(until_idle=True)
    writer.join()
    assert (stats.done, stats.failed) == (1, 0)
    check_outcome(inbox, out, ["slow.pdf"])
    assert (inbox / "processed" / "slow.pdf").read_bytes() == data


def test_two_hundred_files_at_once(inbox: Path, out: Path) -> None:
    names = [f"batch/{i:03d}.pdf" for i in range(200)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    engine = InstantEngine(MEMO_ANSWER)
    stats = watcher(inbox, out, engine, batch_size=16, workers=2).run(until_idle=True)
    assert stats.done == 200
    assert sum(engine.batches) == 200 and max(engine.batches) == 16
    check_outcome(inbox, out, names)


def test_a_corrupt_pdf_among_good_ones(inbox: Path, out: Path) -> None:
    good = [f"good-{i}.pdf" for i in range(4)]
    for name in good:
        drop(inbox, name, pdf_bytes(name))
    drop(inbox, "corrupt.pdf", b"%PDF-1.7\n" + os.urandom(2000))
    drop(inbox, "empty.pdf", b"")
    engine = InstantEngine(MEMO_ANSWER)
    stats = watcher(inbox, out, engine).run(until_idle=True)
    assert (stats.done, stats.failed, stats.retried) == (4, 2, 0)  # poison: never retried
    check_outcome(inbox, out, [*good, "corrupt.pdf", "empty.pdf"], ["corrupt.pdf", "empty.pdf"])
    report = json.loads((out / "corrupt.pdf.error.json").read_text())
    assert report["error"] == "CorruptDocument" and "re-export" in report["message"]
    assert json.loads((out / "empty.pdf.error.json").read_text())["error"] == "EmptyDocument"
    assert sum(engine.batches) == 4  # the bad ones never reached the engine
    assert all(j.attempts == 1 for j in Store(out / ".docintel.db").jobs())


def test_same_content_under_two_names_is_extracted_once(inbox: Path, out: Path) -> None:
    data = pdf_bytes("one invoice")
    drop(inbox, "a.pdf", data)
    drop(inbox, "copy of a.pdf", data)
    engine = InstantEngine(MEMO_ANSWER)
    first = watcher(inbox, out, engine).run(until_idle=True)
    assert engine.batches == [1] and (first.done, first.reused) == (2, 1)
    drop(inbox, "third copy.pdf", data)  # later, another watcher: the stored result is reused
    stats = watcher(inbox, out, engine).run(until_idle=True)
    assert (stats.done, stats.reused) == (1, 1) and engine.batches == [1]
    check_outcome(inbox, out, ["a.pdf", "copy of a.pdf", "third copy.pdf"])
    assert json.loads((out / "third copy.pdf.json").read_text())["reused"] is True
    store = Store(out / ".docintel.db")
    assert len(store.results()) == 1
    assert len({j.result_id for j in store.jobs()}) == 1


def test_engine_down_then_recovering(inbox: Path, out: Path) -> None:
    names = [f"{i}.pdf" for i in range(3)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    engine = InstantEngine(MEMO_ANSWER, fail_first=3)  # raises, as an unreachable server does
    stats = watcher(inbox, out, engine, backoff=0.05).run(until_idle=True)
    assert (stats.done, stats.failed, stats.retried) == (3, 0, 9)
    check_outcome(inbox, out, names)
    assert all(j.attempts == 4 for j in Store(out / ".docintel.db").jobs())


class ErrorsThenAnswers:
    """Returns engine errors (not raised: per request, as vLLM reports them) for a while."""

    name, model = "flaky", "flaky"

    def __init__(self, errors: int) -> None:
        self.errors, self.calls = errors, 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        self.calls += 1
        if self.calls <= self.errors:
            return [GenerationOutput("", "error", error="CUDA out of memory") for _ in requests]
        return [GenerationOutput(MEMO_ANSWER, "stop") for _ in requests]

    def close(self) -> None:
        pass


def test_engine_errors_are_transient_and_bad_answers_are_not(inbox: Path, out: Path) -> None:
    drop(inbox, "a.pdf", pdf_bytes("a"))
    stats = watcher(inbox, out, ErrorsThenAnswers(3), backoff=0.05).run(until_idle=True)
    assert (stats.done, stats.retried) == (1, 1)  # 3 attempts of errors: one job retry
    drop(inbox, "b.pdf", pdf_bytes("b"))
    nonsense = InstantEngine('{"title": 42}')  # never validates: poison, not retried
    stats = watcher(inbox, out, nonsense, backoff=0.05).run(until_idle=True)
    assert (stats.failed, stats.retried) == (1, 0)
    check_outcome(inbox, out, ["a.pdf", "b.pdf"], failed=["b.pdf"])
    report = json.loads((out / "b.pdf.error.json").read_text())
    assert report["error"] == "ExtractionFailed" and len(report["result"]["attempts"]) == 3


def test_transient_failures_give_up_after_the_retry_limit(inbox: Path, out: Path) -> None:
    drop(inbox, "a.pdf", pdf_bytes("a"))
    engine = InstantEngine(MEMO_ANSWER, fail_first=100)
    stats = watcher(inbox, out, engine, backoff=0.01, retry_limit=3).run(until_idle=True)
    assert (stats.failed, stats.retried) == (1, 2)
    check_outcome(inbox, out, ["a.pdf"], failed=["a.pdf"])
    assert (
        "gave up after 3 attempts" in json.loads((out / "a.pdf.error.json").read_text())["message"]
    )


def test_leave_in_place_and_restart_processes_nothing_twice(inbox: Path, out: Path) -> None:
    names = ["a.pdf", "b.pdf"]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    engine = InstantEngine(MEMO_ANSWER)
    leaving = watcher(inbox, out, engine, after="leave")
    assert leaving.run(until_idle=True).done == 2
    assert all((inbox / n).exists() for n in names)
    assert leaving.run(until_idle=True).done == 0  # the same watcher, run again
    again = watcher(inbox, out, engine, after="leave").run(until_idle=True)  # a restart
    assert (again.queued, again.done) == (0, 0) and engine.batches == [2]
    # Switching to moving: finished jobs whose inputs are still here get them moved, nothing
    # is extracted again (the same path as repairing a crash between closing and moving).
    moved = watcher(inbox, out, engine).run(until_idle=True)
    assert (moved.queued, moved.done) == (0, 0) and engine.batches == [2]
    check_outcome(inbox, out, names)


def test_cli_watch_once_and_status(fixtures: Path, inbox: Path, out: Path) -> None:
    """The real CPU engine (text layer), through the command line."""
    (inbox / "invoice-1.pdf").write_bytes((fixtures / "invoice-1.pdf").read_bytes())
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    runner = CliRunner(env={"COLUMNS": "160"})
    args = ["watch", str(inbox), "--schema", "invoice", "--out", str(out), "--once"]
    result = runner.invoke(app, [*args, "--settle", "0.2", "--engine", "cpu"])
    assert result.exit_code == 0, result.output
    assert "1 done (0 reused), 1 failed" in result.output
    invoice = json.loads((out / "invoice-1.pdf.json").read_text())
    assert invoice["value"]["invoice_number"] == "NW-2024-00417"
    assert invoice["provenance"]["invoice_number"]["page"] == 0
    check_outcome(inbox, out, ["invoice-1.pdf", "broken.pdf"], failed=["broken.pdf"])
    status = runner.invoke(app, ["status", str(out), "--json"])
    assert status.exit_code == 0, status.output
    summary = json.loads(status.output)
    assert summary["counts"]["done"] == 1 and summary["counts"]["failed"] == 1
    assert summary["results"] == 1
    table = runner.invoke(app, ["status", str(out)])
    assert "broken.pdf" in table.output and "CorruptDocument" in table.output
    missing = runner.invoke(app, ["status", str(out / "nowhere")])
    assert missing.exit_code == 2 and "no store found" in missing.output


# ---- separate processes: crashes, signals, several workers --------------------------------


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    """A failed test must not leave its worker processes running."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_worker(inbox: Path, out: Path, store: str, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, str(WORKER), str(inbox), str(out), store, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _STARTED.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"  # imports done: timing starts here
    return proc


def running(store: Store) -> list[str]:
    return [j.name for j in store.jobs("running")]


def test_worker_killed_mid_job_then_restarted(inbox: Path, out: Path) -> None:
    names = [f"{i}.pdf" for i in range(6)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    db = str(out / ".docintel.db")
    slow = start_worker(inbox, out, db, "--delay", "30", "--batch", "2", "--lease", "1")
    store = Store(db)
    wait_for(lambda: len(running(store)) == 2)
    slow.send_signal(signal.SIGKILL)
    slow.wait()
    killed = running(store)  # (an earlier batch of one may have finished: claims are greedy)
    assert len(killed) == 2 and not any((out / f"{n}.json").exists() for n in killed)
    again = start_worker(inbox, out, db, "--once", "--lease", "1")
    assert again.wait(timeout=60) == 0, again.stdout.read() if again.stdout else ""
    check_outcome(inbox, out, names)
    attempts = {j.name: j.attempts for j in store.jobs()}
    assert all(attempts[n] == (2 if n in killed else 1) for n in names)  # the lease ran out


def test_sigterm_finishes_in_flight_jobs(inbox: Path, out: Path) -> None:
    names = [f"{i}.pdf" for i in range(4)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    db = str(out / ".docintel.db")
    worker = start_worker(inbox, out, db, "--delay", "1.5", "--batch", "2")
    store = Store(db)
    wait_for(lambda: len(running(store)) == 2)
    in_hand = running(store)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    done = [j.name for j in store.jobs("done")]
    assert set(in_hand) <= set(done) and not running(store)  # the batch in hand finished
    assert len(store.jobs("pending")) == 4 - len(done) > 0  # and nothing new was claimed


def test_sigterm_releases_what_cannot_finish_in_time(inbox: Path, out: Path) -> None:
    names = [f"{i}.pdf" for i in range(2)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    db = str(out / ".docintel.db")
    worker = start_worker(inbox, out, db, "--delay", "30", "--drain", "0.3")
    store = Store(db)
    wait_for(lambda: len(running(store)) > 0)
    in_hand = running(store)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    pending = store.jobs("pending")
    assert len(pending) == 2 and not running(store)
    assert all(j.attempts == 0 for j in pending if j.name in in_hand)  # released, not counted
    again = start_worker(inbox, out, db, "--once")
    assert again.wait(timeout=60) == 0
    check_outcome(inbox, out, names)


def test_two_worker_processes_share_one_postgresql(
    inbox: Path, out: Path, postgres_url: str
) -> None:
    names = [f"{i:02d}.pdf" for i in range(40)]
    for name in names:
        drop(inbox, name, pdf_bytes(name))
    workers = [
        start_worker(inbox, out, postgres_url, "--once", "--batch", "2", "--delay", "0.3")
        for _ in range(2)
    ]
    for w in workers:
        assert w.wait(timeout=120) == 0, w.stdout.read() if w.stdout else ""
    stats = [json.loads(w.stdout.read().strip().splitlines()[-1]) for w in workers if w.stdout]
    assert sum(s["done"] for s in stats) == 40 and all(s["done"] > 0 for s in stats)
    store = Store(postgres_url)
    jobs = store.jobs()
    assert sorted(j.name for j in jobs) == names
    assert all(j.status == "done" and j.attempts == 1 for j in jobs)  # none taken twice
    assert len({j.lease_owner for j in jobs}) == 2
    assert len(store.results()) == 40
    for name in names:
        assert (out / f"{name}.json").exists() and (inbox / "processed" / name).exists()
