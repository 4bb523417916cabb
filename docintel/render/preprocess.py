"""Image preprocessing for scans, photos and handwriting.

Pure functions on PIL images and numpy arrays: orientation (0/90/180/270), deskew and a
cheap enhancement (denoise + contrast normalisation). Estimation runs on a downscaled
grayscale copy; the resulting :class:`Correction` can then be applied to any rendering of
the same page. This module deliberately imports nothing else from ``docintel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

__all__ = [
    "Correction",
    "apply",
    "correct",
    "detect_orientation",
    "enhance",
    "estimate_skew",
    "rotate",
]

# Below this the deskew rotation moves content by < 1 px per 1000 px, so resampling (blur,
# canvas growth) costs more than it fixes.
_MIN_SKEW = 0.05
# Fewer line-like components than this and we treat the page as having no text lines.
_MIN_LINES = 3
# Estimation is resolution-independent; larger inputs are downscaled to this for speed.
_MAX_ESTIMATE_SIZE = 1600


@dataclass(frozen=True)
class Correction:
    """What :func:`correct` did to a page; re-apply it to other renderings with :func:`apply`."""

    rotation: int = 0  # 0, 90, 180 or 270: clockwise degrees the image was rotated to be upright
    skew: float = 0.0  # degrees the content was rotated (CCW positive) before deskew
    enhanced: bool = False  # whether denoise + contrast normalisation ran
    size: tuple[int, int] = (0, 0)  # (width, height) of the image before correction


# --------------------------------------------------------------------------- helpers


def _to_gray(image: Image.Image) -> np.ndarray:
    """Grayscale uint8 array; transparency is flattened onto white (not black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _as_uint8(gray: np.ndarray) -> np.ndarray:
    """Validate a 2-D array and bring it to uint8 (the only depth OpenCV's filters all accept)."""
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale array, got shape {gray.shape}")
    if gray.dtype == np.uint8:
        return gray
    if gray.dtype == np.bool_:
        return np.where(gray, 255, 0).astype(np.uint8)
    return np.clip(gray, 0, 255).astype(np.uint8)


def _downscale(gray: np.ndarray, longest: int) -> np.ndarray:
    h, w = gray.shape
    scale = longest / max(h, w)
    if scale >= 1.0:
        return gray
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _binarize(gray: np.ndarray) -> np.ndarray:
    """Ink = 255, background = 0.

    Otsu alone fails on shaded photos and adaptive alone turns noise on flat paper into
    ink; a pixel must pass both, which keeps text under shading and drops speckle.
    """
    # A light Gaussian rather than a median: a 3x3 median erases 1-px ascender stems of
    # small type, which the orientation vote depends on.
    g = cv2.GaussianBlur(gray, (3, 3), 0.7)
    otsu_t, _ = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # On a page with no ink Otsu splits the paper's own noise in two; ink must be clearly
    # darker than the paper (the median pixel on any page that is mostly paper).
    paper = float(np.median(g[::4, ::4]))
    _, otsu = cv2.threshold(g, min(otsu_t, paper - 30.0), 255, cv2.THRESH_BINARY_INV)
    block = max(15, (min(g.shape) // 30) | 1)
    adaptive = cv2.adaptiveThreshold(
        g, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 8
    )
    return cv2.bitwise_and(otsu, adaptive)


def _char_height(bw: np.ndarray) -> float | None:
    """Median height of glyph-sized components, or None when there are too few to be text."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
    if n <= 1:
        return None
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    areas = stats[1:, cv2.CC_STAT_AREA]
    limit = max(bw.shape) / 10
    keep = (areas >= 6) & (hs >= 3) & (hs < limit) & (ws < limit)
    if int(keep.sum()) < 20:
        return None
    height = float(np.median(hs[keep]))
    # Glyphs under 5 px are unreadable anyway; such "text" is almost always noise specks.
    return height if height >= 5 else None


def _dilate_lines(bw: np.ndarray, char_h: float) -> np.ndarray:
    """Merge letters and words of a line into one blob without bridging adjacent lines."""
    # Word gaps are ~0.6 x-heights; 1.5 closes them while column gutters stay open.
    width = max(3, round(1.5 * char_h))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (width, 1))
    return cv2.dilate(bw, kernel)


def _long_side_angle(rect: tuple) -> tuple[float, float, float]:
    """(angle, long, short) of a rotated rect; angle of the long side, CCW positive, (-90, 90].

    Uses the corner points instead of ``rect[2]`` because OpenCV 4 and 5 disagree on the
    angle convention (5 reports -90 for axis-aligned boxes).
    """
    pts = cv2.boxPoints(rect)
    e1 = pts[1] - pts[0]
    e2 = pts[2] - pts[1]
    l1 = float(np.hypot(*e1))
    l2 = float(np.hypot(*e2))
    dx, dy = (e1 if l1 >= l2 else e2).tolist()
    # Image y grows downwards, so a line rising to the right has dy < 0: negate for CCW.
    angle = -math.degrees(math.atan2(dy, dx))
    if angle <= -90.0:
        angle += 180.0
    elif angle > 90.0:
        angle -= 180.0
    return angle, max(l1, l2), min(l1, l2)


def _text_lines(bw: np.ndarray, max_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Angles and lengths of wide, thin line-like blobs within +-max_angle of horizontal."""
    char_h = _char_height(bw)
    if char_h is None:
        return np.empty(0), np.empty(0)
    dilated = _dilate_lines(bw, char_h)
    contours, _ = cv2.findContours(dilated, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles: list[float] = []
    lengths: list[float] = []
    for contour in contours:
        if len(contour) < 5:
            continue
        angle, long, short = _long_side_angle(cv2.minAreaRect(contour))
        # A text line is long compared with a glyph and with its own thickness; thick
        # blobs are pictures, paragraphs of merged vertical text or noise.
        if long < 6 * char_h or long < 4 * short or short > 4 * char_h:
            continue
        if abs(angle) > max_angle + 1.0:
            continue
        angles.append(angle)
        lengths.append(long)
    return np.asarray(angles), np.asarray(lengths)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _profile_refine(bw: np.ndarray, coarse: float, span: float = 0.6, step: float = 0.02) -> float:
    """Refine a skew angle by maximising the sharpness of the projection profile.

    The blob angles are a little noisy (ragged line ends, ascenders); projecting all ink
    along candidate directions uses every pixel and peaks sharply at the true angle.
    """
    ys, xs = np.nonzero(bw)
    if len(xs) < 500:
        return coarse
    if len(xs) > 150_000:  # subsampling keeps the peak while bounding the cost
        idx = np.random.default_rng(0).choice(len(xs), 150_000, replace=False)
        xs, ys = xs[idx], ys[idx]
    xs = xs.astype(np.float64) - bw.shape[1] / 2
    ys = ys.astype(np.float64) - bw.shape[0] / 2
    candidates = np.arange(coarse - span, coarse + span + step / 2, step)
    diag = math.hypot(*bw.shape)
    scores = np.empty(len(candidates))
    for i, a in enumerate(np.radians(candidates)):
        # Distance across a line running at angle a (CCW on screen); constant along it.
        proj = ys * math.cos(a) + xs * math.sin(a) + diag / 2
        hist = np.bincount(proj.astype(np.int64), minlength=int(diag) + 2).astype(np.float64)
        scores[i] = float(np.dot(hist, hist))
    best = int(np.argmax(scores))
    if best in (0, len(candidates) - 1):
        return coarse  # peak at the border: the profile disagrees, trust the blobs
    # Parabolic interpolation between grid points.
    s0, s1, s2 = scores[best - 1 : best + 2]
    denom = s0 - 2 * s1 + s2
    offset = 0.5 * (s0 - s2) / denom if denom < 0 else 0.0
    return float(candidates[best] + offset * step)


def _consensus(angles: np.ndarray, lengths: np.ndarray) -> float | None:
    """Length-weighted median angle, or None unless enough lines agree on it.

    Printed lines agree to ~0.01 degrees and handwriting to a degree or two; blobs made
    of noise or pictures scatter widely, and a guess from them would do harm.
    """
    if len(angles) < _MIN_LINES:
        return None
    median = _weighted_median(angles, lengths)
    spread = _weighted_median(np.abs(angles - median), lengths)
    return median if spread <= 3.0 else None


def _skew_from_lines(
    bw: np.ndarray, lines: tuple[np.ndarray, np.ndarray], max_angle: float
) -> float:
    """Skew from the line blobs of :func:`_text_lines`, refined on the ink of ``bw``."""
    angles, lengths = lines
    near = np.abs(angles) <= max_angle + 1.0
    coarse = _consensus(angles[near], lengths[near])
    if coarse is None:
        return 0.0
    refined = _profile_refine(bw, coarse)
    return float(np.clip(refined, -max_angle, max_angle))


def _rotate_array(
    a: np.ndarray,
    angle: float,
    fill: int | tuple[int, ...],
    interpolation: int = cv2.INTER_LINEAR,
    expand: bool = True,
) -> np.ndarray:
    """Rotate CCW by angle degrees about the centre, expanding the canvas unless told not to."""
    h, w = a.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = math.ceil(h * sin + w * cos), math.ceil(h * cos + w * sin)
    if not expand:
        nw, nh = w, h
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(a, m, (nw, nh), flags=interpolation, borderValue=fill)


def _line_evidence(lines: tuple[np.ndarray, np.ndarray]) -> float:
    """Total length of agreeing text lines; compared between the page and its transpose."""
    angles, lengths = lines
    return float(lengths.sum()) if _consensus(angles, lengths) is not None else 0.0


def _upside_down_score(bw: np.ndarray) -> float:
    """>0 for upright Latin text, <0 for upside-down, ~0 when undecided (bw must be level).

    Within a line, ascenders and capitals put more ink above the x-height band than
    descenders put below the baseline; rotating by 180 degrees swaps the two.
    """
    char_h = _char_height(bw)
    if char_h is None:
        return 0.0
    dilated = _dilate_lines(bw, char_h)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dilated, connectivity=8)
    above = below = 0.0
    votes = 0
    for i in range(1, n):
        x, y, w, h = stats[i, :4]
        if w < 6 * char_h or w < 4 * h or h > 4 * char_h:
            continue
        ink = (labels[y : y + h, x : x + w] == i) & (bw[y : y + h, x : x + w] > 0)
        profile = ink.sum(axis=1).astype(np.float64)
        peak = profile.max()
        if peak <= 0:
            continue
        core = np.nonzero(profile >= 0.4 * peak)[0]
        top, bottom = profile[: core[0]].sum(), profile[core[-1] + 1 :].sum()
        if top + bottom < 0.02 * profile.sum():
            continue  # all caps or digits: no ascender/descender signal
        above += top
        below += bottom
        votes += 1
    if votes < _MIN_LINES or above + below == 0:
        return 0.0
    return (above - below) / (above + below)


def _analyse(
    gray: np.ndarray, *, orientation: bool, deskew: bool, max_angle: float
) -> tuple[int, float]:
    """(clockwise rotation, skew after that rotation) for a grayscale page."""
    bw = _binarize(gray)
    # Lines up to 30 degrees off so that the horizontal/vertical vote survives heavy skew.
    lines = upright_lines = _text_lines(bw, 30.0)
    upright = bw
    quarter = False
    if orientation:
        turned = np.ascontiguousarray(np.rot90(bw, -1))  # clockwise 90
        turned_lines = _text_lines(turned, 30.0)
        # Require a clear margin: a page with little text should stay as it is.
        vertical = _line_evidence(turned_lines)
        if vertical > 0 and vertical > 1.5 * _line_evidence(lines):
            bw, lines, quarter = turned, turned_lines, True
    skew = _skew_from_lines(bw, lines, max_angle)
    rotation = 0
    if orientation:
        level = _rotate_array(bw, -skew, 0) if abs(skew) >= _MIN_SKEW else bw
        score = _upside_down_score(level)
        if quarter and abs(score) <= 0.1:
            # Vertical lines but no up/down evidence: 90 vs 270 would be a coin toss, and
            # a wrong quarter turn is worse than none. Leave the page as it came.
            skew = _skew_from_lines(upright, upright_lines, max_angle)
        else:
            rotation = (90 if quarter else 0) + (180 if score < -0.1 else 0)
    if not deskew or abs(skew) < _MIN_SKEW:
        skew = 0.0
    return rotation, skew


# --------------------------------------------------------------------------- public API


def estimate_skew(gray: np.ndarray, max_angle: float = 15.0) -> float:
    """Skew of text lines in degrees, counterclockwise positive, within +-max_angle.

    0.0 when no text lines are found.
    """
    bw = _binarize(_downscale(_as_uint8(gray), _MAX_ESTIMATE_SIZE))
    return _skew_from_lines(bw, _text_lines(bw, max_angle), max_angle)


def detect_orientation(gray: np.ndarray) -> int:
    """Clockwise rotation in {0, 90, 180, 270} that makes the (deskewed) page upright.

    Small residual skew is tolerated (it is estimated and removed internally). Returns 0
    when the page has too little text to decide.
    """
    gray = _downscale(_as_uint8(gray), _MAX_ESTIMATE_SIZE)
    rotation, _ = _analyse(gray, orientation=True, deskew=False, max_angle=15.0)
    return rotation


def rotate(
    image: Image.Image,
    angle: float,
    fill: int | tuple[int, ...] | None = None,
    *,
    expand: bool = True,
) -> Image.Image:
    """Rotate counterclockwise by angle degrees; new area is white.

    Multiples of 90 degrees are lossless transposes. ``expand=False`` keeps the canvas (and so
    the page's coordinate system): deskew uses it, as paper margins absorb the clipped corners.
    """
    quarter = angle % 360
    if quarter == 0:
        return image.copy()
    lossless = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180}
    lossless[270] = Image.Transpose.ROTATE_270
    if quarter in lossless:
        return image.transpose(lossless[quarter])
    if image.mode in ("1", "P"):  # interpolation needs a continuous-tone mode
        image = image.convert("RGBA" if image.mode == "P" else "L")
    bands = len(image.getbands())
    if fill is None:
        fill = 255 if bands == 1 else (255,) * bands
        if image.mode.startswith("I;16"):
            fill = 65535
    if image.mode in ("L", "RGB", "RGBA"):
        # OpenCV's warp is ~10x faster than PIL's rotate on page-sized images.
        border = (fill,) * bands if isinstance(fill, int) else tuple(fill)
        out = _rotate_array(np.asarray(image), angle, border, cv2.INTER_CUBIC, expand=expand)
        return Image.fromarray(out)  # dtype and band count pick the same mode back
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill)


def enhance(gray: np.ndarray) -> np.ndarray:
    """Cheap denoise (median 3x3) and contrast normalisation; same shape and dtype as input.

    The paper is flattened by dividing by a blurred background estimate (removes shading
    and yellowed paper), then ink and paper are stretched to the full range.
    """
    dtype = gray.dtype
    g = cv2.medianBlur(_as_uint8(gray), 3)
    h, w = g.shape
    # Background = text removed by a max filter, estimated at low resolution for speed.
    small = _downscale(g, 256)
    k = max(3, (max(small.shape) // 25) | 1)
    background = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.GaussianBlur(background, (0, 0), k / 2)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(g, np.maximum(background, 1), scale=255)
    # Stretch: the darkest 0.5% become black, the paper (above the 90th percentile) white.
    lo, hi = np.percentile(flat[:: max(1, h // 400), :: max(1, w // 400)], (0.5, 90))
    if hi - lo < 16:  # blank or near-uniform page: stretching would only amplify noise
        out = flat
    else:
        lut = np.clip((np.arange(256) - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)
        out = cv2.LUT(flat, lut)
    return out.astype(dtype, copy=False)


def correct(
    image: Image.Image,
    *,
    orientation: bool = True,
    deskew: bool = True,
    enhance: bool = True,
    work_size: int = 1600,
) -> tuple[Image.Image, Correction]:
    """Estimate on a grayscale copy (longest side ``work_size``), apply to the full image.

    Returns an L-mode image when ``enhance``, else the input's mode.
    """
    rotation, skew = 0, 0.0
    if orientation or deskew:
        small = _downscale(_to_gray(image), work_size)
        rotation, skew = _analyse(small, orientation=orientation, deskew=deskew, max_angle=15.0)
    correction = Correction(rotation=rotation, skew=skew, enhanced=enhance, size=image.size)
    return apply(image, correction), correction


def apply(image: Image.Image, correction: Correction) -> Image.Image:
    """Apply a correction estimated earlier to another rendering of the same page.

    Rotation, then deskew (canvas kept), then enhance; any resolution.
    """
    out = image
    if correction.enhanced:
        # The result is grayscale anyway: convert first so the rotations move 1 band, not 3.
        out = Image.fromarray(_to_gray(image))
    if correction.rotation % 360:
        out = rotate(out, -correction.rotation)  # clockwise
    if abs(correction.skew) >= _MIN_SKEW:
        out = rotate(out, -correction.skew, expand=False)
    if correction.enhanced:
        out = Image.fromarray(enhance(np.asarray(out)))  # 2-D uint8 -> "L"
    elif out is image:
        out = image.copy()  # never hand back the caller's object: it may be mutated
    return out
