"""The watcher's files: which inbox names to take, output names that fit, atomic writes, and
writers still at work."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

# Names that are still being written (browsers, sync clients, editors) or are not documents.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp")


def ignored(name: str) -> bool:
    """Hidden, temporary, partial-download and Office lock files (``~$report.docx``)."""
    return name.startswith((".", "~$")) or name.lower().endswith(PARTIAL_SUFFIXES)


NAME_MAX = 255  # bytes per file name on the file systems people run this on


def store_name(rel: str) -> str:
    """The store's name for an inbox path: the path itself, or, for a name that is not UTF-8
    (legal on Linux), the path with each undecodable byte written ``\\xNN``."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def fitted(name: str, suffix: str) -> str:
    """``name + suffix`` as a file name within ``NAME_MAX`` bytes: a name too long is cut (at a
    character boundary) and told apart from others cut alike by a digest of the whole."""
    folder, _, base = name.rpartition("/")
    whole = base + suffix
    if len(whole.encode()) > NAME_MAX:
        tag = "~" + hashlib.sha256(base.encode()).hexdigest()[:8]
        room = NAME_MAX - len((tag + suffix).encode())
        base = base.encode()[:room].decode("utf-8", "ignore")
        whole = base + tag + suffix
    return f"{folder}/{whole}" if folder else whole


def write_json(target: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: readers see the old file or the whole new one, never a part; a
    failed write leaves no temporary file behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".docintel-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def written_by_other_version(target: Path, sha: str | None, name: str) -> bool:
    """``target`` holds the output of another version of the same input name."""
    try:
        with target.open(encoding="utf-8") as f:
            written = json.load(f)
    except (OSError, ValueError):
        return False  # nothing there (or unreadable): take the name
    return written.get("input") == name and sha is not None and written.get("sha256") != sha


def open_for_writing() -> set[str]:
    """The files some process holds open for writing (Linux: /proc; elsewhere: none known)."""
    found: set[str] = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            fds = list(fd_dir.iterdir())
        except OSError:  # gone, or not ours to read
            continue
        for fd in fds:
            try:  # each on its own: descriptors open and close while we look
                flags = (fd_dir.parent / "fdinfo" / fd.name).read_text().split("flags:")[1]
                if int(flags.split()[0], 8) & (os.O_WRONLY | os.O_RDWR):
                    found.add(os.readlink(fd))
            except (OSError, IndexError, ValueError):
                continue
    return found
