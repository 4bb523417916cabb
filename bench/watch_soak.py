"""Soak: many files through watcher processes while the world fails around them.

Two watcher processes share a private PostgreSQL store and one inbox; files arrive in waves
while the run stops and starts the database (twice), makes the output folder read-only for a
while (a tmpfs remounted read-only: needs root; skipped otherwise) and kills a watcher with
SIGKILL (three times; a new one takes its place). At the end: every input must have exactly
one output (result or error file), the store must agree, nothing may be left pending, and the
watchers must still take a new file.

    python bench/watch_soak.py [--files 1000] [--ro-seconds 60] [--db-seconds 10]

Prints a table of what happened and the checks. The engine answers instantly: what is under
test is the watcher, not extraction.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from watch_support import pdf_bytes  # noqa: E402

from docintel.jobs.store import Store  # noqa: E402
from docintel.testing import postgres  # noqa: E402

WORKER = ROOT / "tests" / "watch_worker.py"


def start_worker(inbox: Path, out: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(inbox), str(out), url, "--batch", "8", "--lease", "5"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--ro-seconds", type=float, default=60.0)
    parser.add_argument("--db-seconds", type=float, default=10.0)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="docintel-soak-"))
    inbox, out = root / "inbox", root / "out"
    inbox.mkdir()
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(out)]).returncode == 0
    events: list[tuple[float, str]] = []
    start = time.monotonic()

    def note(what: str) -> None:
        events.append((time.monotonic() - start, what))
        print(f"{time.monotonic() - start:7.1f} s  {what}", flush=True)

    server = postgres.Server()
    server.start()
    url = postgres.new_database(server.url)
    log = root / "workers.log"
    workers = [start_worker(inbox, out, url, log) for _ in range(2)]
    kills = 0
    waves = 10
    per_wave = args.files // waves
    names: list[str] = []
    try:
        for wave in range(waves):
            for i in range(per_wave):
                name = f"w{wave:02d}/{i:04d}.pdf"
                (inbox / name).parent.mkdir(exist_ok=True)
                tmp = inbox / f"{name}.part"
                tmp.write_bytes(pdf_bytes(name))
                tmp.rename(inbox / name)
                names.append(name)
            note(f"wave {wave}: {len(names)} files in")
            if wave in (2, 6):
                server.stop()
                note("database stopped")
                time.sleep(args.db_seconds)
                server.start()
                note("database started")
            if wave in (1, 4, 8):
                victim = workers.pop(0)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                kills += 1
                note(f"watcher {victim.pid} killed (-9)")
                workers.append(start_worker(inbox, out, url, log))
            if wave == 5 and mounted:
                subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
                note("output folder read-only")
                time.sleep(args.ro_seconds)
                subprocess.run(["mount", "-o", "remount,rw", str(out)], check=True)
                note("output folder writable")
        last_fault = time.monotonic()
        store = Store(url)
        while True:
            jobs = store.jobs()
            open_ = [j for j in jobs if j.status in ("pending", "running")]
            if len(jobs) >= len(names) and not open_:
                break
            if time.monotonic() - last_fault > 600:
                note(f"gave up waiting: {len(open_)} jobs still open")
                break
            time.sleep(0.5)
        finished = time.monotonic() - last_fault
        note(f"all jobs closed {finished:.1f} s after the last fault")
        late = "late.pdf"
        (inbox / late).write_bytes(pdf_bytes(late))
        deadline = time.monotonic() + 60
        while not (out / f"{late}.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        still_taking = (out / f"{late}.json").exists()
        note(f"a new file after the run: {'taken' if still_taking else 'NOT taken'}")

        outputs = {p.relative_to(out).as_posix() for p in out.rglob("*.json")}
        jobs = {j.name: j for j in store.jobs()}
        one_each = sum(
            ((f"{n}.json" in outputs) + (f"{n}.error.json" in outputs)) == 1 for n in names
        )
        rows = [
            ("files dropped", len(names)),
            ("results", sum(f"{n}.json" in outputs for n in names)),
            ("error files", sum(f"{n}.error.json" in outputs for n in names)),
            ("inputs with exactly one output", one_each),
            ("store: jobs", len(jobs) - (late in jobs)),
            ("store: done", sum(j.status == "done" for j in jobs.values()) - (late in jobs)),
            (
                "store: pending or running",
                sum(j.status in ("pending", "running") for j in jobs.values()),
            ),
            ("inputs left in the inbox", sum(1 for n in names if (inbox / n).exists())),
            ("SIGKILLs", kills),
            ("database outages", 2),
            ("read-only output", f"{args.ro_seconds:g} s" if mounted else "skipped (no mount)"),
            ("seconds to finish after the last fault", f"{finished:.1f}"),
            ("new file taken afterwards", still_taking),
        ]
        width = max(len(k) for k, _ in rows)
        print()
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        ok = one_each == len(names) and still_taking and len(jobs) - (late in jobs) == len(names)
        print("\nPASS" if ok else "\nFAIL")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        server.remove()
        if mounted:
            subprocess.run(["umount", "-l", str(out)])
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
