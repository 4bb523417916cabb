"""Provenance and grounding: where on the page each extracted value is printed.

``locate(value, doc)`` finds every leaf of an extracted value (strings, numbers, dates) in the
page's words, with no model involved, and returns a ``FieldSource`` per leaf path ("total",
"vendor.name", "items[2].amount"): the page, the union box of the matched words, where the
words came from, how the value matched and a confidence. ``grounding_check(doc)`` is an
``ExtraCheck`` for the retry loop: fields marked ``Annotated[..., Ground()]`` must be printed
in the document, and the model is told which were not.

Matching is normalised, never learned:

* strings: case-, accent-, whitespace- and punctuation-insensitive ("INV-" "10582" matches
  "INV-10582"); values spanning several lines (addresses, wrapped descriptions) match when
  most of their tokens lie close together; near misses (difflib ratio >= 0.9 after folding
  look-alike characters such as O/0, l/1) are ``fuzzy``;
* numbers: printed amounts are parsed ("1,740.61", "1.740,61", "1 740,61", "1'740.61", "$",
  "EUR", "%", "(12.00)", "12.00-") and compared numerically (|diff| < 0.005);
* dates: ISO dates (``date`` or "YYYY-MM-DD") match printed dates in common formats and
  languages ("14 Mar 2024", "May 2, 2024", "02/05/2024" read both d/m and m/d,
  "14.03.2024", "7. Mai 2014"), possibly split over several words.

A currency code is also grounded by its sign ("EUR" by "€") and a sign by its code.

Among several occurrences the strongest evidence wins (whole words, exact or normalised; then
part of a word or a multi-line spread; then fuzzy), then the pages asked for; items of a list
then take the occurrence on the row of their already-located fields (a word another field of
the item took is avoided); otherwise exact before normalised, fewest words, reading order.

Confidence, in [0, 1], is monotone in both grounding and agreement::

    confidence = grounding * (0.5 + 0.5 * agreement)

``grounding`` is 1.0 for an exact or normalised match, 0.7 for a fuzzy one and 0.3 when the
value was not found (``source="model"``: only the model vouches for it). ``agreement`` is the
share of all parsed candidates of the request (the earlier ``attempts_values`` plus the final
value itself) that have the same value at that path; with no earlier candidates it is 1, so
agreement is neutral and confidence equals grounding. Disagreeing attempts halve it at most.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from difflib import SequenceMatcher
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from docintel.checks.semantic import Ground
from docintel.document import Document, Page, Word
from docintel.errors import EngineUnavailable
from docintel.fields import is_list, marked, models_in
from docintel.geometry import BBox
from docintel.text.values import (
    LOOKALIKE,
    NUMERIC_WORD,
    as_date,
    cents,
    compact,
    currency_codes,
    currency_forms,
    dash_decimal,
    fold,
    misread,
    parse_amount,
    parse_dates,
    runs,
    unglue,
)

__all__ = [
    "FieldSource",
    "Ground",
    "confidence",
    "grounding_check",
    "locate",
    "must_ground",
    "parse_amount",
    "parse_dates",
]

Source = Literal["text_layer", "ocr", "model"]
Match = Literal["exact", "normalized", "fuzzy", "none"]

GROUNDED = 1.0  # grounding score of an exact or normalised match
FUZZY = 0.7
MODEL_ONLY = 0.3
FUZZY_RATIO = 0.9  # difflib ratio for a fuzzy match
CLUSTER_SHARE = 0.75  # share of a multi-line value's tokens that must be found together
_MAX_SPAN = 5  # words joined when parsing a printed amount or date


@dataclass(frozen=True)
class FieldSource:
    """Where one leaf value of an extracted model comes from."""

    path: str  # "total", "vendor.name", "items[2].amount"
    value: Any
    page: int | None  # 0-based, None when not found
    bbox: BBox | None  # union box of the matched words, page points
    source: Source  # "model" = the model alone, not found in the document
    match: Match
    confidence: float  # 0..1, see the module docstring

    @property
    def found(self) -> bool:
        return self.match != "none"


# ---- the words of a page, indexed --------------------------------------------------------------


def _page_words(page: Page) -> tuple[list[Word], Source]:
    """The words to search on a page (``Page.ocr_words``: the text layer, else OCR) and where
    they come from, read as the CPU engine reads them (``misread``, ``unglue``), so that what it
    extracts is found. Without an OCR engine a scan has nothing to search."""
    words, source = _raw_words(page)
    return _as_printed(words), source


def _raw_words(page: Page) -> tuple[list[Word], Source]:
    try:
        words = page.ocr_words  # cached on the page: the same list until OCR adds words
    except EngineUnavailable:
        return [], "text_layer"
    return words, "text_layer" if page.words or not words else "ocr"


def _as_printed(words: Sequence[Word]) -> list[Word]:
    out: list[Word] = []
    for w in words:
        text = misread(w.text)
        parts = unglue(text.strip())
        if parts is None:
            out.append(w if text == w.text else replace(w, text=text))
            continue
        head, tail = parts  # a label glued to its value: two words, the box shared by letters
        b = w.bbox
        cut = b.x0 + (b.x1 - b.x0) * len(head) / len(text.strip())
        out.append(replace(w, text=head, bbox=BBox(b.x0, b.y0, cut, b.y1)))
        out.append(replace(w, text=tail, bbox=BBox(cut, b.y0, b.x1, b.y1)))
    return out


@dataclass(frozen=True, slots=True)
class _Hit:
    """One occurrence of a value: words ``idx`` of page ``page``."""

    rank: int  # 0 exact, 1 normalised, 2 sub-word, 3 multi-line, 4 fuzzy
    page: int
    idx: tuple[int, ...]

    @property
    def match(self) -> Match:
        return "exact" if self.rank == 0 else "normalized" if self.rank <= 3 else "fuzzy"


class _PageIndex:
    """A page's words prepared for lookups: compact text, amounts, dates and tokens."""

    def __init__(self, page: Page) -> None:
        self.page = page.index
        self.words, self.source = _page_words(page)
        self.width = page.raw_width
        lines: dict[tuple[int, int], list[int]] = {}
        for i, w in enumerate(self.words):
            lines.setdefault((w.block, w.line), []).append(i)
        self.lines = list(lines.values())
        self.where = {i: (n, p) for n, line in enumerate(self.lines) for p, i in enumerate(line)}
        # One string of the compact words, lines separated by "\n" so no match crosses lines;
        # a match must start and end on word boundaries (or, ranked lower, on punctuation).
        parts: list[str] = []
        self.starts: dict[int, int] = {}  # char offset -> word starting there
        self.ends: dict[int, int] = {}  # char offset -> word ending there
        self.sub_starts: dict[int, int] = {}  # run starts inside a word ("Date:" "28/11")
        self.sub_ends: dict[int, int] = {}
        self.tokens: dict[str, list[int]] = {}  # run -> words holding it
        self.repeats: Counter[tuple[int, str]] = Counter()  # (word, run) -> times in the word
        pos = 0
        for line in self.lines:
            for i in line:
                tokens = runs(self.words[i].text)
                if not tokens:
                    continue
                self.starts[pos] = i
                for r in tokens:
                    self.sub_starts[pos] = i
                    pos += len(r)
                    self.sub_ends[pos] = i
                    self.tokens.setdefault(r, []).append(i)
                    self.repeats[i, r] += 1
                    parts.append(r)
                self.ends[pos] = i
            parts.append("\n")
            pos += 1
        self.text = "".join(parts)
        self._amounts: dict[int, list[tuple[float, tuple[int, ...]]]] | None = None
        self._dates: dict[date, list[tuple[int, ...]]] | None = None

    # -- strings --
    def find_text(self, value: str) -> list[_Hit]:
        """Contiguous occurrences of a string value, on word (or punctuation) boundaries."""
        target = compact(value)
        if not target:
            return []
        hits: list[_Hit] = []
        start = self.text.find(target)
        while start >= 0:
            end = start + len(target)
            first, last = self.sub_starts.get(start), self.sub_ends.get(end)
            whole = start in self.starts and end in self.ends
            # Inside a word only at punctuation and for long values: "NL" in "www.x.nl" is no match
            if first is not None and last is not None and (whole or len(target) >= 4):
                idx = self._between(first, last)
                texts = [self.words[i].text for i in idx]
                raw = {" ".join(texts).strip(_EDGE), "".join(texts).strip(_EDGE)}
                exact = bool(raw & _raw_forms(value))
                rank = (0 if exact else 1) if whole else 2
                hits.append(_Hit(rank, self.page, idx))
            start = self.text.find(target, start + 1)
        return hits

    def find_symbol(self, symbol: str) -> list[_Hit]:
        """Words that are a currency sign ("$"), or carry it ("$4.11", "40€")."""
        hits: list[_Hit] = []
        for i, w in enumerate(self.words):
            text = w.text.strip()
            if text == symbol:
                hits.append(_Hit(0, self.page, (i,)))
            elif text.startswith(symbol) or text.endswith(symbol):
                hits.append(_Hit(2, self.page, (i,)))
        return hits

    def _between(self, first: int, last: int) -> tuple[int, ...]:
        """The words of a line from ``first`` to ``last`` (punctuation-only words included)."""
        line, a = self.where[first]
        return tuple(self.lines[line][a : self.where[last][1] + 1])

    def _raw(self, idx: tuple[int, ...]) -> str:
        return " ".join(self.words[i].text for i in idx)

    def find_tokens(self, value: str) -> tuple[float, tuple[int, ...]] | None:
        """A value spread over lines: most of its tokens found close together.

        Anchored on each occurrence of the rarest token; every other token takes its nearest
        unused occurrence within a few lines. Returns (share found, words) of the best area.
        """
        tokens = runs(value)
        if len(tokens) < 2:
            return None
        found = [t for t in tokens if t in self.tokens]
        if len(found) < max(2, CLUSTER_SHARE * len(tokens)):
            return None
        rarest = min(found, key=lambda t: (len(self.tokens[t]), -len(t)))
        best: tuple[float, float, tuple[int, ...]] | None = None
        at = tokens.index(rarest)
        for anchor in self.tokens[rarest][:20]:
            a = box = self.words[anchor].bbox
            h = max(box.height, 1.0)
            used: set[int] = {anchor}
            taken = Counter({(anchor, rarest): 1})  # a word serves a token as often as it has it
            for j, t in enumerate(tokens):
                if j == at:
                    continue
                near = None
                for i in self.tokens.get(t, ()):
                    b = self.words[i].bbox
                    dy = max(0.0, box.y0 - b.y1, b.y0 - box.y1)
                    dx = max(0.0, box.x0 - b.x1, b.x0 - box.x1)
                    if dy > 4 * h or dx > self.width / 3:
                        continue
                    spent = taken[i, t] >= self.repeats[i, t]
                    d = 3 * dy + dx + (1000.0 if spent else 0.0)  # repeated tokens: other words
                    # Tokens before the anchor's are printed above it or on its line, later ones
                    # below: keeps a wrapped value from borrowing the next row's line.
                    if (j < at and b.y0 > a.y1) or (j > at and b.y1 < a.y0):
                        d += 100 * h
                    if near is None or d < near[0]:
                        near = (d, i)
                if near is not None:
                    used.add(near[1])
                    taken[near[1], t] += 1
                    box = box.union(self.words[near[1]].bbox)
            share = sum(t in self.tokens and self._has(t, used) for t in tokens) / len(tokens)
            key = (share, -box.area, tuple(sorted(used)))
            if best is None or key[:2] > best[:2]:
                best = key
        if best is None or best[0] < CLUSTER_SHARE:
            return None
        return best[0], best[2]

    def _has(self, token: str, used: set[int]) -> bool:
        return any(i in used for i in self.tokens[token])

    def find_fuzzy(self, value: str) -> tuple[float, tuple[int, ...]] | None:
        """The most similar run of words on a line (difflib ratio, look-alikes folded)."""
        target = compact(value).translate(LOOKALIKE)
        n = len(target)
        if n < 4:
            return None
        best: tuple[float, tuple[int, ...]] | None = None
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(target)
        for line in self.lines:
            squeezed = [compact(self.words[i].text).translate(LOOKALIKE) for i in line]
            for a in range(len(line)):
                text = ""
                for b in range(a, len(line)):
                    text += squeezed[b]
                    if len(text) < 0.75 * n:
                        continue
                    if len(text) > 1.34 * n:
                        break
                    matcher.set_seq1(text)
                    if matcher.real_quick_ratio() < FUZZY_RATIO:
                        continue
                    if matcher.quick_ratio() < FUZZY_RATIO:
                        continue
                    r = matcher.ratio()
                    if r >= FUZZY_RATIO and (best is None or r > best[0]):
                        best = (r, tuple(line[a : b + 1]))
        return best

    # -- numbers --
    @property
    def amounts(self) -> dict[int, list[tuple[float, tuple[int, ...]]]]:
        """Printed amounts by cents: single words, and 2..5 numeric words joined."""
        if self._amounts is None:
            index: dict[int, list[tuple[float, tuple[int, ...]]]] = {}
            for line in self.lines:
                numeric = [NUMERIC_WORD.match(self.words[i].text) is not None for i in line]
                for a in range(len(line)):
                    for b in range(a, min(a + _MAX_SPAN, len(line))):
                        if b > a and not numeric[b]:
                            break
                        idx = tuple(line[a : b + 1])
                        texts = [self.words[i].text for i in idx]
                        forms = {"".join(texts), " ".join(texts)} if b > a else {texts[0]}
                        if b == a and (fixed := dash_decimal(texts[0])):
                            forms.add(fixed)  # "7-00": a decimal point OCR read as a dash
                        for form in forms:
                            for v in parse_amount(form):
                                index.setdefault(cents(v), []).append((v, idx))
            self._amounts = index
        return self._amounts

    def find_number(self, value: float) -> list[_Hit]:
        hits: list[_Hit] = []
        for sign, rank in ((1, 1), (-1, 4)):  # an unsigned credit is only a fuzzy match
            target = sign * value
            key = cents(target)
            for k in (key - 1, key, key + 1):
                for v, idx in self.amounts.get(k, ()):
                    if abs(v - target) < 0.005:
                        r = 0 if rank == 1 and self._raw(idx) in _number_forms(value) else rank
                        hits.append(_Hit(r, self.page, idx))
            if hits or value == 0:
                break
        return hits

    # -- dates --
    @property
    def dates(self) -> dict[date, list[tuple[int, ...]]]:
        """Printed dates: inside single words, or the whole of 2..5 words joined."""
        if self._dates is None:
            index: dict[date, list[tuple[int, ...]]] = {}
            for line in self.lines:
                for a in range(len(line)):
                    text = self.words[line[a]].text
                    for b in range(a, min(a + _MAX_SPAN, len(line))):
                        if b > a:
                            text += " " + self.words[line[b]].text
                        if not any(c.isdigit() for c in text):
                            continue
                        for d in parse_dates(text, whole=b > a):
                            index.setdefault(d, []).append(tuple(line[a : b + 1]))
            self._dates = index
        return self._dates

    def find_date(self, value: date) -> list[_Hit]:
        iso = value.isoformat()
        return [
            _Hit(0 if self._raw(idx) == iso else 1, self.page, idx)
            for idx in self.dates.get(value, ())
        ]

    def box(self, idx: Sequence[int]) -> BBox:
        box = self.words[idx[0]].bbox
        for i in idx[1:]:
            box = box.union(self.words[i].bbox)
        return box


_EDGE = " ,;:"  # a label's colon or a list's comma belongs to the text around, not the value


def _raw_forms(value: str) -> set[str]:
    v = " ".join(value.split()).strip(_EDGE)
    return {v, v.replace(" ", "")}


def _number_forms(value: float) -> set[str]:
    forms = {f"{value:.2f}", repr(value), str(value)}
    if float(value).is_integer():
        forms.add(str(int(value)))
    return forms


# Indexes are cached per document (the retry loop checks every attempt against the same pages)
# and rebuilt when a page's word list changes (OCR words added later).
_CACHE: weakref.WeakKeyDictionary[Document, dict[int, tuple[int, int, _PageIndex]]] = (
    weakref.WeakKeyDictionary()
)


def _index(doc: Document, page: Page) -> _PageIndex:
    per_doc = _CACHE.setdefault(doc, {})
    words, _ = _raw_words(page)
    stamp = (id(words), len(words))
    cached = per_doc.get(page.index)
    if cached is not None and cached[:2] == stamp:
        return cached[2]
    index = _PageIndex(page)
    per_doc[page.index] = (*stamp, index)
    return index


# ---- leaves ------------------------------------------------------------------------------------


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every locatable leaf: strings, numbers, dates.

    Bools (no printed form to look for), None and empty strings are skipped.
    """
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        return
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(value, Enum):
        yield from _leaves(value.value, path)
    elif isinstance(value, str | int | float | Decimal | date):
        yield path, value


def _key(value: Any) -> Any:
    """A comparable form of a leaf, for agreement across attempts."""
    if (d := as_date(value)) is not None:
        return d
    if isinstance(value, int | float | Decimal):
        return round(float(value), 2)
    if isinstance(value, str):
        return compact(value)
    return value


def _agreement(path: str, value: Any, attempts: Sequence[dict[str, Any]]) -> float:
    """Share of all candidates (earlier attempts and the final value) agreeing at ``path``."""
    key = _key(value)
    agree = sum(1 for a in attempts if path in a and _same(a[path], key))
    return (agree + 1) / (len(attempts) + 1)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 0.005
    return bool(a == b)


def _grounding(match: Match) -> float:
    return {"exact": GROUNDED, "normalized": GROUNDED, "fuzzy": FUZZY}.get(match, MODEL_ONLY)


def confidence(match: Match, agreement: float = 1.0) -> float:
    """``grounding * (0.5 + 0.5 * agreement)``: see the module docstring."""
    return _grounding(match) * (0.5 + 0.5 * agreement)


# ---- locating ----------------------------------------------------------------------------------


def _hits(value: Any, indexes: Sequence[_PageIndex]) -> list[_Hit]:
    """Every occurrence of one leaf value on the pages, best first within each rank."""
    hits: list[_Hit] = []
    day = as_date(value)
    if day is not None:
        for ix in indexes:
            hits += ix.find_date(day)
    if isinstance(value, int | float | Decimal):
        for ix in indexes:
            hits += ix.find_number(float(value))
        return hits
    if not isinstance(value, str):
        return hits
    for ix in indexes:
        hits += ix.find_text(value) if compact(value) else ix.find_symbol(value.strip())
    # A currency code is grounded by its sign and words ("EUR" by "€"), a sign by its codes.
    aliases = [*currency_forms(value), *(c.lower() for c in currency_codes(value))]
    for alias in dict.fromkeys(a for a in aliases if a.casefold() != fold(value)):
        for ix in indexes:
            found = ix.find_text(alias) if compact(alias) else ix.find_symbol(alias)
            hits += [_Hit(max(h.rank, 1), h.page, h.idx) for h in found]
    if not hits and (numbers := parse_amount(value)) and len(numbers) == 1:
        for ix in indexes:  # a number typed as a string ("$4.11")
            hits += ix.find_number(numbers[0])
    if hits:
        return hits
    spread = [
        (share, ix, idx) for ix in indexes if (m := ix.find_tokens(value)) for share, idx in [m]
    ]
    full = [(ix, idx) for share, ix, idx in spread if share == 1.0]
    if full:
        return [_Hit(3, ix.page, idx) for ix, idx in full]
    fuzzy = [(r, ix, idx) for ix in indexes if (m := ix.find_fuzzy(value)) for r, idx in [m]]
    if fuzzy:
        fuzzy.sort(key=lambda f: -f[0])
        return [_Hit(4, ix.page, idx) for _, ix, idx in fuzzy]
    spread.sort(key=lambda s: -s[0])
    return [_Hit(4, ix.page, idx) for _, ix, idx in spread]


def _parent(path: str) -> str | None:
    """The list item a leaf belongs to ("items[2]" for "items[2].amount"), else None."""
    m = re.match(r"(.*\[\d+\])(?:\.[^\[\]]+)?$", path)
    return m.group(1) if m else None


_GROUP = {0: 0, 1: 0, 2: 1, 3: 1, 4: 2}  # rank -> evidence class (whole words, partial, fuzzy)


def _choose(
    path: str,
    hits: list[_Hit],
    preferred: set[int],
    placed: dict[str, tuple[int, BBox, tuple[int, ...]]],
    index: dict[int, _PageIndex],
) -> _Hit:
    """The best occurrence: best rank, preferred pages, then row context, words, order."""

    def order(h: _Hit) -> tuple[int, bool, int, int, int, int]:
        return (_GROUP[h.rank], h.page not in preferred, h.rank, len(h.idx), h.page, h.idx[0])

    hits.sort(key=order)
    # Exact and normalised matches are equally good evidence: context decides between them.
    best = [h for h in hits if order(h)[:2] == order(hits[0])[:2]]
    parent = _parent(path)
    if len(best) == 1 or parent is None:
        return best[0]
    # Items of a list: prefer the occurrence on the row of the item's located fields.
    siblings = [
        (page, box, idx)
        for p, (page, box, idx) in placed.items()
        if _parent(p) == parent and p != path
    ]
    if not siblings:
        return best[0]

    def distance(h: _Hit) -> float:
        """Vertical distance to the nearest sibling; a word another field took is a poor pick."""
        b = index[h.page].box(h.idx)
        taken = any(page == h.page and set(idx) & set(h.idx) for page, _, idx in siblings)
        return (1e3 if taken else 0.0) + min(
            max(0.0, box.y0 - b.y1, b.y0 - box.y1) + 0.01 * abs(b.center[1] - box.center[1])
            if page == h.page
            else 1e6
            for page, box, _ in siblings
        )

    return min(best, key=lambda h: (distance(h), order(h)))


def _locate(
    leaves: list[tuple[str, Any]],
    indexes: list[_PageIndex],
    preferred: set[int],
) -> dict[str, _Hit | None]:
    """The chosen occurrence per path (None: not found); clear ones are placed first."""
    by_page = {ix.page: ix for ix in indexes}
    found = {path: _hits(value, indexes) for path, value in leaves}
    placed: dict[str, tuple[int, BBox, tuple[int, ...]]] = {}
    out: dict[str, _Hit | None] = {}

    def unique(path: str) -> bool:
        hits = found[path]
        return len(hits) == 1 or len({(h.rank, h.page, h.idx) for h in hits}) == 1

    def place(path: str) -> None:
        hits = found[path]
        if not hits:
            out[path] = None
            return
        hit = _choose(path, hits, preferred, placed, by_page)
        out[path] = hit
        placed[path] = (hit.page, by_page[hit.page].box(hit.idx), hit.idx)

    # Unambiguous leaves first: they anchor the rows of their list items' other fields. Then
    # ambiguous ones whose item already has a placed field; then the least ambiguous left.
    for path, _ in leaves:
        if unique(path) or not found[path]:
            place(path)
    pending = [path for path, _ in leaves if path not in out]
    while pending:
        anchored = {_parent(p) for p in placed} - {None}
        ready = [p for p in pending if _parent(p) in anchored] or [
            min(pending, key=lambda p: len(found[p]))
        ]
        for path in ready:
            place(path)
        pending = [p for p in pending if p not in out]
    return out


def _pages(doc: Document, pages: Sequence[int] | None) -> list[Page]:
    if pages is None:
        return list(doc.pages)
    return [doc.pages[i] for i in pages if 0 <= i < len(doc.pages)]


def locate(
    value: BaseModel,
    doc: Document,
    pages: Sequence[int] | None = None,
    *,
    attempts_values: Sequence[BaseModel] = (),
) -> dict[str, FieldSource]:
    """Provenance for every leaf value (str, number, date; bools excluded, None skipped).

    Every page is searched; matches on ``pages`` (0-based) are preferred. ``attempts_values``
    are earlier parsed candidates of the same request: agreeing ones raise confidence.
    """
    leaves = list(_leaves(value))
    indexes = [_index(doc, page) for page in doc.pages]
    preferred = set(pages) if pages is not None else {ix.page for ix in indexes}
    chosen = _locate(leaves, indexes, preferred)
    earlier = [dict((p, _key(v)) for p, v in _leaves(a)) for a in attempts_values]
    out: dict[str, FieldSource] = {}
    for path, leaf in leaves:
        hit = chosen[path]
        agreement = _agreement(path, leaf, earlier)
        if hit is None:
            out[path] = FieldSource(
                path, leaf, None, None, "model", "none", confidence("none", agreement)
            )
            continue
        ix = next(ix for ix in indexes if ix.page == hit.page)
        out[path] = FieldSource(
            path,
            leaf,
            hit.page,
            ix.box(hit.idx),
            ix.source,
            hit.match,
            confidence(hit.match, agreement),
        )
    return out


# ---- Ground markers and the retry check --------------------------------------------------------


def must_ground(schema: type[BaseModel]) -> list[str]:
    """Path patterns of the fields marked with ``Ground``: ["invoice_number", "items[].amount"].

    A marked nested model (or list of them) grounds every leaf below it: its pattern is a
    prefix of theirs.
    """
    return _must_ground(schema, "", frozenset())


def _must_ground(schema: type[BaseModel], prefix: str, seen: frozenset[type]) -> list[str]:
    if schema in seen:  # recursive schemas
        return []
    out: list[str] = []
    for name, field in schema.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if is_list(field.annotation):
            path += "[]"
        if marked(field.annotation, field.metadata, Ground):
            out.append(path)
            continue
        for model, _ in models_in(field.annotation):
            out += _must_ground(model, path, seen | {schema})
    return out


def _pattern(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


def _grounded(path: str, patterns: Sequence[str]) -> bool:
    p = _pattern(path)
    return any(p == m or p.startswith((m + ".", m + "[")) for m in patterns)


def grounding_check(
    doc: Document, pages: Sequence[int] | None = None
) -> Callable[[BaseModel], list[str]]:
    """An ``ExtraCheck``: an error for each ``Ground`` field whose value is not printed.

    Only ``pages`` (0-based, default all: what the request showed the model) are searched;
    fuzzy matches do not count, and the error quotes the closest printed text, if any.
    """
    indexes = [_index(doc, page) for page in _pages(doc, pages)]
    where = "on the page" if len(indexes) == 1 else "in the document"

    def check(value: BaseModel) -> list[str]:
        patterns = must_ground(type(value))
        leaves = [(p, v) for p, v in _leaves(value) if _grounded(p, patterns)]
        found = _locate(leaves, indexes, {ix.page for ix in indexes})
        errors: list[str] = []
        for path, leaf in leaves:
            hit = found[path]
            if hit is not None and hit.match != "fuzzy":
                continue
            shown = leaf.isoformat() if isinstance(leaf, date) else leaf
            msg = f"{path} {shown!r} was not found {where}; copy it exactly as printed"
            if hit is not None:
                ix = next(ix for ix in indexes if ix.page == hit.page)
                msg += f" (the closest printed text is {ix._raw(hit.idx)!r})"
            errors.append(msg)
        return errors

    return check
