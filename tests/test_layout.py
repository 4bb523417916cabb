"""Layout regions on small generated pages (and on fixtures/ when they are there)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest
from PIL import Image

import docintel
from docintel import BBox, Page, PageKind, Region, RegionKind
from docintel.document import png_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROSE = (
    "Layout analysis splits a page into parts with one kind of content each. This paragraph is "
    "running text that wraps over several lines, so that it reads as prose and not as a table."
)
TABLE = BBox(72, 250, 522, 370)  # the table drawn by _table_page
ROWS = [["Item", "Qty", "Price", "Amount"]] + [
    [f"Article number {i}", str(i), f"{i * 3}.50", f"{i * 10}.00"] for i in range(1, 5)
]


def _pdf(draw: object) -> docintel.Document:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    draw(page)  # type: ignore[operator]
    return docintel.load(doc.tobytes())


def _table_page(page: pymupdf.Page, ruled: bool = True) -> None:
    page.insert_textbox(pymupdf.Rect(72, 72, 522, 200), PROSE, fontsize=11)
    xs, h = [72, 272, 342, 432, 522], (TABLE.y1 - TABLE.y0) / len(ROWS)
    for r, row in enumerate(ROWS):
        for c, cell in enumerate(row):
            page.insert_text((xs[c] + 4, TABLE.y0 + r * h + 16), cell, fontsize=10)
    if ruled:
        for r in range(len(ROWS) + 1):
            page.draw_line((TABLE.x0, TABLE.y0 + r * h), (TABLE.x1, TABLE.y0 + r * h))
        for x in xs:
            page.draw_line((x, TABLE.y0), (x, TABLE.y1))
    page.insert_textbox(pymupdf.Rect(72, 420, 522, 540), PROSE, fontsize=11)


def _of(page: Page, kind: RegionKind) -> list[Region]:
    return [r for r in page.regions if r.kind == kind]


def _best(regions: list[Region], box: BBox) -> float:
    return max((r.bbox.iou(box) for r in regions), default=0.0)


def _check_sane(page: Page) -> None:
    """Inside the page, confidences in range, and top-to-bottom within a column."""
    for r in page.regions:
        assert page.bbox.contains(r.bbox, 0.5) and 0.0 <= r.confidence <= 1.0
    tops = [r.bbox.y0 for r in page.regions if r.bbox.x0 < page.width / 2]
    assert tops == sorted(tops) or len({r.bbox.x1 < page.width / 2 for r in page.regions}) > 1


@pytest.mark.parametrize("ruled", [True, False])
def test_tables_on_text_layer(ruled: bool) -> None:
    page = _pdf(lambda p: _table_page(p, ruled))[0]
    tables = _of(page, RegionKind.TABLE)
    assert len(tables) == 1 and tables[0].bbox.iou(TABLE) >= 0.5
    assert tables[0].source == "text_layer" and "Article number 3" in tables[0].text
    texts = _of(page, RegionKind.TEXT)
    for y in (72, 420):  # both paragraphs covered by text regions
        assert any(r.bbox.y0 < y + 20 and "Layout analysis" in r.text for r in texts)
    kinds = [r.kind for r in page.regions]
    assert kinds == [RegionKind.TEXT, RegionKind.TABLE, RegionKind.TEXT]
    _check_sane(page)


def test_figures_vector_and_image() -> None:
    def draw(page: pymupdf.Page) -> None:
        page.insert_textbox(pymupdf.Rect(72, 72, 522, 140), PROSE, fontsize=11)
        page.draw_circle((200, 300), 50, color=(0, 0, 1), fill=(0.8, 0.8, 1))
        page.draw_bezier((150, 400), (200, 330), (260, 460), (320, 380), color=(1, 0, 0))
        page.draw_rect(pymupdf.Rect(280, 250, 360, 320), color=(0, 0, 0), fill=(1, 0.9, 0.6))
        pixels = np.random.default_rng(0).integers(0, 255, (80, 120, 3), dtype=np.uint8)
        page.insert_image(
            pymupdf.Rect(100, 560, 400, 760), stream=png_bytes(Image.fromarray(pixels))
        )

    page = _pdf(draw)[0]
    figures = _of(page, RegionKind.FIGURE)
    assert _best(figures, BBox(150, 250, 360, 430)) >= 0.5  # vector drawing
    assert _best(figures, BBox(100, 560, 400, 760)) >= 0.8  # embedded image
    assert _of(page, RegionKind.TEXT)
    _check_sane(page)


def test_formula_line() -> None:
    def draw(page: pymupdf.Page) -> None:
        page.insert_textbox(pymupdf.Rect(72, 72, 522, 140), PROSE, fontsize=11)
        page.insert_text((240, 180), "a + b = g", fontname="symb", fontsize=14)  # Symbol font
        page.insert_textbox(pymupdf.Rect(72, 200, 522, 280), PROSE, fontsize=11)

    page = _pdf(draw)[0]
    formulas = _of(page, RegionKind.FORMULA)
    assert len(formulas) == 1 and 160 < formulas[0].bbox.center[1] < 190
    assert [r.kind for r in page.regions][1] == RegionKind.FORMULA  # between the paragraphs


def test_image_page_table_and_text() -> None:
    pdf = pymupdf.open()
    _table_page(pdf.new_page(width=595, height=842))
    png = pdf[0].get_pixmap(dpi=150).tobytes("png")
    page = docintel.load(png)[0]
    assert page.kind == PageKind.IMAGE
    tables = _of(page, RegionKind.TABLE)  # the PNG declares 150 dpi: boxes come in points
    assert _best(tables, TABLE) >= 0.5 and tables[0].source == "image"
    texts = _of(page, RegionKind.TEXT)
    assert any(r.bbox.intersection(BBox(72, 72, 522, 200)) for r in texts)
    assert any(r.bbox.intersection(BBox(72, 420, 522, 540)) for r in texts)
    assert not _of(page, RegionKind.HANDWRITING)
    _check_sane(page)


def _written(words: list[str]) -> Image.Image:
    """A note: Hershey script words with per-word lean, size and baseline wobble."""
    rng = np.random.default_rng(3)
    img = np.full((900, 1300), 245, np.uint8)
    font = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX
    for li in range(5):
        x, base = 80, 150 + li * 140
        for word in words:
            scale = rng.uniform(1.2, 1.6)
            (tw, th), bl = cv2.getTextSize(word, font, scale, 2)
            canvas = np.zeros((th + bl + 40, tw + 40), np.uint8)
            cv2.putText(canvas, word, (20, 20 + th), font, scale, 255, 2, cv2.LINE_AA)
            m = cv2.getRotationMatrix2D((canvas.shape[1] / 2, 20 + th), rng.uniform(-4, 4), 1)
            m[0, 1] += rng.uniform(-0.35, 0.0)  # lean, different for each word
            m[0, 2] -= m[0, 1] * (20 + th)
            canvas = cv2.warpAffine(canvas, m, canvas.shape[::-1])
            y = int(base + rng.normal(0, 5)) - 20 - th
            if x + canvas.shape[1] > img.shape[1]:
                break
            img[y : y + canvas.shape[0], x : x + canvas.shape[1]] -= (canvas * 0.8).astype(np.uint8)
            x += tw + int(rng.integers(20, 35))
    return Image.fromarray(img)


def test_handwriting_vs_printed() -> None:
    words = ["Call", "Marta", "about", "the", "invoice", "by", "Friday"]
    note = docintel.load(_written(words))[0]
    kinds = [r.kind for r in note.regions]
    assert kinds.count(RegionKind.HANDWRITING) > kinds.count(RegionKind.TEXT)

    pdf = pymupdf.open()
    pdf.new_page().insert_textbox(pymupdf.Rect(72, 72, 540, 500), PROSE * 3, fontsize=12)
    printed = docintel.load(pdf[0].get_pixmap(dpi=150).tobytes("png"))[0]
    assert _of(printed, RegionKind.TEXT) and not _of(printed, RegionKind.HANDWRITING)


def _truth() -> dict[str, dict]:
    return json.loads((FIXTURES / "truth.json").read_text())["files"]  # committed fixtures


@pytest.mark.parametrize("name", ["invoice-1.pdf", "invoice-2.pdf", "invoice-1-scan.pdf"])
def test_fixture_invoice_tables(name: str) -> None:
    truth = _truth()
    page = docintel.load(FIXTURES / name)[0]
    gold = [BBox.of(r["bbox"]) for r in truth[name]["regions"][0] if r["kind"] == "table"]
    tables = _of(page, RegionKind.TABLE)
    assert len(tables) == len(gold)
    for g in gold:
        assert _best(tables, g) >= 0.5
    _check_sane(page)


def test_fixture_diagram_and_note() -> None:
    truth = _truth()
    page = docintel.load(FIXTURES / "diagram.pdf")[0]
    gold = [BBox.of(r["bbox"]) for r in truth["diagram.pdf"]["regions"][0] if r["kind"] == "figure"]
    assert _best(_of(page, RegionKind.FIGURE), gold[0]) >= 0.5
    page = docintel.load(FIXTURES / "note-handwriting.png")[0]
    kinds = [r.kind for r in page.regions]
    assert kinds.count(RegionKind.HANDWRITING) > kinds.count(RegionKind.TEXT)


def test_words_make_lines_one_way_for_every_reader() -> None:
    # one rule for the text layer, OCR, layout and the CPU engine (geometry.visual_lines)
    from docintel.geometry import visual_lines

    boxes = [
        (200, 10, 260, 20),  # "Total", a little lower than the word left of it
        (10, 8, 80, 19),  # "Invoice"
        (10, 22, 80, 33),  # the next line
        (100, 23, 180, 35),  # and a word of it, a little lower again
    ]
    assert visual_lines(boxes) == [[1, 0], [2, 3]]
    assert visual_lines([]) == []
