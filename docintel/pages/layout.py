"""Layout analysis: split a page into text, table, figure, formula and handwriting regions.

Two paths, both cheap heuristics (no models):

* Pages with a text layer use pymupdf: text lines and fonts, image placements and vector paths.
  Ruled tables are found by drawing the page's horizontal/vertical strokes into a 1 px/pt mask
  and looking for connected grids; unruled tables from words that line up in >= 3 columns.
  ``page.find_tables()`` was measured and rejected: pymupdf 2.0 runs its ONNX layout model by
  default (~650 ms/page on ICDAR-2013 pages); ``find_tables(use_layout=False)`` still costs
  50-90 ms/page, while this whole path runs in a few ms per page.
* Image-only pages (scans, photos) use OpenCV on the corrected page image: morphological line
  kernels give ruled grids, smeared ink gives text lines and blocks, and large or dense ink
  gives figures. Printed vs handwritten text is a regularity score (see ``_handwriting_score``).

Boxes are page points (origin top-left), regions come back in reading order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from statistics import median
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from docintel.document import Page, PageKind, Region, RegionKind, Word
from docintel.geometry import BBox, visual_lines
from docintel.render.pdfguard import pdf_errors

if TYPE_CHECKING:
    import pymupdf

__all__ = ["detect_regions"]

_IMAGE_SIDE = 1600  # px: enough for 8 pt text on a letter page to keep separate characters
_RULE = 2.5  # points: a filled rect thinner than this is a ruling, not a shape
_MATH_FONT = re.compile(r"CMMI|CMSY|CMEX|MSAM|MSBM|Math|Symbol|STIX|Euclid|MTExtra|MT Extra", re.I)
_MATH_CHARS = set("∑∏∫∮√∂∇±∓×÷≤≥≠≈≡∝∞∈∉⊂⊃⊆⊇∪∩∀∃→←↔⇒⇔⋅‖∧∨¬²³¹⁰⁴⁵⁶⁷⁸⁹⁺⁻ⁿ₀₁₂₃₄")
_OPERATORS = set("=+−<>^_/|")


@dataclass
class _Line:
    """One text line of the text layer, with what formula detection needs."""

    bbox: BBox
    text: str
    block: int
    math: float  # share of the line that looks like mathematics, 0..1
    inline_math: BBox | None = None  # a math-font run inside a prose line


def detect_regions(page: Page) -> list[Region]:
    """Regions of ``page`` in reading order (see the module docstring for how)."""
    pdf_page = page.pdf_page
    fix = page.correction  # None for born-digital pages unless preprocess_digital is set
    aligned = fix is None or (fix.rotation == 0 and abs(fix.skew) < 0.5)  # text layer still fits
    if page.kind == PageKind.DIGITAL and page.words and pdf_page is not None and aligned:
        what = f"{page.document.name or 'the PDF'}: page {page.index + 1} could not be laid out"
        with pdf_errors(what):  # MuPDF's errors (and MemoryError) as typed docintel errors
            regions = _from_text_layer(page, pdf_page)
    else:
        regions = _from_image(page)
    return _reading_order(regions, page.width)


# ==== shared: ruled grids in a line mask ====================================================


def _grids(h: np.ndarray, v: np.ndarray, min_side: int) -> list[tuple[BBox, int, int]]:
    """Boxes (mask px) of connected horizontal+vertical line sets that form at least 2 cells.

    Returns (box, horizontal lines, vertical lines). A plain frame (2 x 2 lines) is a text box
    or picture border, not a table, so at least 6 line crossings are required.
    """
    k = np.ones((5, 5), np.uint8)  # joins strokes that stop a point short of each other
    hd, vd = cv2.dilate(h, k), cv2.dilate(v, k)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_or(hd, vd), connectivity=8)
    joints = cv2.bitwise_and(hd, vd)
    out = []
    for i in range(1, n):
        x, y, w, hh = (int(s) for s in stats[i][:4])
        if w < min_side or hh < min_side:
            continue
        mine = lab[y : y + hh, x : x + w] == i
        nh = _runs(((hd[y : y + hh, x : x + w] > 0) & mine).sum(axis=1) >= min_side // 2)
        nv = _runs(((vd[y : y + hh, x : x + w] > 0) & mine).sum(axis=0) >= min_side // 2)
        crossings = (joints[y : y + hh, x : x + w] > 0) & mine
        nj = cv2.connectedComponents(crossings.astype(np.uint8))[0] - 1
        if nh >= 2 and nv >= 2 and nj >= 6:
            out.append((BBox(x + 2, y + 2, x + w - 2, y + hh - 2), nh, nv))  # undo dilation
    return out


def _runs(flags: np.ndarray) -> int:
    """Number of runs of True in a 1-D boolean array."""
    f = flags.astype(np.int8)
    return int(np.count_nonzero(np.diff(np.concatenate(([0], f))) == 1))


# ==== text-layer path =======================================================================


def _from_text_layer(page: Page, pdf_page: pymupdf.Page) -> list[Region]:
    import pymupdf

    flags = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES  # image bytes not needed
    blocks = pdf_page.get_text("dict", flags=flags)["blocks"]
    lines = _lines(blocks)
    paths = [p for p in pdf_page.get_drawings() if _usable(p, page)]
    words = page.words

    tables = [(b, c) for b, c in _ruled_tables(page, paths, words)]
    prose = _prose_blocks(words)
    stream = [w for w in words if w.block not in prose and not _inside_any(w.bbox, tables)]
    for box, conf in _stream_tables(stream):
        if not any(_overlap(box, t) > 0.3 for t, _ in tables):
            tables.append((box, conf))
    figures = _vector_figures(page, paths, words, [t for t, _ in tables])
    for info in pdf_page.get_image_info():
        box = BBox.of(info["bbox"]).clip(page.width, page.height)
        if box.width >= 16 and box.height >= 16 and box.area < 0.9 * page.bbox.area:
            figures.append((box, 0.9))
    figures = [f for f in _merge(figures) if not any(_overlap(f[0], t) > 0.6 for t, _ in tables)]

    regions = [_region(RegionKind.TABLE, b, c, page, words) for b, c in tables]
    regions += [_region(RegionKind.FIGURE, b, c, page, words) for b, c in figures]
    taken = [r.bbox for r in regions]
    lines = [ln for ln in lines if not _inside_any(ln.bbox, [(b, 0) for b in taken])]
    regions += _formulas_and_text(lines, page)
    return regions


def _region(kind: RegionKind, box: BBox, conf: float, page: Page, words: list[Word]) -> Region:
    text = _text_in(words, box) if kind != RegionKind.FIGURE else ""
    return Region(kind, box, page.index, round(conf, 2), "text_layer", text)


def _lines(blocks: list[dict[str, Any]]) -> list[_Line]:
    """Text lines with a mathematics score from characters, fonts and superscripts."""
    out = []
    for bi, block in enumerate(blocks):
        for line in block.get("lines", []):
            spans = [s for s in line["spans"] if s["text"].strip()]
            if not spans:
                continue
            top = max(s["size"] for s in spans)
            n = sym = ops = fonts = sup = 0.0
            run: BBox | None = None
            for s in spans:
                chars = [c for c in s["text"] if not c.isspace()]
                n += len(chars)
                greek = sum("\u0370" <= c <= "\u03ff" for c in chars)
                sym += greek + sum(c in _MATH_CHARS or "\u2200" <= c <= "\u22ff" for c in chars)
                ops += sum(c in _OPERATORS for c in chars)
                mathy = bool(_MATH_FONT.search(s["font"]))
                fonts += len(chars) * mathy
                small = s["flags"] & 1 or s["size"] < 0.8 * top  # superscript / limits
                sup += len(chars) * bool(small)
                if mathy:
                    run = BBox.of(s["bbox"]) if run is None else run.union(BBox.of(s["bbox"]))
            text = " ".join(s["text"].strip() for s in spans)
            long_words = sum(len(w) > 3 and w.isalpha() for w in text.split())
            math = max(fonts / n, min(1.0, (sym + 0.5 * ops + 0.5 * sup) / n))
            if long_words > 3:  # prose that quotes some maths: a text line
                math = min(math, 0.3)
            inline = run if run and fonts >= 3 and math < 0.5 else None
            out.append(_Line(BBox.of(line["bbox"]), text, bi, math, inline))
    return out


def _prose_blocks(words: list[Word]) -> set[int]:
    """Blocks of running text: several lines of >= 5 words without column-wide gaps."""
    lines: dict[tuple[int, int], list[Word]] = {}
    for w in words:
        lines.setdefault((w.block, w.line), []).append(w)
    per: dict[int, list[tuple[int, bool]]] = {}
    for (block, _), ws in lines.items():
        ws.sort(key=lambda w: w.bbox.x0)
        gap = 0.75 * median(w.bbox.height for w in ws)
        wide = any(b.bbox.x0 - a.bbox.x1 > gap for a, b in pairwise(ws))
        per.setdefault(block, []).append((len(ws), wide))
    return {
        b
        for b, ls in per.items()
        if len(ls) >= 2
        and median(n for n, _ in ls) >= 5
        and sum(wide for _, wide in ls) <= 0.2 * len(ls)
    }


def _usable(path: dict[str, Any], page: Page) -> bool:
    """Skip invisible paths and page-sized backgrounds/borders."""
    r = path["rect"]
    if path.get("fill") is None and path.get("color") is None:
        return False
    return not (r.width > 0.8 * page.width and r.height > 0.8 * page.height)


def _ruled_tables(
    page: Page, paths: list[dict[str, Any]], words: list[Word]
) -> list[tuple[BBox, float]]:
    """Ruled tables: grids of vector strokes and cell rectangles that hold words."""
    w, h = int(page.width) + 2, int(page.height) + 2
    hm, vm = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    for path in paths:
        for item in path["items"]:
            for x0, y0, x1, y1 in _segments(item):
                if abs(y1 - y0) < 1:
                    cv2.line(hm, (round(x0), round(y0)), (round(x1), round(y0)), 255, 1)
                elif abs(x1 - x0) < 1:
                    cv2.line(vm, (round(x0), round(y0)), (round(x0), round(y1)), 255, 1)
    out = []
    for box, nh, nv in _grids(hm, vm, 8):
        inside = sum(box.contains(wd.bbox, 2) for wd in words)
        cells = (nh - 1) * (nv - 1)
        if inside >= 4 and inside >= 0.3 * cells:  # bar charts also form grids, without words
            out.append((box, min(0.95, 0.7 + 0.03 * cells)))
    return out


def _segments(item: tuple[Any, ...]) -> list[tuple[float, float, float, float]]:
    """Axis-aligned strokes of one path item: lines, thin rects as rules, rect edges."""
    if item[0] == "l":
        (a, b) = item[1], item[2]
        return [(min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y))]
    if item[0] not in ("re", "qu"):
        return []
    r = item[1] if item[0] == "re" else item[1].rect
    if r.height <= _RULE:
        return [(r.x0, (r.y0 + r.y1) / 2, r.x1, (r.y0 + r.y1) / 2)]
    if r.width <= _RULE:
        return [((r.x0 + r.x1) / 2, r.y0, (r.x0 + r.x1) / 2, r.y1)]
    return [
        (r.x0, r.y0, r.x1, r.y0), (r.x0, r.y1, r.x1, r.y1),
        (r.x0, r.y0, r.x0, r.y1), (r.x1, r.y0, r.x1, r.y1),
    ]  # fmt: skip


def _stream_tables(words: list[Word]) -> list[tuple[BBox, float]]:
    """Unruled tables: runs of >= 3 consecutive rows whose cells line up in >= 3 columns."""
    out: list[tuple[BBox, float]] = []
    run: list[list[BBox]] = []
    gaps: list[float] = []
    pending: list[list[BBox]] = []  # single-cell rows (section labels) inside a table
    for cells in [*_rows(words), []]:  # the empty sentinel flushes the last run
        prev = (pending or run)[-1] if run else None
        gap = cells[0].y0 - max(c.y1 for c in prev) if prev and cells else 1e9
        height = median(c.height for c in cells) if cells else 0
        # rows of a table are evenly spaced: a wider gap starts a caption or another table
        even = gap <= 2.0 * height and (len(gaps) < 2 or gap <= median(gaps) + 0.6 * height)
        left = min(c.x0 for r in run for c in r) if run else 0.0
        if len(cells) >= 2 and even:
            run += [*pending, cells]
            gaps.append(gap)
            pending = []
        elif len(cells) == 1 and run and even and abs(cells[0].x0 - left) < 2 * height:
            pending.append(cells)  # a section label in the first column, not a caption
        else:
            # A first-column line continuing right after the run means the "columns" were
            # a text block beside key/value pairs (an address next to invoice metadata).
            found = None if pending else _columns(run)
            if found:
                out.append(found)
            run, pending, gaps = ([cells], [], []) if len(cells) >= 2 else ([], [], [])
    return out


def _rows(words: list[Word]) -> list[list[BBox]]:
    """Words grouped into visual rows (``geometry.visual_lines``), split into cells at wide
    gaps."""
    out = []
    for idx in visual_lines([w.bbox.as_tuple() for w in words]):
        row = [words[i] for i in idx]
        gap = 0.75 * median(w.bbox.height for w in row)
        cells = [row[0].bbox]
        for w in row[1:]:
            if w.bbox.x0 - cells[-1].x1 > gap:
                cells.append(w.bbox)
            else:
                cells[-1] = cells[-1].union(w.bbox)
        out.append(cells)
    return out


def _columns(run: list[list[BBox]]) -> tuple[BBox, float] | None:
    """The run's box if its multi-cell rows share >= 2 empty vertical gutters (>= 3 columns)."""
    core = [r for r in run if len(r) >= 2]
    if sum(len(r) >= 3 for r in core) < 3:
        return None
    x0 = int(min(c.x0 for r in core for c in r))
    x1 = int(max(c.x1 for r in core for c in r)) + 1
    cover = np.zeros(x1 - x0 + 1, np.int32)
    for r in core:
        for c in r:
            cover[int(c.x0) - x0 : int(c.x1) - x0 + 1] += 1
    empty = cover <= 0.1 * len(core)  # a spanning header may cross a gutter
    gutters = [g for g in _true_spans(empty) if g[1] - g[0] >= 3]
    if len(gutters) < 2:
        return None
    box = run[0][0]
    for r in run:
        for c in r:
            box = box.union(c)
    return box, min(0.85, 0.5 + 0.1 * len(gutters))


def _true_spans(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in a 1-D boolean array."""
    f = np.concatenate(([0], flags.astype(np.int8), [0]))
    d = np.diff(f)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _vector_figures(
    page: Page, paths: list[dict[str, Any]], words: list[Word], tables: list[BBox]
) -> list[tuple[BBox, float]]:
    """Clusters of vector paths (charts, diagrams) that are not tables, rules or text boxes."""
    w, h = int(page.width) + 2, int(page.height) + 2
    mask = np.zeros((h, w), np.uint8)
    kept = []
    for p in paths:
        r = BBox.of(tuple(p["rect"]))
        if (r.width < 1 and r.height < 1) or any(t.contains(r, 2) for t in tables):
            continue
        kept.append(p)
        cv2.rectangle(mask, (int(r.x0), int(r.y0)), (int(r.x1), int(r.y1)), 255, -1)
    mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))  # paths within ~4 pt belong together
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    out = []
    for i in range(1, n):
        x, y, bw, bh = (int(s) for s in stats[i][:4])
        box = BBox(x + 4, y + 4, x + bw - 4, y + bh - 4)
        if box.width < 30 or box.height < 30:
            continue  # rules, underlines, bullets
        mine = [p for p in kept if box.contains(BBox.of(tuple(p["rect"])), 1)]
        shapes = sum(_is_shape(p) for p in mine)
        ink = sum(wd.bbox.area for wd in words if box.contains(wd.bbox, 1))
        dense = ink / box.area
        if dense < 0.25 and (shapes >= 2 or len(mine) >= 6):  # not a framed paragraph
            out.append((box, 0.8 if shapes >= 2 else 0.6))
    return out


def _is_shape(path: dict[str, Any]) -> bool:
    """A path that draws something other than straight axis-aligned rules."""
    for item in path["items"]:
        if item[0] == "c":
            return True
        if item[0] == "l" and abs(item[1].x - item[2].x) >= 1 and abs(item[1].y - item[2].y) >= 1:
            return True
    r = path["rect"]
    return path.get("fill") is not None and min(r.width, r.height) > _RULE


def _formulas_and_text(lines: list[_Line], page: Page) -> list[Region]:
    """Formula lines (merged into displays) and text blocks split around them."""
    out: list[Region] = []
    formulas: list[BBox] = []
    for ln in lines:
        if ln.math >= 0.5:
            near = [i for i, f in enumerate(formulas) if _close(f, ln.bbox)]
            if near:
                formulas[near[-1]] = formulas[near[-1]].union(ln.bbox)
            else:
                formulas.append(ln.bbox)
        elif ln.inline_math is not None:
            out.append(Region(RegionKind.FORMULA, ln.inline_math, page.index, 0.6, "text_layer"))
    for f in formulas:
        out.append(_region(RegionKind.FORMULA, f, 0.8, page, page.words))
    # consecutive non-formula lines of one block form a text region
    groups: list[list[_Line]] = []
    for ln in lines:
        if ln.math >= 0.5:
            groups.append([])
        elif groups and groups[-1] and groups[-1][-1].block == ln.block:
            groups[-1].append(ln)
        else:
            groups.append([ln])
    merged: list[tuple[BBox, str]] = []
    for g in groups:
        if not g:
            continue
        box = g[0].bbox
        for ln in g[1:]:
            box = box.union(ln.bbox)
        text = "\n".join(ln.text for ln in g)
        near = [i for i, (b, _) in enumerate(merged) if _same_block(b, box, g[0].bbox.height)]
        if near:  # pymupdf often cuts a right-aligned stack (totals, addresses) into blocks
            b, t = merged[near[-1]]
            merged[near[-1]] = (b.union(box), f"{t}\n{text}")
        else:
            merged.append((box, text))
    out += [Region(RegionKind.TEXT, b, page.index, 0.9, "text_layer", t) for b, t in merged]
    return out


def _same_block(a: BBox, b: BBox, line: float) -> bool:
    """Stacked boxes less than half a line apart that share a left or right edge."""
    gap = b.y0 - a.y1
    edge = min(abs(a.x0 - b.x0), abs(a.x1 - b.x1)) < 2
    return -0.5 * line < gap < 0.6 * line and edge


def _close(a: BBox, b: BBox) -> bool:
    """Lines of one display formula: overlapping columns, at most about a line apart."""
    gap = max(a.y0, b.y0) - min(a.y1, b.y1)
    reach = 1.5 * max(a.height, b.height)  # a matrix's columns, "det" before its bracket
    return gap < 0.8 * max(a.height, b.height) and min(a.x1, b.x1) > max(a.x0, b.x0) - reach


# ==== image path ============================================================================


def _from_image(page: Page) -> list[Region]:
    side = _IMAGE_SIDE
    gray = np.asarray(page.image(side).convert("L"))
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    local = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15
    )  # local threshold: uneven lighting on photos and scans ...
    dark = (gray < max(otsu, 150) + 30).astype(np.uint8) * 255  # ... but not grey scan borders
    full = cv2.bitwise_and(local, dark)
    length = max(20, max(gray.shape) // 40)
    horiz = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    hm = cv2.morphologyEx(full, cv2.MORPH_OPEN, horiz)
    vm = cv2.morphologyEx(full, cv2.MORPH_OPEN, horiz.T.copy())
    lines = cv2.dilate(cv2.bitwise_or(hm, vm), np.ones((3, 3), np.uint8))
    text_ink = cv2.bitwise_and(full, cv2.bitwise_not(lines))  # glyphs without rules/frames
    small = _components(text_ink)
    if len(small) == 0:
        return []
    heights = small[:, 3]
    ch = float(
        np.median(
            heights[heights < max(gray.shape) / 20]
            if (heights < max(gray.shape) / 20).any()
            else heights
        )
    )
    small = small[(small[:, 3] <= 2.5 * ch) | (small[:, 2] <= 2.5 * ch)]  # glyph-sized
    to_pt = 1 / page.scale(side)
    regions: list[Region] = []

    tables = []
    for box, nh, nv in _grids(hm, vm, int(3 * ch)):
        inside = _count_in(small, box)
        if inside >= 6 and (nh - 1) * (nv - 1) <= 3 * inside:
            tables.append(box)
            regions.append(_img_region(RegionKind.TABLE, box, 0.8, page, to_pt))
    figures = _img_figures(gray, _components(full), small, ch, tables)
    regions += [_img_region(RegionKind.FIGURE, b, 0.6, page, to_pt) for b in figures]

    taken = tables + figures
    mask = np.zeros_like(full)
    free = [c for c in small if not any(b.contains(BBox(*_xyxy(c)), ch) for b in taken)]
    for x, y, w, h, _ in free:
        mask[y : y + h, x : x + w] = 255
    # glyphs -> lines: close word gaps (wide in handwriting) but not column gutters (~3+ ch);
    # lines -> blocks: less than a line apart
    line_mask = cv2.dilate(mask, np.ones((1, max(3, int(2.2 * ch))), np.uint8))
    block_mask = cv2.dilate(line_mask, np.ones((max(3, int(0.9 * ch)), 1), np.uint8))
    glyphs = np.array(free) if free else np.zeros((0, 5), int)
    scored = []  # (line box, handwriting score, glyph count): scores are per line
    for c in _components(line_mask):
        box = BBox(*_xyxy(c))
        mine = glyphs[_in_box(glyphs, box)]
        scored.append((box, _handwriting_score(mine, ch, text_ink), len(mine)))
    blocks: list[tuple[BBox, float]] = []
    for c in _components(block_mask):
        box = BBox(*_xyxy(c))
        if box.height >= 0.6 * ch and box.width >= 1.5 * ch:
            ls = [(sc, n) for b, sc, n in scored if box.contains(b, 1)]
            weight = sum(n for _, n in ls)
            blocks.append((box, sum(sc * n for sc, n in ls) / weight if weight else 0.0))
    for box, score in _merge_lines(blocks, ch):
        kind = RegionKind.HANDWRITING if score >= 0.5 else RegionKind.TEXT
        regions.append(_img_region(kind, box, 0.5 + abs(score - 0.5), page, to_pt))
    return regions


def _components(mask: np.ndarray) -> np.ndarray:
    """(x, y, w, h, area) rows of a mask's components, without specks and page-edge debris."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    s = stats[1:]
    H, W = mask.shape
    edge = (
        (s[:, 0] <= 1)
        | (s[:, 1] <= 1)
        | (s[:, 0] + s[:, 2] >= W - 1)
        | (s[:, 1] + s[:, 3] >= H - 1)
    )
    return s[(s[:, 3] >= 4) & (s[:, 4] >= 8) & ~edge]


def _xyxy(c: np.ndarray) -> tuple[float, float, float, float]:
    return float(c[0]), float(c[1]), float(c[0] + c[2]), float(c[1] + c[3])


def _merge_lines(blocks: list[tuple[BBox, float]], ch: float) -> list[tuple[BBox, float]]:
    """Stack lines that share a left or right edge into one block (an address, totals)."""
    out: list[tuple[BBox, float, int]] = []
    for box, score in sorted(blocks, key=lambda b: b[0].y0):
        for i, (other, s, n) in enumerate(out):
            if _same_block(other, box, 1.5 * ch):
                out[i] = (other.union(box), (s * n + score) / (n + 1), n + 1)
                break
        else:
            out.append((box, score, 1))
    return [(b, s) for b, s, _ in out]


def _img_region(kind: RegionKind, box: BBox, conf: float, page: Page, to_pt: float) -> Region:
    pts = box.scale(to_pt).clip(page.width, page.height)
    return Region(kind, pts, page.index, round(min(conf, 1.0), 2), "image")


def _in_box(comps: np.ndarray, box: BBox) -> np.ndarray:
    x, y, w, h = comps[:, 0], comps[:, 1], comps[:, 2], comps[:, 3]
    return (x >= box.x0) & (y >= box.y0) & (x + w <= box.x1) & (y + h <= box.y1)


def _count_in(comps: np.ndarray, box: BBox) -> int:
    return int(np.count_nonzero(_in_box(comps, box))) if len(comps) else 0


def _img_figures(
    gray: np.ndarray, comps: np.ndarray, glyphs: np.ndarray, ch: float, tables: list[BBox]
) -> list[BBox]:
    """Pictures and drawings: clusters of large non-rule ink shapes, and large mid-tone areas.

    A frame with text inside is a text box, so a cluster needs little text ink, and two shapes,
    a solid one or a large connected drawing; photos show up as wide areas of grey tone.
    """
    w, h = comps[:, 2], comps[:, 3]
    rule = ((w >= 8 * ch) & (h <= 0.6 * ch)) | ((h >= 8 * ch) & (w <= 0.6 * ch))
    big = comps[(w > 2.5 * ch) & (h > 2.5 * ch) & ~rule]
    mask = np.zeros(gray.shape, np.uint8)
    for c in big:
        box = BBox(*_xyxy(c))
        if not any(t.contains(box, ch) for t in tables):
            mask[int(box.y0) : int(box.y1), int(box.x0) : int(box.x1)] = 255
    pad = max(3, int(1.5 * ch))
    mask = cv2.dilate(mask, np.ones((pad, pad), np.uint8))
    out = []
    for c in _components(mask) if mask.any() else []:
        box = BBox(c[0] + pad // 2, c[1] + pad // 2, c[0] + c[2] - pad // 2, c[1] + c[3] - pad // 2)
        members = big[_in_box(big, box.pad(1))]
        solid = members[:, 4].sum() / box.area if box.area else 0.0
        text = glyphs[_in_box(glyphs, box)][:, 4].sum() / box.area if box.area else 0.0
        shapes = len(members) >= 2 or solid > 0.3 or min(box.width, box.height) > 8 * ch
        if box.width > 5 * ch and box.height > 5 * ch and shapes and text < 0.05:
            out.append(box)
    f = 8  # photos: grey tone over areas much larger than a glyph, at 1/8 scale
    tone = cv2.resize(gray, (gray.shape[1] // f, gray.shape[0] // f), interpolation=cv2.INTER_AREA)
    tone = cv2.morphologyEx(((tone < 190) * 255).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3)))
    for c in _components(tone) if tone.any() else []:
        box = BBox(*_xyxy(c)).scale(f)
        if box.width > 8 * ch and box.height > 8 * ch and not any(box.iou(t) > 0.3 for t in tables):
            out.append(box)
    return [b for b, _ in _merge([(b, 1.0) for b in out])]


def _handwriting_score(comps: np.ndarray, ch: float, ink: np.ndarray) -> float:
    """0..1: how unlike printed text one text line's glyphs are.

    Printed words sit on one baseline and are upright (or all equally italic). Handwriting
    moves each word off the line and leans, each word differently. Three cues, each scaled
    to 0..1: (a) scatter of per-word baselines around the line's fitted baseline, (b) spread
    of the per-word slant (shear from second moments of tall glyphs), (c) the slant itself.
    Weighted 0.35 / 0.25 / 0.4, so italic print alone (c) stays below the 0.5 cut. Slant is
    only measured on glyphs >= 20 px tall (noise below), so small writing is read as print.
    """
    comps = comps[comps[:, 3] >= 0.5 * ch]
    if len(comps) < 4:
        return 0.0
    comps = comps[np.argsort(comps[:, 0])]
    x, y, w, h = (comps[:, i].astype(float) for i in range(4))
    cut = np.flatnonzero(x[1:] - (x + w)[:-1] > 0.35 * ch) + 1  # word gaps
    words = np.split(np.arange(len(comps)), cut)
    base = np.array([np.median((y + h)[i]) for i in words])
    mid = np.array([np.median((x + w / 2)[i]) for i in words])
    scatter = _scatter(mid, base) / ch if len(words) >= 3 else 0.0
    slants = []
    for idx in words:
        shear = []
        for cx, cy, cw, chh, _ in comps[idx]:
            if chh >= max(0.8 * ch, 20):  # smaller glyphs give noisy moments
                m = cv2.moments(ink[cy : cy + chh, cx : cx + cw], binaryImage=True)
                if m["mu02"] > 0:
                    shear.append(m["mu11"] / m["mu02"])
        if shear:
            slants.append(float(np.median(shear)))
    lean = abs(float(np.median(slants))) if slants else 0.0
    spread = (
        float(np.median(np.abs(np.array(slants) - np.median(slants)))) if len(slants) >= 3 else 0.0
    )
    parts = (
        np.clip((scatter - 0.03) / 0.08, 0, 1),
        np.clip((spread - 0.03) / 0.07, 0, 1),
        np.clip((lean - 0.06) / 0.1, 0, 1),
    )
    return float(0.35 * parts[0] + 0.25 * parts[1] + 0.4 * parts[2])


def _scatter(xs: np.ndarray, ys: np.ndarray) -> float:
    """Median absolute deviation of ``ys`` around their least-squares line over ``xs``."""
    if np.ptp(xs) > 0:
        ys = ys - np.polyval(np.polyfit(xs, ys, 1), xs)
    return float(np.median(np.abs(ys - np.median(ys))))


# ==== shared helpers ========================================================================


def _overlap(a: BBox, b: BBox) -> float:
    """Share of ``a`` covered by ``b``."""
    inter = a.intersection(b)
    return inter.area / a.area if inter is not None and a.area > 0 else 0.0


def _inside_any(box: BBox, boxes: list[tuple[BBox, float]]) -> bool:
    return any(_overlap(box, b) > 0.5 for b, _ in boxes)


def _merge(boxes: list[tuple[BBox, float]]) -> list[tuple[BBox, float]]:
    """Union overlapping boxes (an image inside a vector frame is one figure)."""
    out: list[tuple[BBox, float]] = []
    for box, conf in sorted(boxes, key=lambda b: -b[0].area):
        for i, (other, c) in enumerate(out):
            if box.intersection(other) is not None:
                out[i] = (other.union(box), max(c, conf))
                break
        else:
            out.append((box, conf))
    return out


def _text_in(words: list[Word], box: BBox) -> str:
    """Words whose centre lies in ``box``, one text-layer line per output line."""
    lines: dict[tuple[int, int], list[str]] = {}
    for w in words:
        cx, cy = w.bbox.center
        if box.x0 <= cx <= box.x1 and box.y0 <= cy <= box.y1:
            lines.setdefault((w.block, w.line), []).append(w.text)
    return "\n".join(" ".join(ws) for ws in lines.values())


def _reading_order(regions: list[Region], width: float) -> list[Region]:
    """Top to bottom; where a band of regions splits into two columns, left column first.

    Full-width regions (crossing the middle of the page) end a band, so a two-column article
    with a full-width title or figure reads title, left column, right column, figure, ...
    """
    mid, slack = width / 2, 0.04 * width
    out: list[Region] = []
    band: list[Region] = []

    def flush() -> None:
        left = [r for r in band if r.bbox.center[0] < mid]
        right = [r for r in band if r.bbox.center[0] >= mid]
        if left and right and all(r.bbox.x1 <= mid + slack for r in left):
            out.extend(sorted(left, key=lambda r: (r.bbox.y0, r.bbox.x0)))
            out.extend(sorted(right, key=lambda r: (r.bbox.y0, r.bbox.x0)))
        else:
            out.extend(sorted(band, key=lambda r: (round(r.bbox.y0 / 4), r.bbox.x0)))
        band.clear()

    for r in sorted(regions, key=lambda r: (r.bbox.y0, r.bbox.x0)):
        if r.bbox.x0 < mid - slack and r.bbox.x1 > mid + slack:
            flush()
            out.append(r)
        else:
            band.append(r)
    flush()
    return out
