"""A page as the candidate generators see it: words, lines, blocks, label index and the
features every candidate shares (computed once per document)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from statistics import median
from typing import Any

from docintel.engines.cpu.parse import _amount, _pick_date
from docintel.engines.cpu.schema import _Spec
from docintel.engines.cpu.vocab import _VOCAB
from docintel.engines.cpu.words import _W, _Doc, _Line, _overlap, _tokens
from docintel.text.values import COMMON_CURRENCIES, currency_codes, parse_dates

# Concept families compared with each group's label context.
FAMILIES: dict[str, tuple[str, ...]] = {
    "amount": (
        "total", "subtotal", "tax", "amount_due", "discount", "cash", "change", "rounding",
        "quantity", "tax_rate",
    ),
    "date": ("issue_date", "due_date", "order_date"),
    "id": (
        "invoice_number", "purchase_order", "tax_id", "customer_number", "document_id", "phone",
    ),
    "name": ("vendor", "customer"),
    "address": ("vendor", "customer"),
}  # fmt: skip
# Field names that stand for a party's name (as a top-level string or a party's "name").
_NAME_FIELDS = {"name", "company", "company_name", "full_name", "legal_name", "merchant", "issuer"}
_ADDRESS_LABELS = ("address", "adresse", "alamat", "direccion", "indirizzo", "adres", "anschrift")


# ---- the page, once per document --------------------------------------------------------------

_PERCENT = re.compile(r"^\(?[+-]?\d+(?:[.,]\d+)?\s*%\)?[.,;:]?$")
_GLUED_CURRENCY = re.compile(r"^[-+]?[A-Za-z$€£¥₹]{1,3}-?[\d.,]+-?$")  # "RM15.40", "-RM0.02"
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:.h]([0-5]\d)(?::([0-5]\d))?(?!\d)")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")  # "10.17" is an amount
_POSTCODE = re.compile(r"(?<![\d\w])\d{4,6}(?![\d\w])")
_BRACKETS = re.compile(r"[(\[{][^)\]}]*[)\]}]")
_CURRENCY_TOKENS = {c.lower() for c in COMMON_CURRENCIES} | {"rm", "rs", "eur", "usd"}


def _between(text: str) -> bool:
    """A currency ("RM", "$", "EUR") or bare punctuation, printed between a label and its value."""
    t = text.strip()
    if not t or all(c in ",.:;|*-=" for c in t):
        return bool(t)
    return len(t) <= 3 and bool(currency_codes(t.strip(".:"))) and not t[:1].isdigit()


def _label_index() -> dict[tuple[str, ...], dict[str, int]]:
    """Every label of every concept, by its tokens -> {concept: rank}."""
    out: dict[tuple[str, ...], dict[str, int]] = {}
    for concept, labels in _VOCAB.items():
        for rank, label in enumerate(labels):
            toks = tuple(t for w in label.split() for t in _tokens(w))
            if not toks:
                continue
            out.setdefault(toks, {}).setdefault(concept, rank)
            if len(toks) > 1 and "no" not in toks[1:]:  # glued: "TOTALAMT", "InvoiceNo"
                out.setdefault(("".join(toks),), {}).setdefault(concept, rank)
    return out


def _abbreviations() -> dict[str, set[str]]:
    """Cut-off label words (OCR drops letters, receipts abbreviate): "tot" for "total"."""
    out: dict[str, set[str]] = {}
    for labels in _VOCAB.values():
        for label in labels:
            for word in label.split():
                for t in _tokens(word):
                    if len(t) >= 5:
                        for n in range(3, len(t)):
                            out.setdefault(t[:n], set()).add(t)
    return out


_ABBREV = _abbreviations()


_INDEX = _label_index()
_KNOWN = {t for toks in _INDEX for t in toks}


# Words that qualify a label: what follows them modifies it ("Total incl. VAT" is a total).
_QUALIFIERS = {
    "incl", "including", "includes", "inclusive", "inkl", "inklusive", "ttc", "with", "mit",
    "excl", "excluding", "excludes", "exclusive", "exkl", "ohne", "hors", "ht", "before",
    "after", "without", "sans", "con", "sin", "iva", "plus",
}  # fmt: skip
_INCLUSIVE = {"incl", "including", "includes", "inclusive", "inkl", "inklusive", "ttc", "with",
              "mit", "after", "con", "plus"}  # fmt: skip
_EXCLUSIVE = {"excl", "excluding", "excludes", "exclusive", "exkl", "ohne", "hors", "ht",
              "before", "without", "sans", "sin"}  # fmt: skip


def phrase_tokens(words: list[_W]) -> tuple[str, ...]:
    """A label phrase's tokens: currencies, numbers and punctuation left out, and the words
    after a qualifier ("incl.", "excl.") dropped, since they only qualify the label."""
    text = _BRACKETS.sub(lambda m: " " + m.group(0)[1:-1] + " ", " ".join(w.text for w in words))
    out: list[str] = []
    for w in text.split():
        for t in _tokens(w):
            if t.isdigit() or t in _CURRENCY_TOKENS:
                continue
            out.append(t)
    for i, t in enumerate(out):
        if t in _QUALIFIERS and i > 0:
            return tuple(out[: i + 1])
    return tuple(out)


def qualifier(words: list[_W]) -> float:
    """+1 when the phrase says its amount includes something (tax), -1 when it excludes it."""
    toks = {t for w in words for t in _tokens(w.text)}
    return float(bool(toks & _INCLUSIVE)) - float(bool(toks & _EXCLUSIVE))


def _key(toks: Sequence[str]) -> str:
    return "\x00" + "\x00".join(toks) + "\x00"


class Page:
    """Per-document facts the features read: heights, amounts, dates, label phrases."""

    def __init__(self, doc: _Doc, specs: dict[str, _Spec], excluded: set[int]) -> None:
        self.doc = doc
        self.excluded = excluded  # ids of item-table lines
        self.line_of = {id(w): ln for ln in doc.lines for w in ln.words}
        self.index_of = {id(w): i for ln in doc.lines for i, w in enumerate(ln.words)}
        self.by_page: dict[int, list[_Line]] = {}
        for ln in doc.lines:
            self.by_page.setdefault(ln.page, []).append(ln)
        self.med_h: dict[int, float] = {}
        self.max_h: dict[int, float] = {}
        for page, lines in self.by_page.items():
            hs = [w.h for ln in lines for w in ln.words]
            self.med_h[page] = median(hs) if hs else 1.0
            self.max_h[page] = max(hs) if hs else 1.0
        # own labels per field path, in the same index
        self.own: dict[tuple[str, ...], set[str]] = {}
        for path, spec in specs.items():
            for label in spec.labels:
                self.own.setdefault(label, set()).add(path)
        self._scores: dict[tuple[str, ...], dict[str, float]] = {}
        self._contexts: dict[tuple[int, int, int], dict[str, float]] = {}
        self._positions: dict[tuple[int, int, int], dict[str, float]] = {}
        self._labels: dict[tuple[int, int, int, tuple[str, ...]], Any] = {}
        self.memo: dict[str, Any] = {}  # field-independent candidates, per group
        self.line_toks = [tuple(t for w in ln.words for t in w.toks) for ln in doc.lines]
        # each line's tokens as one string, "\x00"-delimited: a phrase is on a line when its
        # own such string is a substring (a C search, not a Python loop over positions)
        self.line_keys = [_key(lt) for lt in self.line_toks]
        self.rank = {id(ln): k for lines in self.by_page.values() for k, ln in enumerate(lines)}
        self.amounts = self._all_amounts()
        self.amount_counts = Counter(round(v, 2) for v, _, _ in self.amounts)
        self.dates = self._all_dates()
        self.date_counts = Counter(d for d, _, _ in self.dates)

    # ---- label phrases --------------------------------------------------------------------
    def scores(self, toks: tuple[str, ...]) -> dict[str, float]:
        """For a label phrase: per concept ("c:total") and field ("f:path"), the best share of
        the phrase one of its labels covers (contiguous), 0 when none."""
        got = self._scores.get(toks)
        if got is not None:
            return got
        out: dict[str, float] = {}
        n = len(toks)
        if any(t not in _KNOWN for t in toks):  # a cut-off word: read it as the word it starts
            for i, t in enumerate(toks):
                if t in _KNOWN or t not in _ABBREV or len(_ABBREV[t]) != 1:
                    continue
                full = (*toks[:i], next(iter(_ABBREV[t])), *toks[i + 1 :])
                for key, v in self.scores(full).items():
                    out[key] = max(out.get(key, 0.0), 0.8 * v)
        for a in range(n):
            for b in range(a + 1, min(n, a + 6) + 1):
                sub = toks[a:b]
                share = (b - a) / n
                tail = 0.05 if b == n else 0.0  # the label ends right before the value
                for concept in _INDEX.get(sub, ()):
                    key = f"c:{concept}"
                    out[key] = max(out.get(key, 0.0), share + tail)
                for path in self.own.get(sub, ()):
                    key = f"f:{path}"
                    out[key] = max(out.get(key, 0.0), share + tail)
        self._scores[toks] = out
        return out

    def left_words(self, line: _Line, a: int) -> tuple[list[_W], float, bool]:
        """The label phrase left of word ``a``: back to the previous value, at most 8 words.
        Also the gap to it (in line heights) and whether a percentage lies between."""
        out: list[_W] = []
        percent = False
        i = a - 1
        h = line.words[a].h
        while i >= 0 and len(out) < 8:
            w = line.words[i]
            if not out and _between(w.text):
                i -= 1  # a currency or punctuation between label and value ("TOTAL  RM  9.90")
                continue
            if out and out[0].x0 - w.x1 > 2.5 * h:
                break  # a gutter: the words beyond belong to another column
            if w.h > 2.2 * h:
                break  # a title beside the line, not a label
            if _PERCENT.match(w.text):
                percent = True
                i -= 1
                continue
            if any(c.isdigit() for c in w.text):
                break
            out.insert(0, w)
            i -= 1
        gap = (line.words[a].x0 - out[-1].x1) / line.h if out else 0.0
        return out, gap, percent

    def above_words(self, line: _Line, x0: float, x1: float) -> tuple[list[_W], float, int]:
        """The phrase right above (a label over its value): the nearest line above, within
        three line heights, with a phrase overlapping the value's columns; its distance in
        line heights and how many phrases its line has (a table heading has many)."""
        lines = self.by_page[line.page]
        k = self.rank[id(line)]
        for prev in reversed(lines[max(0, k - 3) : k]):
            dy = (line.y0 - prev.y1) / max(line.h, 1.0)
            if dy > 3.0:
                break
            for sa, sb in prev.segments:
                seg = prev.words[sa:sb]
                if _overlap(seg[0].x0, seg[-1].x1, x0 - 4, x1 + 4) > 0:
                    if any(c.isdigit() for w in seg for c in w.text):
                        return [], 0.0, 0
                    return seg, dy, len(prev.segments)
        return [], 0.0, 0

    def context(self, line: _Line, a: int, b: int, prefix: str) -> dict[str, float]:
        """Label features of the words [a, b) of ``line``: left and above phrases' scores."""
        key = (id(line), a, b)
        got = self._contexts.get(key)
        if got is None:
            got = self._contexts[key] = self._context(line, a, b)
        return dict(got)

    def _context(self, line: _Line, a: int, b: int) -> dict[str, float]:
        left, gap, percent = self.left_words(line, a)
        words = line.words[a:b]
        above, dy, nseg = self.above_words(line, words[0].x0, words[-1].x1)
        f: dict[str, float] = {
            "left_n": len(phrase_tokens(left)),
            "left_gap": min(gap, 40.0),
            "left_percent": float(percent),
            "left_qualifier": qualifier(left),
            "above_n": len(phrase_tokens(above)),
            "above_dy": dy,
            "above_header": float(nseg >= 3),
        }
        lt, at = phrase_tokens(left), phrase_tokens(above)
        f["_left"] = self.scores(lt) if lt else {}  # type: ignore[assignment]
        f["_above"] = self.scores(at) if at else {}  # type: ignore[assignment]
        # the whole line's first phrase (a row label far left of its value)
        first = line.words[line.segments[0][0] : line.segments[0][1]] if line.segments else []
        ft = phrase_tokens([w for w in first if not any(c.isdigit() for c in w.text)])
        f["_row"] = self.scores(ft) if ft and first and first[0] is not words[0] else {}  # type: ignore[assignment]
        return f

    def label_feats(
        self, line: _Line, a: int, b: int, fams: tuple[str, ...], own: str
    ) -> dict[str, float]:
        """``_spread(self.context(line, a, b, ""), fams, own)``, with the part that does not
        depend on the field computed once per phrase and family."""
        key = (id(line), a, b, fams)
        got = self._labels.get(key)
        if got is None:
            f = self.context(line, a, b, "")
            base: dict[str, float] = {}
            where: list[tuple[str, dict[str, float], float]] = []
            for w in ("_left", "_above", "_row"):
                scores: dict[str, float] = f.pop(w)
                name = w[1:]
                for fam in fams:
                    base[f"{name}_{fam}"] = scores.get(f"c:{fam}", 0.0)
                best = max((v for k, v in scores.items() if k.startswith("c:")), default=0.0)
                where.append((name, scores, best))
            base.update({k: float(v) for k, v in f.items()})
            got = self._labels[key] = (base, where)
        base, where = got
        out = dict(base)
        for name, scores, best in where:
            mine = scores.get(f"f:{own}", 0.0)
            out[f"{name}_own"] = mine
            out[f"{name}_other"] = best if best > mine else 0.0
        return out

    # ---- values of the page ---------------------------------------------------------------
    def _all_amounts(self) -> list[tuple[float, _W, _Line]]:
        out = []
        for ln in self.doc.lines:
            for w in ln.words:
                v = self.amount_of(w)
                if v is not None:
                    out.append((v, w, ln))
        return out

    def amount_of(self, w: _W) -> float | None:
        text = w.text.strip(",;:*")
        if not re.search(r"\d", text) or "%" in text or _CLOCK.fullmatch(text):
            return None
        if parse_dates(text, whole=True) and not re.fullmatch(r"\d+[.,]\d{2}", text):
            return None
        if re.search(r"[A-Za-z]{2,}", text) and not _GLUED_CURRENCY.match(text):
            return None  # words with letters: not an amount, unless a currency glued to it
        v = _amount(text, self.doc)
        if v is None or abs(v) >= 1e9:
            return None
        return v

    def _all_dates(self) -> list[tuple[date, list[_W], _Line]]:
        out = []
        for ln in self.doc.lines:
            taken: set[int] = set()
            digits = [any(c.isdigit() for c in w.text) for w in ln.words]
            for i in range(len(ln.words)):
                if i in taken:
                    continue
                best = None
                for n in range(1, min(5, len(ln.words) - i) + 1):
                    if not any(digits[i : i + n]):
                        continue  # every date has a digit (a day or a year)
                    span = ln.words[i : i + n]
                    text = " ".join(w.text for w in span)
                    ds = parse_dates(text, whole=n > 1)
                    if (
                        n == 1
                        and ds
                        and re.fullmatch(r"\d*[.,][\d.,]*", text.strip())
                        and not re.search(r"\d[./-]\d+[./-]\d", text)
                    ):
                        continue  # "12.50": an amount (not "27032018", a date OCR ran together)
                    d = _pick_date(tuple(x for x in ds if 1970 <= x.year <= 2099), self.doc, text)
                    if d is not None:
                        best = (d, span)
                if best is not None:
                    out.append((best[0], best[1], ln))
                    taken.update(range(i, i + len(best[1])))
        return out

    # ---- shared features ------------------------------------------------------------------
    def position(self, line: _Line, words: list[_W]) -> dict[str, float]:
        key = (id(line), id(words[0]), id(words[-1]))
        got = self._positions.get(key)
        if got is None:
            got = self._positions[key] = self._position(line, words)
        return dict(got)

    def _position(self, line: _Line, words: list[_W]) -> dict[str, float]:
        page = line.page
        height = self.doc.heights.get(page, 1.0) or 1.0
        width = self.doc.widths.get(page, 1.0) or 1.0
        lines = self.by_page[page]
        k = self.rank[id(line)]
        h = max(w.h for w in words)
        cx = (words[0].x0 + words[-1].x1) / 2
        return {
            "y": line.y0 / height,
            "x": cx / width,
            "x0": words[0].x0 / width,
            "x1": words[-1].x1 / width,
            "first_page": float(page == self.doc.pages[0]),
            "last_page": float(page == self.doc.pages[-1]),
            "line_rank": min(k, 40),
            "lines_below": min(len(lines) - 1 - k, 80),
            "line_rel": k / max(len(lines) - 1, 1),
            "h_rel": h / self.med_h[page],
            "h_max": h / self.max_h[page],
            "line_words": len(line.words),
            "line_segments": len(line.segments),
            "in_table": float(id(line) in self.excluded),
            "centered": float(abs(cx / width - 0.5) < 0.1),
        }


def _spread(f: dict[str, Any], fams: tuple[str, ...], own: str) -> dict[str, float]:
    """Flatten the label-score dicts into named features for a group's families."""
    out: dict[str, float] = {}
    for where in ("_left", "_above", "_row"):
        scores: dict[str, float] = f.pop(where)
        name = where[1:]
        out[f"{name}_own"] = scores.get(f"f:{own}", 0.0)
        best_other = 0.0
        for fam in fams:
            v = scores.get(f"c:{fam}", 0.0)
            out[f"{name}_{fam}"] = v
        for key, v in scores.items():
            if key.startswith("c:") and v > best_other and scores.get(f"f:{own}", 0.0) < v:
                best_other = v
        out[f"{name}_other"] = best_other
    out.update({k: float(v) for k, v in f.items()})
    return out


def _concept_flags(spec: _Spec, fams: tuple[str, ...]) -> dict[str, float]:
    return {f"is_{fam}": float(spec.concept == fam) for fam in fams}
