"""Intake: files in the inbox that have stopped changing, handed over a tick at a time.

File events (``watchfiles``: inotify and its kin) say when to look; a rescan every
``rescan`` seconds catches what events miss (network mounts, a failed watcher). A file is
taken once its size and mtime have not changed for ``settle`` seconds and no process holds
it open for writing. Intake never dies: it is the watcher.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from docintel.jobs.watch.files import ignored, open_for_writing
from docintel.jobs.watch.health import Health

log = logging.getLogger("docintel.watch")


class Intake:
    """Finds settled files under ``inbox`` (not under ``skip``) and calls ``take`` with them,
    all those of one tick together, as ``(path, size, mtime_ns)``; when ``take`` raises (the
    store is down) they stay candidates and are offered again next tick."""

    def __init__(
        self,
        inbox: Path,
        skip: set[Path],
        take: Callable[[list[tuple[Path, int, int]]], None],
        health: Health,
        stop: threading.Event,
        *,
        settle: float,
        poll: float,
        rescan: float,
    ) -> None:
        self.inbox, self._skip, self.take, self.health, self.stop = inbox, skip, take, health, stop
        self.settle, self.poll, self.rescan = settle, poll, rescan
        self.candidates: dict[Path, tuple[tuple[int, int], float] | None] = {}
        self.scanned = threading.Event()  # the first scan is done

    def run(self) -> None:
        """Scan, then follow file events until stopped; never dies (intake is the watcher)."""
        for path in self._walk():
            self.candidates.setdefault(path, None)
        self._settle()
        self.scanned.set()
        while not self.stop.is_set():
            try:
                self._follow()
            except Exception as exc:  # e.g. watchfiles failing on a name that is not UTF-8
                # After such a failure its events are not trusted again: rescan every second.
                log.warning("file events failed (%r); scanning every second from now on", exc)
                self.rescan = min(self.rescan, 1.0)
                try:
                    for path in self._walk():
                        self.candidates.setdefault(path, None)
                    self._settle()
                except Exception as again:
                    log.warning("scan failed: %r", again)
                self.stop.wait(1.0)

    def _follow(self) -> None:
        last_scan = time.monotonic()
        try:
            import watchfiles

            changes: Iterator[set[tuple[Any, str]]] = watchfiles.watch(
                self.inbox,
                watch_filter=None,
                debounce=int(self.poll * 1000),
                step=20,
                rust_timeout=int(self.poll * 1000),
                yield_on_timeout=True,
                stop_event=self.stop,
                ignore_permission_denied=True,
            )
        except Exception as exc:  # no inotify (some network mounts): rescans only
            log.warning("file events unavailable (%s): scanning every second instead", exc)
            self.rescan = min(self.rescan, 1.0)
            changes = iter(lambda: (self.stop.wait(self.poll), set())[1], None)
        for batch in changes:
            if self.stop.is_set():
                break
            for change, name in batch:
                path = Path(name)
                if change != watchfiles.Change.deleted and self._wanted(path):
                    self.candidates.setdefault(path, None)
            if time.monotonic() - last_scan >= self.rescan:
                for path in self._walk():
                    self.candidates.setdefault(path, None)
                last_scan = time.monotonic()
            self._settle()

    def _wanted(self, path: Path) -> bool:
        if ignored(path.name) or not path.is_relative_to(self.inbox):
            return False
        rel = path.relative_to(self.inbox).parts[:-1]
        if any(p.startswith(".") for p in rel):
            return False
        return not any(path.is_relative_to(skip) for skip in self._skip)

    def _walk(self) -> Iterator[Path]:
        for dirpath, dirnames, filenames in os.walk(self.inbox):
            here = Path(dirpath)
            dirnames[:] = [
                d for d in dirnames if not d.startswith(".") and here / d not in self._skip
            ]
            yield from (here / f for f in filenames if not ignored(f))

    def _settle(self) -> None:
        """Take the candidates whose size and mtime have not changed for ``settle`` seconds."""
        now = time.monotonic()
        writing: set[str] | None = None
        ready: list[tuple[Path, int, int]] = []
        for path, seen in list(self.candidates.items()):
            try:
                st = path.stat()
            except OSError:
                del self.candidates[path]
                continue
            if not path.is_file():
                del self.candidates[path]
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if seen is None or seen[0] != sig:
                self.candidates[path] = (sig, now)
            elif now - seen[1] >= self.settle:
                if writing is None:
                    writing = open_for_writing()  # one look per tick, for all settled files
                if str(path.resolve()) in writing:  # a writer pausing past the settle time
                    self.candidates[path] = (sig, now)
                    continue
                ready.append((path, *sig))
        if not ready:
            return
        try:
            self.take(ready)
        except Exception as exc:  # the store is unreachable: try again next tick
            self.health.failed("store", exc)
            return
        self.health.recovered("store")
        for path, _, _ in ready:
            del self.candidates[path]

    def offer(self, path: Path) -> None:
        """Look at ``path`` again (a file that changed while a worker read it)."""
        self.candidates.setdefault(path, None)
