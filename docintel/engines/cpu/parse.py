"""Typed parsing of printed words: dates, amounts, percentages, currencies, times, strings."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from docintel.text.values import (
    COMMON_CURRENCIES,
    currency_codes,
    currency_signs,
    fold,
    parse_amount,
    parse_dates,
    runs,
)

if TYPE_CHECKING:
    pass
from docintel.engines.cpu.schema import _id_like, _Spec
from docintel.engines.cpu.words import _W, _XXY, _clean, _Doc, _text, _tokens


def _amount(text: str, doc: _Doc) -> float | None:
    """A printed amount ("$1,740.61", "1.740,61 €", "(12.00)"), separators read per document."""
    values = parse_amount(text)
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    # "1,740" or "1.740": thousands unless the separator is the document's decimal one
    sep = "," if "," in text else "."
    decimal = (sep == ",") == doc.comma_decimal
    return values[0] if decimal else values[1]


def _percent(text: str) -> float | None:
    m = re.fullmatch(r"\(?\s*([+-]?\d+(?:[.,]\d+)?)\s*%\s*\)?[.,;:]?", text.strip())
    return float(m[1].replace(",", ".")) if m else None


def _pick_date(dates: tuple[date, ...], doc: _Doc, text: str) -> date | None:
    if not dates:
        return None
    if len(dates) > 1 and doc.month_first and _XXY.search(text):
        return dates[1]
    return dates[0]


def _first_date(words: Sequence[_W], doc: _Doc) -> tuple[str, list[_W]] | None:
    """The first date in the words, as ISO, and the words it spans."""
    for start in range(min(len(words), 4)):
        for n in range(1, min(6, len(words) - start) + 1):
            span = words[start : start + n]
            text = " ".join(w.text for w in span)
            d = _pick_date(parse_dates(text), doc, text)
            if d is not None:
                # extend while the date stays the same ("14" -> "14 Mar" -> "14 Mar 2024")
                best = (d, span)
                for m in range(n + 1, min(start + 6, len(words)) + 1):
                    t2 = " ".join(w.text for w in words[start:m])
                    d2 = _pick_date(parse_dates(t2, whole=True), doc, t2)
                    if d2 is not None:
                        best = (d2, words[start:m])
                return best[0].isoformat(), list(best[1])
    return None


def _date_words(words: Sequence[_W]) -> set[int]:
    """Indices of words that are part of a printed date (not amounts)."""
    out: set[int] = set()
    for i in range(len(words)):
        for n in (5, 4, 3, 2, 1):
            span = words[i : i + n]
            if len(span) < n:
                continue
            text = " ".join(w.text for w in span)
            if parse_dates(text, whole=True) and (n > 1 or not re.fullmatch(r"[\d.,]+", text)):
                out.update(range(i, i + n))
                break
            if n == 1 and _XXY.fullmatch(text.strip(".,;")):
                out.add(i)
    return out


def _amounts(words: Sequence[_W], doc: _Doc, percent: bool) -> list[tuple[float, list[_W]]]:
    """Amounts among words (a sign or code word joins its number), dates left out."""
    dates = _date_words(words)
    out: list[tuple[float, list[_W]]] = []
    for i, w in enumerate(words):
        if i in dates:
            continue
        text = w.text.strip(",;:")
        if percent:
            p = _percent(text)
            if p is not None:
                out.append((p, [w]))
            continue
        if "%" in text or not re.search(r"\d", text):
            continue
        value = _amount(text, doc)
        if value is not None:
            out.append((value, [w]))
    return out


def _currency_of(text: str) -> str | None:
    """An ISO code from a code or a sign in a text ("EUR.", "€", "$4.11", "Rs")."""
    for tok in re.findall(r"[A-Za-z$]{2,4}", text):
        if tok.isupper() and tok.upper() in COMMON_CURRENCIES:
            return tok.upper()
    for sign, codes in currency_signs().items():
        if sign in text:
            return codes[0]
    for tok in runs(text):
        if codes := currency_codes(tok):
            return codes[0]
    return None


_AMOUNT_START = re.compile(r"^[-+(]?\d")
_UNIT = re.compile(r"\(([A-Za-z]{2,3})\)[:.]?")
_GLUED_CODE = re.compile(r"^([A-Za-z]{2,3})\.?(?=\d)")


def _page_currency(doc: _Doc) -> str | None:
    """The most frequent currency code or sign on the pages."""
    votes: Counter[str] = Counter()
    for line in doc.lines:
        for i, w in enumerate(line.words):
            t = w.text
            nxt = line.words[i + 1].text if i + 1 < len(line.words) else ""
            word = t.strip(".:")
            # a short currency word beside an amount ("Rs 40.00", "RM 9.90", "120 kr"); three
            # capitals are codes, counted below
            short = word.isascii() and word.isalpha() and len(word) in (2, 3)
            short = short and not (len(word) == 3 and word.isupper())
            prev = line.words[i - 1].text if i else ""
            beside = _AMOUNT_START.match(nxt) or re.search(r"\d$", prev)  # "RM 9.90", "120 kr"
            if short and beside and (codes := currency_codes(word)):
                votes[codes[0]] += 1
            glued = _GLUED_CODE.match(t)  # "RM15.40", "Rs.150"
            if glued and (codes := currency_codes(glued[1])):
                votes[codes[0]] += 1
            # a column's unit in brackets: "Amt (RM)", "Betrag (kr)"
            unit = _UNIT.fullmatch(t)
            if unit and (codes := currency_codes(unit[1])):
                votes[codes[0]] += 2
            for tok in re.findall(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])", t):
                if tok in COMMON_CURRENCIES:
                    votes[tok] += 2
            for sign, codes in currency_signs().items():
                if sign in t:
                    votes[codes[0]] += 1 + (t.count(sign) > 1)
            for tok in runs(t):
                if len(tok) > 3 and (codes := currency_codes(tok)):  # a word: "rupees", "euro"
                    votes[codes[0]] += 2
    return votes.most_common(1)[0][0] if votes else None


def parse_value(spec_kind: str, words: Sequence[Any], **kw: Any) -> Any:
    """Parse printed words as a field of ``spec_kind`` (for tests and callers): the value or None.

    ``words`` may be strings; ``month_first``/``comma_decimal`` set the document conventions.
    """
    ws = [
        w if isinstance(w, _W) else _W(str(w), i * 10.0, 0, i * 10.0 + 8, 10, 0, _tokens(str(w)))
        for i, w in enumerate(words)
    ]
    doc = _Doc([], [0], {0: 10.0}, kw.get("month_first", False), kw.get("comma_decimal", False))
    spec = _Spec("x", "x", spec_kind, False, [])  # type: ignore[arg-type]
    got = _parse(spec, ws, doc)
    return None if got is None else got[0]


def _parse(spec: _Spec, words: Sequence[_W], doc: _Doc) -> tuple[Any, list[_W]] | None:
    """The value of ``spec`` at the start of ``words``, and the words it took."""
    words = [w for w in words if w.text.strip(":;|")]
    if not words:
        return None
    kind = spec.kind
    if kind == "date":
        got = _first_date(words, doc)
        return (got[0], got[1]) if got else None
    if kind in ("number", "int", "percent"):
        found = _amounts(words, doc, percent=kind == "percent")
        if not found:
            return None
        value, ws = found[-1]  # the rightmost: totals rows print the total last
        return (round(value) if kind == "int" else value), ws
    if kind == "currency":
        for i, w in enumerate(words[:4]):
            code = _currency_of(w.text)
            if code:
                return code, [words[i]]
        return None
    if kind == "time":
        for w in words[:4]:
            m = re.search(r"\b(\d{1,2})[:.h](\d{2})(?::(\d{2}))?\b", w.text)
            if m and int(m[1]) < 24 and int(m[2]) < 60:
                t = f"{int(m[1]):02d}:{m[2]}" + (f":{m[3]}" if m[3] else "")
                return t, [w]
        return None
    if kind == "choice":
        folded = fold(_text(words))
        for c in spec.choices:
            if isinstance(c, str) and fold(c) in folded:
                return c, list(words)
        return None
    if kind == "str":
        return _string(spec, words)
    return None


def _string(spec: _Spec, words: Sequence[_W]) -> tuple[str, list[_W]] | None:
    """The first phrase of the words, as printed; identifiers need a digit."""
    ws = list(words)
    while ws and not ws[0].toks:
        ws = ws[1:]
    if not ws:
        return None
    text = _clean(_text(ws))
    if not text:
        return None
    if _id_like(spec) and not re.search(r"\d", text):
        return None
    if spec.pattern is not None and not spec.pattern.search(text):
        squeezed = text.replace(" ", "")
        if spec.pattern.search(squeezed):
            text = squeezed
        else:
            return None
    return _truncate(text, spec.max_length), ws


def _truncate(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    cut = text[:limit]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut
