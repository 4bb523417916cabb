"""What a batch reads: files, folders, globs, list files and URLs, listed lazily."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from docintel.errors import (
    InputNotFound,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger("docintel.jobs.batch")


# ---- inputs -------------------------------------------------------------------------------
URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GLOB = frozenset("*?[")


def iter_inputs(specs: Iterable[str], from_file: str | Path | None = None) -> Iterator[str]:
    """Every input ``specs`` name, listed lazily (never all in memory).

    A spec is a file; a folder (its files, subfolders too, in name order; hidden and partial
    files skipped, as the watcher skips them); a glob (``docs/**/*.pdf``: the files it
    matches); ``@list.txt`` (one path, folder, glob or URL a line; blank lines and ``#``
    comments skipped; relative paths are relative to the working directory); or a URL. A
    path that does not exist is passed on: its line then says so. ``from_file`` is one more
    list file.
    """
    for spec in specs:
        yield from _expand(spec)
    if from_file is not None:
        yield from _listed(Path(from_file))


def _expand(spec: str, listed: bool = False) -> Iterator[str]:
    if spec.startswith("@") and not listed:
        yield from _listed(Path(spec[1:]))
        return
    if URI.match(spec) or spec[:5].lower() == "data:":
        yield spec
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        yield from _walk(path)
    elif not path.exists() and _GLOB & set(spec):
        from docintel.jobs.watch import ignored

        for match in glob.iglob(os.path.expanduser(spec), recursive=True):
            if os.path.isfile(match) and not ignored(os.path.basename(match)):
                yield match
    else:
        yield spec


def _walk(root: Path) -> Iterator[str]:
    from docintel.jobs.watch import ignored

    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not ignored(d))  # in place: os.walk follows it
        for name in sorted(files):
            if not ignored(name):
                yield os.path.join(folder, name)


def _listed(path: Path) -> Iterator[str]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputNotFound(
            f"list file {path}: {exc.strerror or exc}. Pass @FILE with one input a line."
        ) from None
    with handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                yield from _expand(line, listed=True)
