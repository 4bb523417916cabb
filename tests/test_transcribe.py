"""docintel.pipeline.transcribe: every formula of a document in one engine batch per attempt."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw

from docintel.engines.base import GenerationRequest
from docintel.errors import InputTooLarge
from docintel.pipeline.transcribe import transcribe
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine

GOOD = '{"latex": "x^2 + y^2 = z^2", "display": true}'
PER_PAGE = 7  # formula regions on fixtures/formulas.pdf: one inline, six displayed


@pytest.fixture(scope="module")
def ten_pages(fixtures: Path) -> bytes:
    """fixtures/formulas.pdf ten times over: 70 formula regions."""
    out = pymupdf.open()
    with pymupdf.open(fixtures / "formulas.pdf") as one:
        for _ in range(10):
            out.insert_pdf(one)
    return out.tobytes()


def test_a_ten_page_pdf_is_one_engine_batch(ten_pages: bytes) -> None:
    engine = InstantEngine(GOOD)
    found = transcribe(ten_pages, engine=engine)
    assert engine.batches == [10 * PER_PAGE]  # not ten batches of 7
    assert len(found) == 70 and all(t.valid and t.box for t in found)
    assert [t.page for t in found] == [p for p in range(10) for _ in range(PER_PAGE)]


def test_retries_go_back_together_as_one_batch(ten_pages: bytes) -> None:
    seen: Counter[tuple[int, tuple[float, ...]]] = Counter()

    def answer(request: GenerationRequest) -> str:
        assert request.region is not None
        key = (request.region.page, request.region.bbox.as_tuple())
        seen[key] += 1
        if seen[key] == 1 and request.region.page % 2:  # odd pages: unbalanced at first
            return '{"latex": "\\\\frac{a}{b", "display": true}'
        return GOOD

    engine = InstantEngine(answer)
    found = transcribe(ten_pages, engine=engine)
    assert engine.batches == [70, 35]  # the 35 failures of 5 pages: one retry batch
    assert all(t.valid for t in found)
    retried = [t for t in found if t.attempts == 2]
    assert len(retried) == 35 and all(t.page % 2 for t in retried)
    assert [json.loads(text)["latex"] for text in retried[0].raw] == [
        "\\frac{a}{b",
        "x^2 + y^2 = z^2",
    ]


def test_budgets_hold_before_the_model(ten_pages: bytes) -> None:
    engine = InstantEngine(GOOD)
    with pytest.raises(InputTooLarge, match="70 regions"):
        transcribe(ten_pages, engine=engine, settings=get_settings(max_work_regions=69))
    with pytest.raises(InputTooLarge, match="max_work_pages"):
        transcribe(ten_pages, engine=engine, settings=get_settings(max_work_pages=9))
    assert engine.batches == []
    assert len(transcribe(ten_pages, engine=engine, pages=[2, 3])) == 14


def test_crops_at_the_requested_resolution(fixtures: Path) -> None:
    sides: list[int] = []

    def answer(request: GenerationRequest) -> str:
        sides.extend(max(image.size) for image in request.images)
        return GOOD

    transcribe(fixtures / "formulas.pdf", engine=InstantEngine(answer), longest_side=384)
    assert sides == [384] * PER_PAGE
    sides.clear()
    transcribe(fixtures / "formulas.pdf", engine=InstantEngine(answer))
    assert sides == [get_settings().target_longest_side] * PER_PAGE


def test_inline_or_display_from_the_layout(fixtures: Path) -> None:
    found = transcribe(fixtures / "formulas.pdf", engine=InstantEngine(GOOD))
    # the first formula sits inside a sentence; the others stand alone on their lines
    assert [t.display for t in found] == [False] + [True] * (PER_PAGE - 1)


def test_display_only_latex_in_an_inline_spot_is_sent_back(fixtures: Path) -> None:
    align = json.dumps({"latex": r"\begin{align} a &= b \end{align}", "display": True})
    found = transcribe(fixtures / "formulas.pdf", engine=InstantEngine(align), max_attempts=2)
    inline, shown = found[0], found[1]
    assert not inline.valid and inline.attempts == 2
    assert "{align} can be used only in display mode" in inline.errors[0]
    assert shown.valid and shown.attempts == 1


def test_an_image_without_regions_is_transcribed_whole() -> None:
    image = Image.new("RGB", (300, 80), "white")
    ImageDraw.Draw(image).text((10, 30), "x^2 + 1", fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    engine = InstantEngine('{"latex": "x^2 + 1", "display": false}')
    (found,) = transcribe(buf.getvalue(), engine=engine, mathml=True)
    assert found.box is None and found.display is False and found.valid
    assert found.mathml is not None and "<msup>" in found.mathml
    assert engine.batches == [1]
