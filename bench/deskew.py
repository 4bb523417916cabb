"""Accuracy and speed of docintel.render.preprocess: skew error, orientation accuracy, ms per page.

Pages come from ``fixtures/generate.py`` (``text_page_image`` / ``rotate_page``) when it is
present, else from a small built-in generator. Usage::

    python bench/deskew.py [--pages 61] [--orientation-pages 24]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from docintel.render.preprocess import correct, detect_orientation, estimate_skew  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
_TEXT = (
    "the of and to in is that for it as was with be by on not this are from at which have "
    "they were there been one all their would when will can more about what some into only "
    "time could these may first then like over such made after also many before through "
    "back where much should because each just people little state good very world still"
)
WORDS = _TEXT.split()


def _fixtures() -> ModuleType | None:
    """fixtures/generate.py as a module (fixtures/ is not a package), or None if absent."""
    path = ROOT / "fixtures" / "generate.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("docintel_fixtures_generate", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a half-edited generator must not break the bench
        print(f"fixtures/generate.py unusable ({exc!r}); using the built-in generator")
        return None
    return module


def _builtin_page(seed: int, width: int = 1240, height: int = 1754, lines: int = 40) -> Image.Image:
    rng = random.Random(seed)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    margin = width // 10
    pitch = (height - 2 * margin) // (lines + 4)
    font = ImageFont.truetype(FONT, int(pitch * 0.62))
    head = ImageFont.truetype(FONT, int(pitch * 1.1))
    draw.text((margin, margin), " ".join(rng.sample(WORDS, 4)).title(), font=head, fill=0)
    for i in range(lines):
        words: list[str] = []
        while draw.textlength(" ".join(words), font=font) < width - 2.3 * margin:
            words.append(rng.choice(WORDS))
        draw.text((margin, margin + (i + 3) * pitch), " ".join(words[:-1]), font=font, fill=0)
    return img


def _builtin_rotate(
    img: Image.Image, angle: float, noise: float = 0.0, seed: int = 0
) -> Image.Image:
    out = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if noise > 0:
        a = np.asarray(out, dtype=np.float32)
        a += np.random.default_rng(seed).normal(0.0, noise * 255, a.shape).astype(np.float32)
        out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return out


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=61, help="skewed pages (angles -15..15)")
    parser.add_argument("--orientation-pages", type=int, default=24)
    parser.add_argument("--noise", type=float, default=0.06, help="noise std, fraction of 255")
    parser.add_argument("--builtin", action="store_true", help="ignore fixtures/generate.py")
    args = parser.parse_args(argv)

    fixtures = None if args.builtin else _fixtures()
    make_page = fixtures.text_page_image if fixtures else _builtin_page
    rotate_page = fixtures.rotate_page if fixtures else _builtin_rotate
    source = "fixtures/generate.py" if fixtures else "built-in generator"
    pages = {seed: make_page(seed) for seed in range(4)}

    # Skew: angles spread evenly over [-15, 15] (step 0.5 for the default 61), cycling
    # through seeds; every other page gets noise.
    angles = np.linspace(-15.0, 15.0, args.pages) if args.pages > 1 else np.zeros(1)
    errors: list[float] = []
    skew_ms: list[float] = []
    correct_ms: list[float] = []
    worst = (0.0, 0.0, 0.0)
    for i, angle in enumerate(angles):
        noise = args.noise if i % 2 else 0.0
        img = rotate_page(pages[i % len(pages)], float(angle), noise=noise, seed=i)
        gray = np.asarray(img)
        estimate, ms = _timed(lambda gray=gray: estimate_skew(gray))
        skew_ms.append(ms)
        _, ms = _timed(lambda img=img: correct(img))
        correct_ms.append(ms)
        err = abs(float(estimate) - float(angle))  # type: ignore[arg-type]
        errors.append(err)
        if err >= worst[0]:
            worst = (err, float(angle), noise)

    # Orientation: each page turned by 0/90/180/270 with a small residual skew.
    hits = 0
    orient_ms: list[float] = []
    quarters = (0, 90, 180, 270)
    for i in range(args.orientation_pages):
        quarter = quarters[i % 4]
        residual = ((i * 7) % 9 - 4) * 0.75  # -3..3 degrees
        img = rotate_page(pages[(i // 4) % len(pages)], quarter + residual, noise=0.03, seed=i)
        # Content turned counterclockwise by q needs q clockwise to be upright.
        got, ms = _timed(lambda img=img: detect_orientation(np.asarray(img)))
        orient_ms.append(ms)
        hits += got == quarter

    size = pages[0].size
    print(f"pages: {source}, {size[0]}x{size[1]} px, noise std {args.noise:.2f} on half")
    rows = [
        ("skew pages", f"{len(errors)}"),
        ("skew MAE (deg)", f"{statistics.fmean(errors):.3f}"),
        ("skew max error (deg)", f"{worst[0]:.3f} (at {worst[1]:+.1f}, noise {worst[2]:.2f})"),
        ("skew errors > 0.1 deg", f"{sum(e > 0.1 for e in errors)}"),
        (
            "orientation accuracy",
            f"{hits}/{args.orientation_pages} ({100 * hits / max(1, args.orientation_pages):.0f}%)",
        ),
        ("estimate_skew ms/page", f"{statistics.median(skew_ms):.0f} (median)"),
        ("detect_orientation ms/page", f"{statistics.median(orient_ms):.0f} (median)"),
        ("correct() ms/page", f"{statistics.median(correct_ms):.0f} (median, incl. enhance)"),
    ]
    width = max(len(name) for name, _ in rows)
    print("-" * (width + 40))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
