"""The stages a ``Document`` runs on its pages on demand: layout and OCR.

``document`` holds data and cannot import these stages (they import it to read pages); ingest
hands every document this object instead, so the import graph stays one-way:
ingest -> stages -> layout, ocr -> document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .document import Page, Region, Word


class PageStages:
    """Layout and OCR, as ``docintel.layout`` and ``docintel.ocr`` do them."""

    def regions(self, page: Page) -> list[Region]:
        from .layout import detect_regions

        return detect_regions(page)

    def ocr_words(self, page: Page) -> list[Word]:
        from .ocr import ocr_words

        return ocr_words(page)


STAGES = PageStages()
