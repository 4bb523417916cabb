"""Shared by the watcher tests, their worker subprocess and bench/watch.py."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

MEMO_ANSWER = '{"title": null}'


class Memo(BaseModel):
    """The smallest schema: the watcher's logic is under test here, not extraction."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = None


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF with ``text`` on it (distinct text, distinct SHA-256)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=200, height=100)
    page.insert_text((20, 50), text, fontsize=12)
    data = doc.tobytes()
    doc.close()
    return data


def drop(inbox: Path, name: str, data: bytes) -> Path:
    """Drop a file the way careful tools do: written under a temporary name, then renamed."""
    target = inbox / name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.rename(target)
    return target


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what=None) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``predicate()``; on timeout, say what ``what()`` shows then."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in time: {what() if what else ''}")
        time.sleep(interval)
