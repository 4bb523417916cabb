"""A page's words as the CPU path reads them: tokens, visual lines, conventions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from docintel.geometry import visual_lines
from docintel.text.values import dash_decimal, misread, runs, unglue

if TYPE_CHECKING:
    from docintel.document import Page, Region
from docintel.engines.cpu.vocab import _NUMBER_WORDS

_SEPARATORS = {"-", "–", "—", "|", "||", "•", "·", "/", "*"}


@dataclass(eq=False)
class _W:
    """A word of a page with its box (points) and its label tokens."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    page: int
    toks: tuple[str, ...]

    @property
    def h(self) -> float:
        return max(self.y1 - self.y0, 1.0)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(eq=False)
class _Line:
    """Words at the same height on a page, left to right (a visual line, across columns)."""

    words: list[_W]
    page: int
    no: int = 0  # position among the page's lines, top to bottom
    segments: list[tuple[int, int]] = field(default_factory=list)  # word index ranges [a, b)
    # top, bottom, median word height: read thousands of times per document, so kept
    y0: float = field(init=False, default=0.0)
    y1: float = field(init=False, default=0.0)
    h: float = field(init=False, default=1.0)

    def __post_init__(self) -> None:
        self.measure()

    def measure(self) -> None:
        """Bounds and height again, after the words changed."""
        self.y0 = min(w.y0 for w in self.words)
        self.y1 = max(w.y1 for w in self.words)
        self.h = sorted(w.h for w in self.words)[len(self.words) // 2]

    def segment_of(self, i: int) -> tuple[int, int]:
        return next(s for s in self.segments if s[0] <= i < s[1])


@lru_cache(maxsize=1 << 16)  # the same words recur on every page and in every phrase
def _tokens(text: str) -> tuple[str, ...]:
    """Label tokens of a word: folded alphanumeric runs, number words as "no", "#" as "no"."""
    tokens = ["no" if r in _NUMBER_WORDS else r for r in runs(text)]
    if text.strip(" :.").endswith("#") and (not tokens or tokens[-1] != "no"):
        tokens.append("no")
    return tuple(tokens)


def _label_tokens(label: str) -> tuple[str, ...]:
    return tuple(t for word in label.split() for t in _tokens(word))


def _words_of(page: Page, region: Region | None = None, logos: bool = False) -> list[_W]:
    try:
        words = getattr(page, "ocr_words", page.words) or page.words
    except Exception:  # OCR unavailable or failing: the text layer is what there is
        words = page.words
    if page.words and getattr(page, "pdf_page", None) is not None and region is None:
        from docintel.engines.cpu.pixels import invisible_layer, logo_words, reread

        if invisible_layer(page):  # a scanner's poor OCR layer: ours may read better
            words = reread(page)
        elif logos:  # a name only in a logo image
            words = [*words, *logo_words(page)]
    out = []
    for w in words:
        b = w.bbox
        if region is not None:
            cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
            r = region.bbox
            if not (r.x0 <= cx <= r.x1 and r.y0 <= cy <= r.y1):
                continue
        text = misread(w.text.strip())
        if not text:
            continue
        parts = unglue(text)
        if parts:  # a label glued to its value ("No:#BLR-1", "No.12345"): split after the label
            head, tail = parts
            cut = b.x0 + (b.x1 - b.x0) * len(head) / len(text)
            out.append(_W(head, b.x0, b.y0, cut, b.y1, page.index, _tokens(head)))
            out.append(_W(tail, cut, b.y0, b.x1, b.y1, page.index, _tokens(tail)))
            continue
        out.append(_W(text, b.x0, b.y0, b.x1, b.y1, page.index, _tokens(text)))
    return out


def _build_lines(words: list[_W], page: int) -> list[_Line]:
    """Group words into visual lines (``geometry.visual_lines``), segments within each."""
    lines = [
        _Line([words[i] for i in idx], page)
        for idx in visual_lines([(w.x0, w.y0, w.x1, w.y1) for w in words])
    ]
    for n, line in enumerate(lines):
        _join_groups(line.words)
        line.measure()
        line.no = n
        line.segments = _segments(line.words)
        _dash_decimal(line)
    return lines


def _dash_decimal(line: _Line) -> None:
    """An amount alone at the end of a labelled row whose decimal point OCR read as a dash
    ("TOTAL      7-00"): read as printed, "7.00"."""
    if len(line.segments) < 2 or line.segments[-1][1] - line.segments[-1][0] != 1:
        return
    w = line.words[-1]
    fixed = dash_decimal(w.text)
    if fixed and any(c.isalpha() for x in line.words[: line.segments[0][1]] for c in x.text):
        line.words[-1] = replace(w, text=fixed, toks=_tokens(fixed))


_HEAD_GROUP = re.compile(r"^(?:[A-Za-z$€£¥₹]{1,3})?\d{1,3}$")
_TAIL_GROUP = re.compile(r"^\d{3}(?:,\d{1,2})?$")


def _join_groups(words: list[_W]) -> None:
    """One word again for an amount printed with spaces between its thousands ("7 878,30",
    "1 234 567"), which the text layer splits; the union box. Only comma decimals or none:
    "2 100.00" is more likely a quantity beside a price."""
    i = 0
    while i < len(words) - 1:
        a, b = words[i], words[i + 1]
        if (
            b.x0 - a.x1 < 0.45 * a.h
            and _HEAD_GROUP.match(a.text)
            and _TAIL_GROUP.match(b.text)
            and (i + 2 >= len(words) or not re.match(r"^\d", words[i + 2].text) or
                 _TAIL_GROUP.match(words[i + 2].text))
        ):  # fmt: skip
            text = f"{a.text} {b.text}"
            words[i : i + 2] = [
                _W(text, a.x0, min(a.y0, b.y0), b.x1, max(a.y1, b.y1), a.page, _tokens(text))
            ]
            continue
        i += 1


def _segments(words: list[_W]) -> list[tuple[int, int]]:
    """Runs of words without a wide gap or a separator ("-", "|") between them."""
    out: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(words) + 1):
        if i == len(words):
            out.append((start, i))
            break
        prev, w = words[i - 1], words[i]
        gap = w.x0 - prev.x1
        if gap > 0.6 * max(min(prev.h, w.h), 4.0) or w.text in _SEPARATORS:
            out.append((start, i))
            start = i
    return [(a, b) for a, b in out if b > a]


def _text(words: Sequence[_W]) -> str:
    parts = [w.text for w in words if w.text not in _SEPARATORS or len(words) == 1]
    return " ".join(parts).strip()


def _clean(text: str) -> str:
    """A string value without the label punctuation around it."""
    text = re.sub(r"^[\s:#;,.\-–—|]+", "", text)
    return re.sub(r"[\s:;,|]+$", "", text).strip()


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


@dataclass
class _Doc:
    """The pages' words, lines and document-level conventions."""

    lines: list[_Line]
    pages: list[int]
    heights: dict[int, float]
    month_first: bool = False
    comma_decimal: bool = False
    widths: dict[int, float] = field(default_factory=dict)

    def page_lines(self, page: int) -> list[_Line]:
        return [ln for ln in self.lines if ln.page == page]


_XXY = re.compile(r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})(?!\d)")


_DEC_COMMA = re.compile(r"\d,\d{2}(?!\d)")


_DEC_DOT = re.compile(r"\d\.\d{2}(?!\d)")


def _conventions(doc: _Doc) -> None:
    """Day-first or month-first dates; comma or dot decimals: voted over the document."""
    day = month = comma = dot = 0
    for line in doc.lines:
        for w in line.words:
            for m in _XXY.finditer(w.text):
                a, b = int(m[1]), int(m[2])
                day += a > 12 >= b
                month += b > 12 >= a
            if not _XXY.search(w.text):
                comma += bool(_DEC_COMMA.search(w.text))
                dot += bool(_DEC_DOT.search(w.text))
    doc.month_first = month > day
    doc.comma_decimal = comma > dot


_CONTACT = re.compile(
    r"@|www\.|https?:|\b(?:tel|phone|fax|email|e-mail|mobile|telephone|telefon|telefono|"
    r"telefone|t[ée]l[ée]phone|tlf|whatsapp)\b",
    re.I,
)


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _text_lines(doc: _Doc) -> list[str]:
    return [_text(ln.words) for ln in doc.lines if _text(ln.words)]


def _prepare(pages: Sequence[Page], region: Region | None, logos: bool = False) -> _Doc:
    """The pages' words as lines; ``logos``: with the OCR words of logo images."""
    lines: list[_Line] = []
    heights: dict[int, float] = {}
    widths: dict[int, float] = {}
    order: list[int] = []
    for n, page in enumerate(pages):
        words = _words_of(page, region if n == 0 else None, logos)
        if region is not None and n > 0:
            break
        page_lines = _build_lines(words, page.index)
        lines += page_lines
        heights[page.index] = page.height
        widths[page.index] = page.width
        order.append(page.index)
    # page-major order, numbered within each page
    doc = _Doc(lines, order, heights, widths=widths)
    _conventions(doc)
    return doc
