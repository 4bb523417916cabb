"""OCR words for pages without a text layer (scans and photos).

``ocr_words(page)`` reads ``ocr_image(page)``, at the resolution the page was scanned at
(``ocr_side``): the page oriented and deskewed, for RapidOCR not
cleaned (its models are trained on natural images; the contrast stretch that helps a vision
model clips faint strokes and closes commas into stops: exact lines read on 20 SROIE receipts
went from 89.0 to 90.5 %), for tesseract cleaned (its own binarisation wants flat paper), and
returns ``Word``s in page points, like a text layer: words on one visual text line share
``(block, line)``, lines are numbered top to bottom, and a new block starts after a vertical gap.

Engines:

- ``"rapidocr"`` (default; ``pip install 'docintel[ocr]'``): PP-OCR detection and recognition
  in ONNX Runtime, models shipped inside the wheel, so it runs offline. Word boxes are
  RapidOCR's own (``return_word_box``, computed from the recogniser's character positions);
  a line without them is split on whitespace and its box shared out by character counts,
  which is close enough for grounding but not for drawing. Settings chosen for speed on a
  small CPU (about 3-7 s per A4 page at 2000 px on 2 cores, word recall 0.97-1.00 on the
  fixtures): detection runs on the image scaled to at most ``_DET_SIDE`` px (not upscaled to
  the 736 px *minimum* side RapidOCR defaults to, which detects on the full 2000 px image at
  2-3x the cost, with no recall gain here), recognition on crops of the full image, and the
  180-degree line classifier is off (pages come oriented).
- ``"tesseract"``: the ``tesseract`` CLI (TSV output, ``OMP_THREAD_LIMIT=1``), faster
  (0.6-2 s per page) but weaker on ruled tables and noisy scans.

RapidOCR engines are pooled: one per concurrent caller, up to one per core (``set_concurrency``),
each running ONNX Runtime on one thread. A single shared engine serialised behind a lock left
cores idle (ONNX Runtime's own threading barely helps these models) and could not be shared
without the lock: RapidOCR writes per-call state on the instance (``update_params``, the
detector's ``preprocess_op``). Measured on 2 cores (``python bench/batch.py``): 3.3 s a page
for one caller either way, 2.2 s a page with two threads on two engines.
"""

from __future__ import annotations

import io
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from statistics import median
from typing import TYPE_CHECKING, Any

from docintel.errors import EngineUnavailable
from docintel.geometry import BBox, visual_lines
from docintel.settings import available_cores

if TYPE_CHECKING:
    from PIL import Image

    from docintel.document import Page, Word

ENGINES = ("rapidocr", "tesseract")

_DET_SIDE = 1280  # px: longest side of the image text detection runs on
_MAX_SIDE = 4096  # px: scans larger than this are read shrunk (bounded memory and time)
_DIGITAL_SIDE = 2000  # px: born-digital pages (logos, poor text layers) are rendered at this
_RAPIDOCR_PARAMS: dict[str, Any] = {
    "Global.log_level": "warning",
    "Global.use_cls": False,  # pages are already oriented
    "Global.return_word_box": True,
    "Global.max_side_len": 4096,  # never shrink the page before cropping lines
    "Det.limit_type": "max",
    "Det.limit_side_len": _DET_SIDE,
    # One thread per engine: parallelism comes from engines side by side (see the module doc).
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}
_TESSERACT_TIMEOUT = 120.0  # seconds per page

# A detected text segment: its box in pixels and its words (text, box in pixels).
_Segment = tuple[BBox, list[tuple[str, BBox]]]


def ocr_side(page: Page) -> int:
    """The longest side, in pixels, OCR reads ``page`` at: the resolution it was scanned at,
    within ``[_DET_SIDE, _MAX_SIDE]``; born-digital pages at ``_DIGITAL_SIDE``.

    Resampling a scan to a fixed size invents or drops pixels and gains no letters: on 20
    SROIE receipts read through the whole OCR stage, exact lines were the same at 2000 px and
    at the scan's own size (988 of 1066); on the generated scan and photo of ``bench/ocr.py``,
    word recall went from 0.960 / 0.987 at 2000 px to 0.971 / 1.000.
    """
    side = page.scan_side
    return _DIGITAL_SIDE if side is None else min(max(side, _DET_SIDE), _MAX_SIDE)


def ocr_image(page: Page, longest_side: int | None = None, engine: str = "rapidocr") -> Image.Image:
    """What OCR reads of ``page`` (at ``ocr_side(page)`` unless given): oriented and deskewed;
    cleaned for tesseract only."""
    return page.image(longest_side or ocr_side(page), enhanced=engine == "tesseract")


def ocr_words(
    page: Page, *, engine: str = "rapidocr", longest_side: int | None = None
) -> list[Word]:
    """OCR ``ocr_image(page)``: words with boxes in page points, in reading order."""
    if engine not in ENGINES:
        raise ValueError(f"unknown OCR engine {engine!r}: use one of {', '.join(ENGINES)}")
    longest_side = longest_side or ocr_side(page)
    image = ocr_image(page, longest_side, engine)
    segments = _rapidocr(image) if engine == "rapidocr" else _tesseract(image, page, longest_side)
    return _to_words(segments, page, longest_side)


# ---- RapidOCR ----------------------------------------------------------------------------
class _EnginePool:
    """Up to ``size`` RapidOCR engines, each used by one caller at a time and then kept.

    An engine is built only when every existing one is busy, so a single-threaded process
    holds one (its models load once, about 0.3 s and 100 MB), and a caller beyond ``size``
    waits for a free engine rather than oversubscribing the cores.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._built = 0
        self._lock = threading.Lock()

    @contextmanager
    def engine(self) -> Iterator[Any]:
        ocr = self._take()
        try:
            yield ocr
        finally:
            self._idle.put(ocr)

    def _take(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            build = self._built < self.size
            if build:
                self._built += 1
        if not build:
            return self._idle.get()  # every engine is busy and no more may be built: wait
        try:
            return _new_rapidocr()
        except BaseException:
            with self._lock:
                self._built -= 1
            raise


def _new_rapidocr() -> Any:
    try:
        from rapidocr import RapidOCR
    except ImportError as e:
        raise EngineUnavailable(
            "OCR engine 'rapidocr' is not installed: pip install 'docintel[ocr]' "
            "(or: pip install rapidocr onnxruntime), or use engine='tesseract'"
        ) from e
    return RapidOCR(params=dict(_RAPIDOCR_PARAMS))


_pool_lock = threading.Lock()
_pool: _EnginePool | None = None


def set_concurrency(calls: int) -> None:
    """Let up to ``calls`` RapidOCR calls run at once in this process (default: one per core).

    Each call runs on one core. Worker processes that already divide the cores among
    themselves (``docintel batch``'s pool) set 1. Engines already built are kept.
    """
    global _pool
    if calls < 1:
        raise ValueError(f"OCR concurrency must be at least 1, not {calls}")
    with _pool_lock:
        if _pool is None:
            _pool = _EnginePool(calls)
        else:
            _pool.size = calls


def _engines() -> _EnginePool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _EnginePool(available_cores())
        return _pool


def _rapidocr(image: Image.Image) -> list[_Segment]:
    import numpy as np

    pixels = np.asarray(image.convert("RGB"))
    with _engines().engine() as ocr:
        out = ocr(pixels)
    txts = getattr(out, "txts", None)
    boxes = getattr(out, "boxes", None)
    if not txts or boxes is None:
        return []
    word_results = list(getattr(out, "word_results", None) or ())
    # RapidOCR drops empty word lists when filtering by score: only trust them when aligned
    aligned = len(word_results) == len(txts)
    segments: list[_Segment] = []
    for i, (text, quad) in enumerate(zip(txts, boxes, strict=False)):
        box = _quad_box(quad)
        words: list[tuple[str, BBox]] = []
        if aligned:
            for item in word_results[i] or ():
                w_text, _score, w_quad = item
                if w_quad is not None and str(w_text).strip():
                    words.append((str(w_text).strip(), _quad_box(w_quad)))
            if "".join(t for t, _ in words) != "".join(str(text).split()):
                words = []  # the word boxes do not spell the line: fall back
        segments.append((box, words or _apportion(str(text), box)))
    return segments


def _quad_box(quad: Sequence[Sequence[float]]) -> BBox:
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    return BBox(min(xs), min(ys), max(xs), max(ys))


def _apportion(text: str, box: BBox) -> list[tuple[str, BBox]]:
    """Split a line on whitespace and share its box out by character counts (spaces count)."""
    parts = text.split()
    total = sum(len(p) for p in parts) + len(parts) - 1
    if total <= 0:
        return []
    per = box.width / total
    words: list[tuple[str, BBox]] = []
    x = box.x0
    for p in parts:
        words.append((p, BBox(x, box.y0, x + per * len(p), box.y1)))
        x += per * (len(p) + 1)
    return words


# ---- Tesseract ---------------------------------------------------------------------------
def _tesseract(image: Image.Image, page: Page, longest_side: int) -> list[_Segment]:
    exe = shutil.which("tesseract")
    if exe is None:
        raise EngineUnavailable(
            "OCR engine 'tesseract' is not installed: apt-get install tesseract-ocr "
            "(or brew install tesseract), or use engine='rapidocr' (pip install 'docintel[ocr]')"
        )
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    dpi = max(70, round(page.scale(longest_side) * 72))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        proc = subprocess.run(
            [exe, "stdin", "stdout", "--dpi", str(dpi), "--psm", "3", "tsv"],
            input=buf.getvalue(),
            capture_output=True,
            env=env,
            timeout=_TESSERACT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise EngineUnavailable(f"tesseract took over {_TESSERACT_TIMEOUT:.0f} s on a page") from e
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise EngineUnavailable(f"tesseract failed ({proc.returncode}): {err[-300:]}")
    lines: dict[tuple[str, str, str], list[tuple[str, BBox]]] = {}
    for row in proc.stdout.decode("utf-8", errors="replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, width, height = (float(c) for c in cols[6:10])
        box = BBox(left, top, left + width, top + height)
        lines.setdefault((cols[2], cols[3], cols[4]), []).append((cols[11].strip(), box))
    segments: list[_Segment] = []
    for words in lines.values():
        box = words[0][1]
        for _, b in words[1:]:
            box = box.union(b)
        segments.append((box, words))
    return segments


# ---- words in reading order --------------------------------------------------------------
def _to_words(segments: list[_Segment], page: Page, longest_side: int) -> list[Word]:
    """Group segments into visual lines and lines into blocks; convert to page points."""
    from docintel.document import Word

    segments = [s for s in segments if s[1]]
    if not segments:
        return []
    boxes = [s[0].as_tuple() for s in segments]
    lines = [[segments[i] for i in idx] for idx in visual_lines(boxes)]
    spans = [(min(s[0].y0 for s in ln), max(s[0].y1 for s in ln)) for ln in lines]
    line_height = median(bottom - top for top, bottom in spans) or 1.0
    words: list[Word] = []
    block, line, prev_bottom = 0, 0, None
    for k in range(len(lines)):
        top, bottom = spans[k]
        if prev_bottom is not None:
            if top - prev_bottom > 0.8 * line_height:
                block, line = block + 1, 0
            else:
                line += 1
        prev_bottom = bottom if prev_bottom is None else max(prev_bottom, bottom)
        for text, px in sorted((w for seg in lines[k] for w in seg[1]), key=lambda w: w[1].x0):
            bbox = page.to_points(px, longest_side).clip(page.width, page.height)
            words.append(Word(text=text, bbox=bbox, block=block, line=line))
    return words
