"""Pages: rendering at a token budget, caching, coordinates, token accounting, crops."""

from __future__ import annotations

from pathlib import Path

import pytest

import docintel
from docintel import BBox
from docintel.render.tokens import fitted_size, image_tokens, request_tokens


def test_token_accounting_matches_pixtral() -> None:
    assert image_tokens(724, 1024) == 3008  # rows 64 x (46 cols + 1 break)
    assert image_tokens(1024, 1024) == 4160
    assert image_tokens(2048, 2048) == 4160  # scaled down to 1024 first
    assert image_tokens(16, 16) == 2
    assert image_tokens(17, 16) == 3
    assert fitted_size(3000, 1500) == (1024, 512)
    assert fitted_size(100, 50) == (100, 50)  # never scaled up
    assert request_tokens([(724, 1024), (1024, 1024)], text_tokens=100) == 3008 + 4160 + 100


def test_page_image_at_target_longest_side(fixtures: Path) -> None:
    page = docintel.load(fixtures / "invoice-1.pdf")[0]
    image = page.image()
    assert max(image.size) == 1024 and image.mode == "RGB"
    assert page.image() is image  # cached
    assert max(page.image(512).size) == 512
    assert page.tokens() == image_tokens(*image.size)
    small = docintel.load(fixtures / "invoice-1.pdf", target_longest_side=640)[0]
    assert max(small.image().size) == 640


def test_points_and_pixels_convert_both_ways(fixtures: Path) -> None:
    page = docintel.load(fixtures / "invoice-1.pdf")[0]
    word = page.words[0].bbox
    px = page.to_pixels(word, 2048)
    back = page.to_points(px, 2048)
    assert back.iou(word) > 0.999
    assert px.x1 <= 2048 and page.scale(2048) == pytest.approx(2048 / max(page.size))


def test_word_box_lands_on_ink(fixtures: Path) -> None:
    """A text-layer box, converted to pixels, covers dark pixels of the render."""
    import numpy as np

    page = docintel.load(fixtures / "invoice-1.pdf")[0]
    gray = np.asarray(page.image(2000).convert("L"))
    for word in page.words[:10]:
        b = page.to_pixels(word.bbox, 2000)
        patch = gray[int(b.y0) : int(b.y1) + 1, int(b.x0) : int(b.x1) + 1]
        assert patch.min() < 100, word


def test_crop_is_sharper_than_the_page(fixtures: Path) -> None:
    page = docintel.load(fixtures / "invoice-1.pdf")[0]
    box = BBox(50, 50, 250, 100)
    crop = page.crop(box, longest_side=800, padding=0)
    assert max(crop.size) == 800
    assert crop.width / crop.height == pytest.approx(200 / 50, rel=0.02)
    with pytest.raises(ValueError, match="outside"):
        page.crop(BBox(5000, 5000, 6000, 6000))


def test_a_pdf_crop_renders_the_box_alone_with_the_same_picture(fixtures: Path) -> None:
    import numpy as np
    from PIL import Image

    page = docintel.load(fixtures / "formulas.pdf")[0]
    for region in page.regions_of("formula"):
        crop = page.crop(region, longest_side=512, padding=0)
        box = region.bbox
        side = round(512 / max(box.width, box.height) * max(page.size))
        px = page.to_pixels(box, side)  # the same box, cut from a render of the whole page
        whole = page.image(side).crop((round(px.x0), round(px.y0), round(px.x1), round(px.y1)))
        a = np.asarray(crop, dtype=float)
        b = np.asarray(whole.resize(crop.size, Image.Resampling.LANCZOS), dtype=float)
        assert max(crop.size) == 512 and np.abs(a - b).mean() < 12, region


def test_image_dpi_sets_page_size_in_points(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "scan.png"
    Image.new("RGB", (1700, 2200), "white").save(path, dpi=(200, 200))
    page = docintel.load(path)[0]
    assert page.raw_width == pytest.approx(1700 * 72 / 200, rel=1e-3)


def test_scan_is_deskewed(fixtures: Path, truth: dict) -> None:
    page = docintel.load(fixtures / "invoice-1-scan.pdf")[0]
    expected = truth["files"]["invoice-1-scan.pdf"]["skew_deg"]
    assert page.correction is not None and page.correction.rotation == 0
    assert page.correction.skew == pytest.approx(expected, abs=0.5)
    assert page.image().size == page.pixel_size()


def test_photo_is_oriented(fixtures: Path) -> None:
    page = docintel.load(fixtures / "invoice-2-photo.jpg")[0]
    assert page.correction is not None and page.correction.rotation == 0
    assert page.height > page.width
