"""The stages a ``Document`` runs on its pages on demand: layout and OCR.

``document`` holds data and cannot import these stages (they import it to read pages); ingest
hands every document this object instead, so the import graph stays one-way:
ingest -> stages -> layout, ocr -> document.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docintel.document import Page, Region, Word


class PageStages:
    """Layout and OCR, as ``docintel.pages.layout`` and ``docintel.pages.ocr`` do them."""

    def regions(self, page: Page) -> list[Region]:
        from docintel.pages.layout import detect_regions

        return detect_regions(page)

    def ocr_words(self, page: Page) -> list[Word]:
        """OCR words of the page as oriented; a page that orientation detection turned is read
        the other way up too, and the reading that makes more sense wins (``upright``)."""
        words = self.read(page)
        correction = page.correction
        if correction is None or correction.rotation == 0:
            return words
        return upright(self, page, words)

    def read(self, page: Page) -> list[Word]:
        """OCR of the page as it is oriented now (``docintel.pages.ocr``)."""
        from docintel.pages.ocr import ocr_words

        return ocr_words(page)


_TOKEN = re.compile(r"[A-Za-z]{3,}|\d+[.,:/-]\d+")


def legibility(words: list[Word]) -> float:
    """How much of the OCR reads as text: letters in words of three or more, numbers with a
    separator (amounts, dates, times). Upside-down pages read as short shards."""
    return float(sum(len(m) for w in words for m in _TOKEN.findall(w.text)))


def upright(stages: PageStages, page: Page, words: list[Word]) -> list[Word]:
    """Orientation detection decides between a page and its 180-degree turn by the shape of
    ascenders and descenders, which all-capital text (receipts) does not have; it turned
    upright receipts upside down. OCR knows: the page is read the other way up as well, and
    the turn whose words are clearly more legible is kept (the page's correction with it)."""
    first = page.correction
    assert first is not None
    other = replace(first, rotation=(first.rotation + 180) % 360)
    doc = page.document
    page.__dict__["correction"] = other
    doc._images.drop(doc._cache_id)  # images of the first turn
    try:
        turned = stages.read(page)
    except Exception:
        turned = []
    if legibility(turned) > 1.25 * legibility(words) + 10:
        page.__dict__.pop("regions", None)  # laid out the other way up: lay out again
        return turned
    page.__dict__["correction"] = first
    doc._images.drop(doc._cache_id)
    return words


STAGES = PageStages()
