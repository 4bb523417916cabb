"""OCR words for scans and photos: content, boxes, caching, and grounding on them."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

import docintel
from docintel.checks.grounding import _page_words, locate
from docintel.document import Document, Page, Word
from docintel.errors import EngineUnavailable
from docintel.geometry import BBox
from docintel.pages import ocr

# CI installs both (rapidocr with the dev extra, tesseract from .ci/run): missing there fails.
_CI = bool(os.environ.get("CI"))
needs_rapidocr = pytest.mark.skipif(
    not _CI and importlib.util.find_spec("rapidocr") is None,
    reason="rapidocr not installed (docintel[ocr])",
)
needs_tesseract = pytest.mark.skipif(
    not _CI and shutil.which("tesseract") is None,
    reason="no tesseract binary (apt-get install tesseract-ocr)",
)


def _norm(text: str) -> str:
    """Lower case, no thousands separators, no punctuation at the ends."""
    return re.sub(r"(?<=\d),(?=\d{3})", "", text.lower()).strip(".,:;|()$€")


def _tokens(words: list[Word]) -> set[str]:
    return {_norm(w.text) for w in words}


# One loaded document per module: OCR costs seconds a page, and Page caches its result.
@pytest.fixture(scope="module")
def scan(fixtures: Path) -> Iterator[Document]:
    with docintel.load(fixtures / "invoice-1-scan.pdf") as doc:
        yield doc


@pytest.fixture(scope="module")
def photo(fixtures: Path) -> Iterator[Document]:
    with docintel.load(fixtures / "invoice-2-photo.jpg") as doc:
        yield doc


@pytest.fixture(scope="module")
def digital(fixtures: Path) -> Iterator[Document]:
    with docintel.load(fixtures / "invoice-1.pdf") as doc:
        yield doc


@pytest.fixture(scope="module")
def scan_words(scan: Document) -> list[Word]:
    return scan[0].ocr_words


@needs_rapidocr
def test_scan_ocr_finds_invoice_number_and_total(scan_words: list[Word], truth: dict) -> None:
    fields = truth["files"]["invoice-1.pdf"]["fields"]
    tokens = _tokens(scan_words)
    assert _norm(fields["invoice_number"]) in tokens
    assert f"{fields['total']:.2f}" in tokens


@needs_rapidocr
def test_photo_ocr_finds_invoice_number_and_total(photo: Document, truth: dict) -> None:
    fields = truth["files"]["invoice-2-photo.jpg"]["fields"]
    tokens = _tokens(photo[0].ocr_words)
    assert _norm(fields["invoice_number"]) in tokens
    assert f"{fields['total']:.2f}" in tokens


@needs_rapidocr
def test_scan_word_boxes_lie_on_the_text_layer_words(
    scan: Document, scan_words: list[Word], digital: Document
) -> None:
    page = scan[0]
    assert all(page.bbox.contains(w.bbox) and w.bbox.area > 0 for w in scan_words)
    # Words printed once on the born-digital page: the OCR box must cover the same spot.
    layer: dict[str, list[Word]] = {}
    for w in digital[0].words:
        layer.setdefault(w.text, []).append(w)
    pairs = [(w, layer[w.text][0]) for w in scan_words if len(layer.get(w.text, ())) == 1]
    assert len(pairs) >= 60
    hits = sum(o.bbox.contains(BBox(*t.bbox.center, *t.bbox.center)) for o, t in pairs)
    assert hits / len(pairs) >= 0.9, (hits, len(pairs))


@needs_rapidocr
def test_words_on_one_visual_line_share_block_and_line(scan_words: list[Word]) -> None:
    lines: dict[tuple[int, int], list[Word]] = {}
    for w in scan_words:
        lines.setdefault((w.block, w.line), []).append(w)
    texts = [" ".join(w.text for w in ws) for ws in lines.values()]
    assert any(t.startswith("Total ") and "1,740.61" in t for t in texts), texts
    for ws in lines.values():  # left to right
        assert [w.bbox.x0 for w in ws] == sorted(w.bbox.x0 for w in ws)
    tops = [min(w.bbox.y0 for w in ws) for ws in lines.values()]
    assert tops == sorted(tops)  # top to bottom


@needs_rapidocr
def test_ocr_words_are_cached(scan: Document, scan_words: list[Word]) -> None:
    assert scan[0].ocr_words is scan_words  # the same list: OCR ran once


def test_born_digital_page_returns_its_text_layer_without_ocr(
    digital: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> list[Word]:
        raise AssertionError("OCR ran on a born-digital page")

    monkeypatch.setattr(ocr, "ocr_words", boom)
    page = digital[0]
    page.__dict__.pop("ocr_words", None)
    assert page.ocr_words is page.words and page.words
    assert _page_words(page) == (page.words, "text_layer")


@needs_rapidocr
def test_grounding_on_the_scan_uses_ocr(scan: Document, scan_words: list[Word]) -> None:
    class Invoice(BaseModel):
        invoice_number: str
        total: float

    found = locate(Invoice(invoice_number="NW-2024-00417", total=1740.61), scan)
    for name in ("invoice_number", "total"):
        src = found[name]
        assert src.found and src.source == "ocr" and src.page == 0, src
    assert found["total"].bbox is not None and found["total"].bbox.y0 > 400


def test_ocr_reads_the_page_oriented_but_not_cleaned(scan: Document) -> None:
    # RapidOCR reads the page as turned and deskewed, without the contrast stretch the vision
    # model gets (it clips faint strokes); tesseract, which binarises, gets the cleaned page
    page = scan[0]
    cleaned, plain = page.image(1000), ocr.ocr_image(page, 1000)
    assert plain.size == cleaned.size and plain.tobytes() != cleaned.tobytes()
    assert ocr.ocr_image(page, 1000) is plain  # kept apart in the image cache
    assert ocr.ocr_image(page, 1000, "tesseract").tobytes() == cleaned.tobytes()


def test_ocr_reads_a_scan_at_its_own_resolution(
    scan: Document, digital: Document, tmp_path: Path
) -> None:
    # resampling a scan to a fixed size loses small print: OCR reads it as scanned, within
    # bounds (detection's input at least, memory at most); born-digital pages at a fixed size
    from PIL import Image

    def side_of(px: tuple[int, int], dpi: int = 200) -> tuple[int | None, int]:
        path = tmp_path / f"{px[0]}x{px[1]}.png"
        Image.new("RGB", px, "white").save(path, dpi=(dpi, dpi))
        with docintel.load(path) as doc:
            return doc[0].scan_side, ocr.ocr_side(doc[0])

    assert side_of((1100, 3300)) == (3300, 3300)
    assert side_of((300, 500)) == (500, ocr._DET_SIDE)
    assert side_of((7000, 2000), dpi=600) == (7000, ocr._MAX_SIDE)
    # a scanned PDF page: its image's pixels, whatever size the page has in points
    image = next(iter(scan[0].pdf_page.get_image_info()))
    assert scan[0].scan_side == pytest.approx(max(image["width"], image["height"]), abs=2)
    assert digital[0].scan_side is None and ocr.ocr_side(digital[0]) == ocr._DIGITAL_SIDE
    assert ocr.ocr_image(scan[0]).size == scan[0].pixel_size(ocr.ocr_side(scan[0]))


@needs_tesseract
def test_tesseract_engine(scan: Document) -> None:
    words = ocr.ocr_words(scan[0], engine="tesseract")
    assert "nw-2024-00417" in _tokens(words)
    assert all(scan[0].bbox.contains(w.bbox) for w in words)


def test_missing_engines_say_how_to_install(
    scan: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    with pytest.raises(EngineUnavailable, match="apt-get install tesseract-ocr"):
        ocr.ocr_words(scan[0], engine="tesseract", longest_side=200)
    with pytest.raises(ValueError, match="unknown OCR engine"):
        ocr.ocr_words(scan[0], engine="doctr")


def test_lines_group_and_apportion_without_an_engine(scan: Document) -> None:
    page: Page = scan[0]
    side = 2000
    s = page.scale(side)
    tall = BBox(900, 100, 1300, 190)  # a big title beside two small lines: not merged
    segments = [
        (BBox(100, 100, 500, 130), ocr._apportion("2200 Larkspur Ave", BBox(100, 100, 500, 130))),
        (tall, [("INVOICE", tall)]),
        (BBox(100, 140, 400, 170), [("Portland,", BBox(100, 140, 250, 170))]),
        (BBox(100, 400, 300, 430), [("Later", BBox(100, 400, 300, 430))]),
    ]
    words = ocr._to_words(segments, page, side)
    got = [(w.text, w.block, w.line) for w in words]
    assert got[:3] == [("2200", 0, 0), ("Larkspur", 0, 0), ("Ave", 0, 0)]
    assert ("Portland,", 0, 1) in got and ("Later", 1, 0) in got
    want = (100 / s, 100 / s, (100 + 400 / 17 * 4) / s, 130 / s)
    assert words[0].bbox.as_tuple() == pytest.approx(want)


@needs_rapidocr
def test_concurrent_ocr_runs_on_engines_of_its_own() -> None:
    """Threads OCR side by side, each on an engine of its own (RapidOCR keeps per-call state
    on the instance), and read exactly what one thread alone reads; engines are kept, and a
    caller beyond the pool's size waits for one to be free."""
    import threading

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 120), "white")
    ImageDraw.Draw(image).text((20, 40), "Invoice INV-2024-17 total 1,740.61 EUR", fill="black")
    alone = ocr._rapidocr(image)
    assert any("1,740.61" in w for _, words in alone for w, _ in words)
    together: list[list] = []

    def read() -> None:
        together.append(ocr._rapidocr(image))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == [alone] * 4

    pool = ocr._EnginePool(1)
    with pool.engine() as first:
        waited = threading.Event()

        def second() -> None:
            with pool.engine() as again:
                assert again is first  # kept and reused, never a second one past the size
            waited.set()

        t = threading.Thread(target=second)
        t.start()
        assert not waited.wait(0.3)  # waits while the only engine is busy
    t.join(10)
    assert waited.is_set()
