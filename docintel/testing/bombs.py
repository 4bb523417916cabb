"""Small inputs that ask for a lot of work, for the hardening tests and ``bench/attacks.py``."""

from __future__ import annotations

import io
from collections.abc import Callable


def pdf_pages(pages: int, text: Callable[[int], str] | None = None) -> bytes:
    """A PDF of ``pages`` A4 pages, empty or with ``text(i)`` on page ``i`` (2000 empty pages
    make about 244 kB)."""
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page()
        if text is not None:
            page.insert_text((72, 72), text(i))
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


def tiff_frames(count: int) -> bytes:
    """``count`` bilevel 1000 x 1000 frames, group 4: about 416 kB for 10^9 pixels at 1000."""
    from PIL import Image

    frame = Image.new("1", (1000, 1000), 1)
    buf = io.BytesIO()
    frame.save(
        buf, format="TIFF", save_all=True, append_images=[frame] * (count - 1), compression="group4"
    )
    return buf.getvalue()
