"""Words the text layer does not hold: OCR where a born-digital page has only pixels.

* A logo: a vendor's name is often only an image at the top of a born-digital invoice. Image
  blocks in the upper part of the first page that no text-layer word overlaps are read by OCR
  and their words join the page's.
* A poor invisible OCR layer: a scanned PDF that some scanner OCR'd carries its words as
  invisible text over a full-page image. That layer is read by our OCR as well, and the more
  legible of the two readings is used.

OCR is optional (``pip install 'docintel[ocr]'``): without it the text layer is what there is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docintel.document import Page, Word

TOP = 0.35  # logos are looked for in the upper part of the first page
MIN_AREA = 500.0  # points²: smaller images are icons and rules


def invisible_layer(page: Page) -> bool:
    """Most of the page's text is invisible and an image covers most of the page."""
    pdf = page.pdf_page
    if pdf is None or not page.words:
        return False
    try:
        with page.document._lock:
            images = pdf.get_image_info()
            area = page.raw_width * page.raw_height
            boxes = (i["bbox"] for i in images)
            if max(((b[2] - b[0]) * (b[3] - b[1]) for b in boxes), default=0) < 0.5 * area:
                return False  # no scan under the text: skip the costly trace
            traces = pdf.get_texttrace()
    except Exception:
        return False
    chars = sum(len(t["chars"]) for t in traces)
    hidden = sum(len(t["chars"]) for t in traces if t.get("type") == 3)
    return bool(chars) and hidden >= 0.8 * chars


def reread(page: Page) -> list[Word]:
    """The page's words by our OCR when its invisible layer reads worse; else the layer."""
    cached = page.__dict__.get("_reread")
    if cached is None:
        cached = page.__dict__["_reread"] = _reread(page)
    return list(cached)


def _reread(page: Page) -> list[Word]:
    from docintel.pages.stages import legibility

    try:
        from docintel.pages.ocr import ocr_words

        ours = ocr_words(page)
    except Exception:  # no OCR here
        return list(page.words)
    return ours if legibility(ours) >= legibility(page.words) else list(page.words)


def logo_words(page: Page) -> list[Word]:
    """OCR words of the image blocks at the top of a born-digital page that no word covers
    (read once per page: retries and other schemas reuse them)."""
    cached = page.__dict__.get("_logo_words")
    if cached is None:
        cached = page.__dict__["_logo_words"] = _logo_words(page)
    return list(cached)


def _logo_words(page: Page) -> list[Word]:
    pdf = page.pdf_page
    if pdf is None or page.index != 0:
        return []
    try:
        with page.document._lock:
            images = pdf.get_image_info()
    except Exception:
        return []
    from docintel.geometry import BBox

    out: list[Word] = []
    for info in images:
        x0, y0, x1, y1 = info["bbox"]
        if y0 > TOP * page.height or (x1 - x0) * (y1 - y0) < MIN_AREA:
            continue
        if (x1 - x0) > 0.9 * page.width and (y1 - y0) > 0.5 * page.height:
            continue  # a full-page scan: not a logo
        box = BBox(max(x0, 0.0), max(y0, 0.0), min(x1, page.width), min(y1, page.height))
        if any(_inside(w.bbox, box) for w in page.words):
            continue
        out += _read_box(page, box)
    return out


def _inside(word: object, box: object) -> bool:
    b, r = word, box
    cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2  # type: ignore[attr-defined]
    return r.x0 <= cx <= r.x1 and r.y0 <= cy <= r.y1  # type: ignore[attr-defined]


def _read_box(page: Page, box: object) -> list[Word]:
    """OCR one box of the page: the crop at a readable size, words back in page points."""
    from docintel.document import Word
    from docintel.geometry import BBox

    b: BBox = box  # type: ignore[assignment]
    side = int(min(1600, max(400, 8 * max(b.width, b.height))))
    try:
        from docintel.pages.ocr import _rapidocr

        crop = page.crop(b, longest_side=side, padding=0)
        segments = _rapidocr(crop)
    except Exception:  # no OCR here, or it failed on this crop
        return []
    scale = max(b.width, b.height) / max(crop.size)
    words = []
    for _, items in segments:
        for text, px in items:
            words.append(
                Word(
                    text,
                    BBox(
                        b.x0 + px.x0 * scale,
                        b.y0 + px.y0 * scale,
                        b.x0 + px.x1 * scale,
                        b.y0 + px.y1 * scale,
                    ),
                )
            )
    return words
