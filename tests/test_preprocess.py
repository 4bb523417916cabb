"""Tests for docintel.render.preprocess: skew, orientation, enhancement and correct/apply."""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from docintel.render.preprocess import (
    Correction,
    apply,
    correct,
    detect_orientation,
    enhance,
    estimate_skew,
    rotate,
)

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
# Common English words: their mix of ascenders and descenders is what orientation relies on.
_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so will can more about said up out what some into only other time could them these two "
    "may first then do any like my now over such our made after also did many before must "
    "through back years where much your way well down should because each just those people "
    "how little state good very make world still own see work long get here between both "
    "life being under never day same another know while last might great old year off come "
    "since against go right used take three document invoice quarterly report payment"
)
WORDS = _TEXT.split()


@cache
def text_page(seed: int, width: int = 1240, height: int = 1754) -> Image.Image:
    """An upright grayscale page: a heading and paragraphs of English-like text."""
    rng = random.Random(seed)
    font_file = FONT_DIR + ("DejaVuSerif.ttf" if seed % 2 else "DejaVuSans.ttf")
    size = rng.choice([16, 20, 24]) * width // 1240
    body = ImageFont.truetype(font_file, size)
    head = ImageFont.truetype(font_file, size * 2)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    margin = width // 12
    draw.text((margin, margin), " ".join(rng.sample(WORDS, 4)).title(), font=head, fill=0)
    y = margin + size * 3
    while y < height - margin - size:
        for _ in range(rng.randint(3, 7)):
            words: list[str] = []
            while True:
                candidate = [*words, rng.choice(WORDS)]
                if draw.textlength(" ".join(candidate), font=body) > width - 2 * margin:
                    break
                words = candidate
            draw.text((margin, y), " ".join(words), font=body, fill=rng.randint(0, 60))
            y += int(size * 1.45)
            if y >= height - margin - size:
                break
        y += size
    return img


def tilt(img: Image.Image, angle: float, noise: float = 0.0, seed: int = 0) -> Image.Image:
    """Rotate content counterclockwise (PIL convention), optionally adding gaussian noise."""
    out = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if noise:
        a = np.asarray(out, dtype=np.float32)
        a += np.random.default_rng(seed).normal(0.0, noise, a.shape).astype(np.float32)
        out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return out


@pytest.mark.parametrize(
    ("angle", "noise", "seed"),
    [
        (0.0, 0, 0),
        (0.7, 0, 1),
        (-3.2, 25, 2),
        (6.5, 0, 3),
        (-9.0, 40, 4),
        (15.0, 0, 5),
        (-15.0, 25, 6),
        (12.3, 0, 7),
    ],
)
def test_estimate_skew_within_half_degree(angle: float, noise: float, seed: int) -> None:
    gray = np.asarray(tilt(text_page(seed), angle, noise, seed))
    assert estimate_skew(gray) == pytest.approx(angle, abs=0.5)


def test_estimate_skew_respects_max_angle() -> None:
    gray = np.asarray(tilt(text_page(1), 8.0))
    assert abs(estimate_skew(gray, max_angle=5.0)) <= 5.0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ccw", [0, 90, 180, 270])
def test_detect_orientation(seed: int, ccw: int) -> None:
    # Content turned counterclockwise by ccw needs the same angle clockwise to be upright.
    page = tilt(text_page(seed), 0.0, noise=20 if seed == 2 else 0, seed=seed)
    assert detect_orientation(np.asarray(page.rotate(ccw, expand=True))) == ccw


def test_detect_orientation_with_residual_skew() -> None:
    page = tilt(text_page(3), 4.0).rotate(270, expand=True)
    assert detect_orientation(np.asarray(page)) == 270


def test_correct_leaves_upright_clean_page_alone() -> None:
    page = text_page(4)
    out, fix = correct(page)
    assert fix.rotation == 0
    assert abs(fix.skew) < 0.3
    assert fix.enhanced
    assert out.size == page.size
    assert out.mode == "L"
    assert fix.size == page.size


def test_correct_rotated_skewed_color_page() -> None:
    page = tilt(text_page(5), -6.0, noise=15, seed=5).rotate(90, expand=True).convert("RGB")
    out, fix = correct(page, enhance=False)
    assert fix.rotation == 90
    assert fix.skew == pytest.approx(-6.0, abs=0.5)
    assert not fix.enhanced
    assert out.mode == "RGB"
    # The corrected page is upright and level.
    again = correct(out, enhance=False)[1]
    assert again.rotation == 0
    assert abs(again.skew) < 0.3


def test_correct_flags_are_honoured() -> None:
    page = tilt(text_page(6), 5.0).rotate(180)
    out, fix = correct(page, orientation=False, deskew=False, enhance=False)
    assert fix == Correction(rotation=0, skew=0.0, enhanced=False, size=page.size)
    assert out.tobytes() == page.tobytes()
    assert out is not page
    fix = correct(page, orientation=False, enhance=False)[1]
    assert fix.rotation == 0
    assert fix.skew == pytest.approx(5.0, abs=0.5)


def test_apply_reproduces_correction_at_another_resolution() -> None:
    small = tilt(text_page(7, 620, 877), 7.0).rotate(270, expand=True)
    large = tilt(text_page(7, 1240, 1754), 7.0).rotate(270, expand=True)
    out_small, fix = correct(small)
    out_large = apply(large, fix)
    assert out_large.mode == "L"
    assert out_large.width == pytest.approx(2 * out_small.width, abs=4)
    assert out_large.height == pytest.approx(2 * out_small.height, abs=4)
    again = correct(out_large, enhance=False)[1]
    assert again.rotation == 0
    assert abs(again.skew) < 0.3


@pytest.mark.parametrize("noise", [0, 30])
def test_blank_page_is_left_alone(noise: float) -> None:
    blank = tilt(Image.new("L", (1240, 1754), 255), 0.0, noise=noise)
    gray = np.asarray(blank)
    assert estimate_skew(gray) == 0.0
    assert detect_orientation(gray) == 0
    out, fix = correct(blank)
    assert (fix.rotation, fix.skew) == (0, 0.0)
    assert out.size == blank.size


def test_little_text_is_not_guessed() -> None:
    img = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(img)
    draw.text(
        (120, 120),
        "Short Heading",
        font=ImageFont.truetype(FONT_DIR + "DejaVuSans.ttf", 40),
        fill=0,
    )
    draw.text(
        (120, 200),
        "one line of body text",
        font=ImageFont.truetype(FONT_DIR + "DejaVuSans.ttf", 20),
        fill=0,
    )
    for ccw in (0, 90, 180, 270):
        fix = correct(img.rotate(ccw, expand=True), enhance=False)[1]
        assert (fix.rotation, fix.skew) == (0, 0.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_enhance_keeps_dtype_and_shape(dtype: type) -> None:
    gray = np.asarray(tilt(text_page(0), 0.0, noise=20), dtype=dtype)
    out = enhance(gray)
    assert out.dtype == gray.dtype
    assert out.shape == gray.shape


def test_enhance_flattens_shading_and_stretches_contrast() -> None:
    page = np.asarray(text_page(1), dtype=np.float32)
    # Low contrast (ink ~90, paper ~200) under a left-to-right shadow.
    shade = np.linspace(0.6, 1.0, page.shape[1], dtype=np.float32)[None, :]
    dull = ((90 + page * (110 / 255)) * shade).astype(np.uint8)
    out = enhance(dull)
    paper = np.asarray(text_page(1)) == 255
    assert np.percentile(out[paper], 10) >= 230  # paper white across the shadow
    assert np.percentile(out[~paper], 5) <= 60  # ink dark


def test_enhance_blank_page_stays_blank() -> None:
    blank = np.full((300, 200), 240, np.uint8)
    assert int(enhance(blank).min()) >= 230


def test_rotate_conventions() -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    assert rotate(img, 90).size == (20, 40)
    assert rotate(img, 0).size == (40, 20)
    turned = rotate(img, 10)
    assert turned.mode == "RGB"
    assert turned.width > 40 and turned.height > 20
    assert turned.getpixel((0, 0)) == (255, 255, 255)  # new canvas is white
    # Counterclockwise: a mark at the top-left corner ends up at the bottom-left.
    marked = Image.new("L", (40, 20), 255)
    marked.putpixel((0, 0), 0)
    assert rotate(marked, 90).getpixel((0, 39)) == 0
    assert rotate(Image.new("P", (10, 10)), 5).mode == "RGBA"
