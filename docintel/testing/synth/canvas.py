"""Drawing generated documents: a page canvas over pymupdf with the fonts they use."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from docintel.testing.synth.tables import L

_UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_ASCII = str.maketrans(
    {
        "€": "EUR ",
        "₹": "Rs.",
        "ł": "l",
        "Ł": "L",
        "ę": "e",
        "ą": "a",
        "ó": "o",
        "ś": "s",
        "ż": "z",
        "ź": "z",
        "ć": "c",
        "ń": "n",
        "Ę": "E",
        "Ś": "S",
    }
)


class _Canvas:
    def __init__(self, width: float, height: float, font: str) -> None:
        import pymupdf

        self.pdf = pymupdf.open()
        self.page = self.pdf.new_page(width=width, height=height)
        self.font = font
        self.width, self.height = width, height

    def text(self, x: float, y: float, s: str, size: float = 9, bold: bool = False,
             align: str = "left") -> None:  # fmt: skip
        import pymupdf

        if not s:
            return
        font = {"helv": "hebo", "tiro": "tibo", "cour": "cobo"}[self.font] if bold else self.font
        kw: dict[str, Any] = {"fontname": font}
        if any(ord(ch) > 255 for ch in s):  # beyond Latin-1: a Unicode font, where there is one
            if _UNICODE_FONT.is_file():
                kw = {"fontname": "dejavu", "fontfile": str(_UNICODE_FONT)}
            else:
                s = s.translate(_ASCII)
        w = (
            pymupdf.Font(fontfile=str(_UNICODE_FONT)).text_length(s, fontsize=size)
            if "fontfile" in kw
            else pymupdf.get_text_length(s, fontname=font, fontsize=size)
        )
        if align == "right":
            x -= w
        elif align == "center":
            x -= w / 2
        self.page.insert_text((x, y), s, fontsize=size, **kw)

    def rule(self, y: float, x0: float = 40, x1: float | None = None) -> None:
        self.page.draw_line((x0, y), (x1 or self.width - 40, y), width=0.5)

    def bytes(self) -> bytes:
        data = self.pdf.tobytes()
        self.pdf.close()
        return data


def _pick(rng: random.Random, lang: str, key: str) -> str:
    return rng.choice(L[lang][key])
