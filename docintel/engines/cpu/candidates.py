"""Candidates for every leaf field, each with the features the scorer reads.

Every value on the page that could fill a field is a candidate: every date, every amount,
every identifier-like token (and, in ``names``, every phrase that could name a party; in
``addresses``, every block of lines under a name that could be its address). Each carries
features that describe it without naming any document or vendor:

* the label context: the phrase left of it on its line and the phrase above it, each compared
  with the field's own labels and with the labels of related concepts (a "due date" label near
  a date is evidence against the issue date; "cash", "change" and "rounding" rows against the
  total), by the share of the phrase a label covers, with units, currencies and bracketed
  words left out ("Grand total incl. VAT (EUR)" is a total label);
* where it is: page, height on the page, column, distance to the page's end;
* how it is printed: font height against the page's, a currency sign, decimals, a legal form,
  capitals;
* what surrounds it: the other values on its line (a tax-summary or item row holds several),
  whether a time follows a date, whether the same value repeats on the page, whether it is the
  sum of two other amounts, what lies below a name (an address) or after an address (contacts).

``docintel.engines.cpu.scorer`` turns the features into a probability; ``select`` picks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from docintel.engines.cpu.context import (
    _NAME_FIELDS,
    _PERCENT,
    _TIME,
    FAMILIES,
    Page,
    _concept_flags,
)
from docintel.engines.cpu.schema import _Spec
from docintel.engines.cpu.vocab import (
    _CONCEPTS,
)
from docintel.engines.cpu.words import _CONTACT, _W, _Line
from docintel.text.values import (
    COMMON_CURRENCIES,
    currency_codes,
    currency_signs,
    parse_dates,
    runs,
)

GROUPS = ("date", "amount", "id", "name", "address")


@dataclass(eq=False)
class Cand:
    """One value that could fill a field: its words, where they are, and its features."""

    path: str
    group: str
    value: Any
    words: list[_W]
    line: _Line
    feats: dict[str, float] = field(default_factory=dict)
    p: float = 0.0  # the scorer's probability
    lines: list[_Line] = field(default_factory=list)  # an address: its lines
    labelled: float = 0.0  # the best own-label score of this value anywhere on the page

    @property
    def key(self) -> Any:
        return value_key(self.value)


def value_key(value: Any) -> Any:
    """A comparable form of a value (for bans, de-duplication and agreement)."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, str):
        return "".join(runs(value))
    return value


def group_of(spec: _Spec, parent: str | None = None) -> str | None:
    """Which scorer group fills a field: date, amount, id, name, address; None: by label only."""
    low = spec.name.lower()
    if spec.kind == "date":
        return "date"
    if spec.kind in ("number", "int"):
        return "amount"
    if spec.kind != "str":
        return None
    if low in _NAME_FIELDS and (parent or spec.concept in ("vendor", "customer")):
        return "name"
    if spec.concept in ("vendor", "customer") and parent is None:
        return "name"
    if "address" in low:
        return "address"
    parts = set(low.split("_"))
    ids = {"number", "no", "nr", "num", "id", "code", "ref", "reference"}
    if parts & ids or spec.concept in ("invoice_number", "purchase_order", "tax_id"):
        return "id"
    return None


def role_of(spec: _Spec, parent: str | None) -> str | None:
    """The party a name or address belongs to: vendor, customer or None."""
    for name in (parent, spec.name):
        if name is None:
            continue
        concept = next((c for c, names in _CONCEPTS.items() if name.lower() in names), None)
        if concept in ("vendor", "customer"):
            return concept
    return None


# ---- per group --------------------------------------------------------------------------------


def amount_candidates(page: Page, spec: _Spec) -> list[Cand]:
    fams = FAMILIES["amount"]
    flags = _concept_flags(spec, fams)
    out = []
    for v, w, ln, a, base in _amount_base(page):
        if spec.kind == "int" and abs(v - round(v)) > 1e-9:
            continue
        feats = page.label_feats(ln, a, a + 1, fams, spec.path)
        feats.update(base)
        feats.update(flags)
        value: Any = round(v) if spec.kind == "int" else v
        out.append(Cand(spec.path, "amount", value, [w], ln, feats))
    _relative(out)
    return out


def _amount_base(page: Page) -> list[tuple[float, _W, _Line, int, dict[str, float]]]:
    """Every amount of the page with the features no field changes (once per document)."""
    got = page.memo.get("amount")
    if got is not None:
        return got
    values = sorted({abs(round(v, 2)) for v, _, _ in page.amounts}, reverse=True)
    rank = {v: i for i, v in enumerate(values)}
    biggest = values[0] if values else 1.0
    sums = _sums(values)
    # amounts that are the difference of two others (total - tax), so part of a sum
    parts = {
        round(t - o, 2) for t in values[:8] for o in values if o < t and abs(t - 2 * o) > 0.005
    }
    signs = _signs()
    # amounts printed with cents: money, where bare integers may be account or phone numbers
    cents = sorted(
        {abs(round(v, 2)) for v, w, _ in page.amounts if _CENTS.search(w.text)}, reverse=True
    )
    cents_rank = {v: i for i, v in enumerate(cents)}
    out = []
    by_line: dict[int, list[tuple[float, _W]]] = {}
    for v, w, ln in page.amounts:
        by_line.setdefault(id(ln), []).append((v, w))
    tendered, before_change = _tender(page, by_line, set(values))
    rounded, before_rounding = _rounding(page, by_line)
    for v, w, ln in page.amounts:
        a = page.index_of[id(w)]
        feats = page.position(ln, [w])
        row = by_line[id(ln)]
        text = w.text
        neighbours = " ".join(x.text for x in ln.words[max(0, a - 1) : a + 2])
        key = abs(round(v, 2))
        feats.update(
            {
                "value_log": _log(abs(v)),
                "value_rel": abs(v) / biggest if biggest else 0.0,
                "value_rank": rank.get(key, 99),
                "value_is_max": float(rank.get(key, 99) == 0),
                "negative": float(v < 0),
                "decimals": float(
                    len(re.split(r"[.,]", text)[-1]) if re.search(r"[.,]\d+$", text) else 0
                ),
                "has_sign": float(
                    any(s in neighbours for s in signs)
                    or bool(
                        re.search(r"\b[A-Z]{3}\b", neighbours)
                        and any(
                            c in COMMON_CURRENCIES for c in re.findall(r"\b[A-Z]{3}\b", neighbours)
                        )
                    )
                ),
                "cents_05": float(round(abs(v) * 100) % 5 == 0),
                "row_amounts": len(row),
                "row_rightmost": float(all(x.x0 <= w.x0 for _, x in row)),
                "row_index": sorted(x.x0 for _, x in row).index(w.x0),
                "repeats": min(page.amount_counts[round(v, 2)], 6),
                "is_sum": float(key in sums),
                "in_sum": float(key in parts),
                "cents_rank": cents_rank.get(key, 99) if _CENTS.search(text) else 99,
                "cents_rel": key / cents[0] if cents and cents[0] else 0.0,
                "tendered": float(id(w) in tendered),
                "before_change": float(id(w) in before_change),
                "rounded": float(id(w) in rounded),
                "before_rounding": float(id(w) in before_rounding),
            }
        )
        out.append((v, w, ln, a, feats))
    page.memo["amount"] = out
    return out


def _tender(
    page: Page, by_line: dict[int, list[tuple[float, _W]]], values: set[float]
) -> tuple[set[int], set[int]]:
    """Words of amounts handed over and of amounts paid, by arithmetic, whatever the labels say
    ("TOTAL PAID 50.00" is often the cash handed over): an amount with one under it (the change)
    whose difference is printed a few lines above is tendered; that difference is paid. Only
    summary rows count (``_summary_rows``)."""
    tendered: set[int] = set()
    paid: set[int] = set()
    for rows in _summary_rows(page, by_line):
        for k, row in enumerate(rows):
            below = [g for r in rows[k + 1 : k + 4] for g, _ in r if g > 0]
            for v, w in row:
                for g in below:
                    rest = round(abs(v) - g, 2)
                    if rest <= 0 or rest not in values:
                        continue
                    above = [
                        x
                        for r in rows[max(0, k - 8) : k]
                        for u, x in r
                        if abs(abs(u) - rest) < 0.005
                    ]
                    if above:
                        tendered.add(id(w))
                        paid.update(id(x) for x in above)
    return tendered, paid


def _summary_rows(
    page: Page, by_line: dict[int, list[tuple[float, _W]]]
) -> list[list[list[tuple[float, _W]]]]:
    """Per page, each line's amount when it prints one (a summary row: total, cash, change),
    else nothing: item rows print several, and their sums are not change. A bare integer
    beside an amount with cents ("Item Count 2  Change 53.45") does not count."""
    out = []
    for lines in page.by_page.values():
        rows = []
        for ln in lines:
            row = by_line.get(id(ln), [])
            money = [(v, w) for v, w in row if _CENTS.search(w.text)] or row
            rows.append(money if len(money) == 1 else [])
        out.append(rows)
    return out


def _rounding(page: Page, by_line: dict[int, list[tuple[float, _W]]]) -> tuple[set[int], set[int]]:
    """Words of amounts after a rounding adjustment and of the amounts it adjusted, by
    arithmetic: an amount, a small adjustment under it (at most 0.50, sign or not) and under
    that the amount they make. Cash rounding prints both totals, often under labels that both
    read like the total. Only summary rows count (``_summary_rows``)."""
    rounded: set[int] = set()
    before: set[int] = set()
    for rows in _summary_rows(page, by_line):
        for k, row in enumerate(rows):
            for v, w in row:
                for j in range(max(0, k - 3), k):
                    for r, _ in rows[j]:
                        step = abs(round(r, 2))
                        if not 0 < step <= 0.5 or step == abs(v):
                            continue
                        for u, x in (a for i in range(max(0, j - 3), j) for a in rows[i]):
                            if abs(abs(abs(u) - abs(v)) - step) < 0.005:
                                rounded.add(id(w))
                                before.add(id(x))
    return rounded, before


_CENTS = re.compile(r"\d[.,]\d{2}\D{0,4}$")
_SIGN_CACHE: list[tuple[str, ...]] = []


def _signs() -> tuple[str, ...]:
    if not _SIGN_CACHE:
        _SIGN_CACHE.append(tuple(currency_signs()))
    return _SIGN_CACHE[0]


def _sums(values: list[float]) -> set[float]:
    """Amounts that are the sum of two others (subtotal + tax), among the largest ones."""
    top = values[:25]
    have = set(top)
    out = set()
    for i, a in enumerate(top):
        for b in top[i + 1 :]:
            s = round(a + b, 2)
            if s in have:
                out.add(s)
    return out


def _log(v: float) -> float:
    import math

    return math.log10(v + 1.0)


def date_candidates(page: Page, spec: _Spec) -> list[Cand]:
    fams = FAMILIES["date"]
    flags = _concept_flags(spec, fams)
    out = []
    for d, words, ln, a, base in _date_base(page):
        feats = page.label_feats(ln, a, a + len(words), fams, spec.path)
        feats.update(base)
        feats.update(flags)
        out.append(Cand(spec.path, "date", d.isoformat(), list(words), ln, feats))
    _relative(out)
    return out


def _date_base(page: Page) -> list[tuple[Any, list[_W], _Line, int, dict[str, float]]]:
    """Every date of the page with the features no field changes (once per document)."""
    got = page.memo.get("date")
    if got is not None:
        return got
    out = []
    ordered = sorted({d for d, _, _ in page.dates})
    years = [x.year for x, _, _ in page.dates]
    mid = median(years) if years else 0
    for i, (d, words, ln) in enumerate(page.dates):
        a = page.index_of[id(words[0])]
        b = a + len(words)
        feats = page.position(ln, words)
        text = " ".join(w.text for w in words)
        after = " ".join(w.text for w in ln.words[b : b + 2])
        before = " ".join(w.text for w in ln.words[max(0, a - 1) : a])
        feats.update(
            {
                "order": min(i, 20),
                "n_dates": min(len(page.dates), 20),
                "distinct": min(len(ordered), 10),
                "earliest": float(d == ordered[0]),
                "latest": float(d == ordered[-1]),
                "repeats": min(page.date_counts[d], 6),
                "month_name": float(bool(re.search(r"[A-Za-z]{3,}", text))),
                "year4": float(bool(re.search(r"\d{4}", text))),
                "iso": float(bool(re.search(r"\d{4}-\d{2}-\d{2}", text))),
                "compact": float(bool(re.fullmatch(r"\d{8}", text.strip(" :")))),
                "ambiguous": float(
                    bool(re.search(r"(?<!\d)(0?[1-9]|1[0-2])[./-](0?[1-9]|1[0-2])[./-]", text))
                ),
                "time_next": float(bool(_TIME.search(after)) or bool(_TIME.search(text))),
                "time_before": float(bool(_TIME.search(before))),
                "year_dev": min(abs(d.year - mid), 10) if years else 0.0,
                "n_words": len(words),
                "glued_label": float(bool(re.match(r"^[^\d]+[:.]", words[0].text))),
            }
        )
        out.append((d, words, ln, a, feats))
    page.memo["date"] = out
    return out


_ID_TRIM = re.compile(r"^[\s:#;,.\-–—|(]+|[\s:;,.|)]+$")


def id_candidates(page: Page, spec: _Spec) -> list[Cand]:
    fams = FAMILIES["id"]
    flags = _concept_flags(spec, fams)
    out = []
    for raw, w, ln, a, base in _id_base(page):
        if len(raw) > (spec.max_length or 40):
            continue
        if spec.pattern is not None and not spec.pattern.search(raw):
            continue
        feats = page.label_feats(ln, a, a + 1, fams, spec.path)
        feats.update(base)
        feats.update(flags)
        out.append(Cand(spec.path, "id", raw, [w], ln, feats))
    _relative(out)
    return out


def _id_base(page: Page) -> list[tuple[str, _W, _Line, int, dict[str, float]]]:
    """Every identifier-like word of the page with the features no field changes."""
    got = page.memo.get("id")
    if got is not None:
        return got
    out = []
    seen_counts = Counter(
        _ID_TRIM.sub("", w.text) for ln in page.doc.lines for w in ln.words if w.text
    )
    for ln in page.doc.lines:
        for a, w in enumerate(ln.words):
            raw = _ID_TRIM.sub("", w.text)
            if not raw or not re.search(r"\d", raw):
                continue
            if _PERCENT.match(raw) or (_TIME.fullmatch(raw)):
                continue
            if parse_dates(raw, whole=True) and re.search(r"\d[./-]\d{1,2}[./-]\d", raw):
                continue
            feats = page.position(ln, [w])
            left = " ".join(x.text for x in ln.words[max(0, a - 3) : a])
            digits = sum(c.isdigit() for c in raw)
            letters = sum(c.isalpha() for c in raw)
            feats.update(
                {
                    "len": min(len(raw), 30),
                    "digits": min(digits, 20),
                    "letters": min(letters, 20),
                    "digit_share": digits / len(raw),
                    "has_dash": float("-" in raw or "/" in raw or "_" in raw),
                    "has_dot": float("." in raw),
                    "amount_like": float(bool(re.fullmatch(r"-?[\d,.' ]*\d[.,]\d{2}", raw))),
                    "phone_like": float(
                        bool(_CONTACT.search(left)) or bool(re.fullmatch(r"\+?[\d\s()-]{9,}", raw))
                    ),
                    "hash": float("#" in w.text or "#" in left[-3:]),
                    "repeats": min(seen_counts[raw], 6),
                    "upper": float(raw.upper() == raw and letters > 0),
                }
            )
            out.append((raw, w, ln, a, feats))
    page.memo["id"] = out
    return out


def _relative(cands: list[Cand]) -> None:
    """Features relative to the field's other candidates: the best label score among them;
    among the candidates its own label names, its rank by value and from the page's end."""
    if not cands:
        return
    keys = ("left_own", "above_own", "row_own")
    best = {k: max(c.feats.get(k, 0.0) for c in cands) for k in keys}
    for c in cands:
        for k in keys:
            c.feats[f"{k}_best"] = float(best[k] > 0 and c.feats.get(k, 0.0) >= best[k])
        c.feats["n_cands"] = min(len(cands), 200)
    labelled = [
        c for c in cands if max(c.feats.get("left_own", 0.0), c.feats.get("above_own", 0.0)) >= 0.5
    ]
    for c in cands:
        c.feats["own_count"] = min(len(labelled), 10)
    if not labelled:
        return
    numeric = all(isinstance(c.value, int | float) for c in labelled)
    by_value = sorted(labelled, key=lambda c: -abs(c.value)) if numeric else []
    by_end = sorted(labelled, key=lambda c: (-c.line.page, -c.line.y0))
    for rank, c in enumerate(by_value):
        c.feats["own_value_rank"] = rank
    for rank, c in enumerate(by_end):
        c.feats["own_end_rank"] = rank
    for c in cands:
        c.feats.setdefault("own_value_rank", 20)
        c.feats.setdefault("own_end_rank", 20)


def currency_code_of(text: str) -> str | None:
    for tok in re.findall(r"[A-Za-z]{3}", text):
        if tok.isupper() and tok in COMMON_CURRENCIES:
            return tok
    for tok in runs(text):
        if codes := currency_codes(tok):
            return codes[0]
    return None
