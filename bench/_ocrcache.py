"""An on-disk cache of OCR words for benches: the same page image is read once.

OCR is the slow step (3-7 s a receipt on 2 cores) and is the same for every extractor that
reads the same pixels, so benches that compare extractors (today's CPU path against the new
one) share it. The key is the SHA-256 of the image handed to OCR (after orientation and
deskew; ``ocr_image`` where the tree has it), so a change of preprocessing is a cache miss,
never a stale hit.

    import _ocrcache; _ocrcache.install()     # before extracting
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CACHE = Path(
    os.environ.get("DOCINTEL_OCR_CACHE", Path.home() / ".cache" / "docintel-bench" / "ocr")
)


def install(cache: Path = CACHE) -> None:
    """Wrap ``docintel.pages.stages.PageStages.ocr_words`` with the cache (idempotent)."""
    from docintel.document import Word
    from docintel.geometry import BBox

    try:
        from docintel.pages import stages
    except ImportError:  # a tree from before the stage packages (the bench's "before")
        from docintel import stages  # type: ignore[no-redef]

    # the raw read where there is one (orientation checks then read through the cache)
    name = "read" if hasattr(stages.PageStages, "read") else "ocr_words"
    original = getattr(stages.PageStages, name)
    if getattr(original, "_cached", False):
        return
    cache.mkdir(parents=True, exist_ok=True)

    try:  # the image OCR reads (trees before it had its own: the page as the model sees it)
        from docintel.pages.ocr import ocr_image
    except ImportError:

        def ocr_image(page):  # type: ignore[no-untyped-def]
            return page.image(2000)

    def ocr_words(self, page):  # type: ignore[no-untyped-def]
        image = ocr_image(page)
        h = hashlib.sha256(image.tobytes())
        h.update(repr((image.size, round(page.width, 2), round(page.height, 2))).encode())
        path = cache / f"{h.hexdigest()}.json"
        if path.is_file():
            rows = json.loads(path.read_text())
            return [Word(t, BBox(a, b, c, d), bl, ln) for t, a, b, c, d, bl, ln in rows]
        words = original(self, page)
        rows = [[w.text, *w.bbox.as_tuple(), w.block, w.line] for w in words]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows))
        tmp.replace(path)
        return words

    ocr_words._cached = True  # type: ignore[attr-defined]
    setattr(stages.PageStages, name, ocr_words)
