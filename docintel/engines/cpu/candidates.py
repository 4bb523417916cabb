"""Candidates for every leaf field, each with the features the scorer reads.

Every value on the page that could fill a field is a candidate: every date, every amount,
every identifier-like token, every phrase that could name a party (and, in ``addresses``,
every block of lines under a name that could be its address). Each carries features that
describe it without naming any document or vendor:

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
from dataclasses import dataclass, field, replace
from statistics import median
from typing import Any

from docintel.engines.cpu.context import (
    _NAME_FIELDS,
    _PERCENT,
    _POSTCODE,
    _TIME,
    FAMILIES,
    Page,
    _concept_flags,
    _key,
    phrase_tokens,
)
from docintel.engines.cpu.schema import _Spec
from docintel.engines.cpu.vocab import (
    _BUSINESS,
    _CONCEPTS,
    _LEGAL,
    _REGISTRATION,
    _VOCAB,
    titled,
)
from docintel.engines.cpu.words import _CONTACT, _W, _label_tokens, _Line, _overlap, _text, _tokens
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


_FUNCTION_WORDS = {
    "are", "is", "not", "the", "of", "for", "you", "to", "please", "thank", "thanks", "and",
    "your", "our", "we", "this", "with", "be", "will", "come", "again", "all", "no", "sold",
    "goods", "le", "la", "les", "de", "des", "et", "der", "die", "das", "und", "nicht", "el",
    "los", "y", "il", "di", "e", "het", "een", "en", "och", "att", "sila", "terima", "kasih",
}  # fmt: skip
_REG_TAIL = re.compile(r"\s*\(\s*\d[\w./-]*\s*\)\s*$")
_REG_GROUP = re.compile(r"\(\s*(?:[A-Za-z.]+\s*){0,3}[:.]?\s*\d[\w\s./-]*\)?")


def _trim_phrase(words: list[_W]) -> list[_W]:
    ws = [w for w in words if w.text not in ("-", "|", "*", "•")]
    if len(ws) > 1 and "(" in ws[-1].text[1:]:  # "Bhd(728384-M)": OCR glued the number on
        head, _, tail = ws[-1].text.partition("(")
        if head and _REG_TAIL.fullmatch(f"({tail}"):
            w = ws[-1]
            x1 = w.x0 + (w.x1 - w.x0) * len(head) / len(w.text)
            ws[-1] = replace(w, text=head, x1=x1, toks=_tokens(head))
    while len(ws) > 1 and (
        _REG_TAIL.fullmatch(ws[-1].text) or _CHECK_LETTER.fullmatch(ws[-1].text)
    ):
        ws = ws[:-1]  # "99 SPEED MART S/B (519537-X)": the registration number is not the name
    for i in range(len(ws) - 1, 0, -1):  # the same in several words: "SDN BHD (139386 X)"
        if ws[i].text.startswith("("):
            if _REG_GROUP.fullmatch(" ".join(w.text for w in ws[i:])):
                ws = ws[:i]
            break
    while len(ws) > 1 and ws[0].text.endswith(":"):
        ws = ws[1:]
    while len(ws) > 1 and titled(ws[-1].toks):
        ws.pop()
    while len(ws) > 1 and titled(ws[0].toks):
        ws.pop(0)
    return ws


def _closed(words: list[_W]) -> bool:
    """Every bracket opened in the words is closed again."""
    text = "".join(w.text for w in words)
    return text.count("(") <= text.count(")")


def legal_form(words: list[_W]) -> bool:
    toks = [t for w in words for t in w.toks]
    if not toks:
        return False
    return any("".join(toks[-n:]) in _LEGAL for n in (1, 2, 3, 4))


def legal_only(words: list[_W]) -> bool:
    """The words are legal forms and nothing else ("Sdn Bhd", "Co. (M) Sdn. Bhd.", "S/B"), a
    country in brackets ("(M)") allowed among them: the end of a name, never a name."""
    toks = [t for w in words if not re.fullmatch(r"\(\w{1,2}\)", w.text) for t in w.toks]
    i = 0
    while i < len(toks):
        n = next((n for n in (4, 3, 2, 1) if "".join(toks[i : i + n]) in _LEGAL), 0)
        if not n:
            return False
        i += n
    return bool(toks)


def name_candidates(page: Page, spec: _Spec, role: str | None) -> list[Cand]:
    """Phrases that could name a party: every phrase on the first page's upper part and every
    phrase on the lines under a party label."""
    fams = FAMILIES["name"]
    roles = {"role_vendor": float(role == "vendor"), "role_customer": float(role == "customer")}
    out = []
    for text, words, ln, a, n, base in _name_base(page):
        feats = page.label_feats(ln, a, a + n, fams, spec.path)
        feats.update(base)
        feats.update(roles)
        out.append(Cand(spec.path, "name", text, words, ln, feats))
    _relative(out)
    return out


def _name_base(page: Page) -> list[tuple[str, list[_W], _Line, int, int, dict[str, float]]]:
    """Every phrase that could name a party, with the features no field changes."""
    got = page.memo.get("name")
    if got is not None:
        return got
    first = page.doc.pages[0]
    height = page.doc.heights.get(first, 1.0) or 1.0
    out = []
    lines = page.by_page.get(first, [])
    footers = _footer_keys(page)
    for k, ln in enumerate(lines):
        # the upper part of the first page, and its footer (a legal name over the company's
        # registration details, or in a footer column with its address and bank)
        footer = ln.y0 > FOOTER * height
        if ln.y0 > 0.6 * height and k > 12 and not footer:
            continue
        phrases = list(ln.segments)
        if 1 < len(ln.segments) <= 6 and not any(c.isdigit() for w in ln.words for c in w.text):
            # a name spread wide ("T H R E E   S T O O G E S", "SWC   ENTERPRISE   SDN   BHD")
            phrases.append((0, len(ln.words)))
        for sa, sb in phrases:
            words = ln.words[sa:sb]
            # a phrase after a label on its line ("Sold by: Acme GmbH"): the part after ":"
            # (not a colon inside brackets: "Dion Realties Sdn Bhd (Co. No: 20154-T)")
            cut = next(
                (
                    i
                    for i, w in enumerate(words[:-1])
                    if w.text.endswith(":") and _closed(words[: i + 1])
                ),
                None,
            )
            if cut is None:
                # or after a party label inside the phrase ("... are sold by Acme, Inc.")
                cut = next((i - 1 for i in range(2, len(words)) if _inner_label(words[:i])), None)
            if cut is not None:
                words = words[cut + 1 :]
            words = _trim_phrase(words)
            while len(words) > 1 and re.fullmatch(r"[\d#:.\-]{3,}", words[0].text):
                words = words[1:]  # a till or branch code before the name ("000002 BAIFU")
            if not words:
                continue
            text = _text(words).strip(" ,;:-")
            if re.search(r"\d{3,}", text):
                continue  # names do not hold long numbers: an address, a phone, a reg. number
            letters = sum(c.isalpha() for c in text)
            if letters < 2 or len(words) > 10 or _CONTACT.search(text):
                continue
            if titled(t for w in words for t in w.toks):
                continue
            toks = [t for w in words for t in w.toks]
            if legal_only(words):
                continue  # a legal form alone ("CO. (M) SDN BHD" under the name's first line)
            a = page.index_of[id(words[0])]
            feats = page.position(ln, words)
            digits = sum(c.isdigit() for c in text)
            below = _block_below(page, ln, words, 4)
            block_label = _block_label(page, ln, words)
            after = _lines_after(page, ln, 2)
            above = _stacked_above(page, ln, words)
            others = [ln.words[x:y] for x, y in ln.segments if ln.words[x:y][0] is not words[0]]
            feats.update(
                {
                    "legal": float(legal_form(words)),
                    "business": float(bool(set(toks) & _BUSINESS)),
                    "n_words": len(words),
                    "n_chars": min(len(text), 60),
                    "upper": sum(c.isupper() for c in text) / max(letters, 1),
                    "digits": min(digits, 10),
                    "digit_share": digits / max(len(text), 1),
                    "below_digits": float(any(any(c.isdigit() for c in _text(x)) for x in below)),
                    "below_lines": len(below),
                    "below_postcode": float(any(_POSTCODE.search(_text(x)) for x in below)),
                    "below_contact": float(any(_CONTACT.search(_text(x)) for x in below)),
                    "above_lines": float(above is not None),
                    "echo_above": _echo_above(above, toks),
                    "above_name": float(above is not None and _namelike(above.words)),
                    # a business word above ("KEDAI RUNCIT" / ...): the name's first line
                    "above_business": float(
                        above is not None and bool(_BUSINESS.intersection(_toks(above.words)))
                    ),
                    "block_vendor": block_label.get("vendor", 0.0),
                    "block_customer": block_label.get("customer", 0.0),
                    "title_words": sum(1 for w in words if titled(w.toks)),
                    "k": min(k, 30),
                    "ends_colon": float(words[-1].text.endswith(":")),
                    "has_amp": float("&" in text),
                    "regno_next": float(bool(below) and _regno(below[0])),
                    # legal forms alone under it ("CO. (M) SDN BHD"): the name goes on there
                    "continues": float(bool(below) and legal_only(below[0])),
                    "repeats": _repeats(page, toks),
                    "sentence": float(
                        len(words) >= 4 and sum(w.text[:1].islower() for w in words) > 1
                    ),
                    "two_lines": 0.0,
                    "continuation": float(
                        bool(words[0].toks) and (words[0].toks[0] in _LEGAL or words[0].text in "&")
                    ),
                    "whole_line": float(sb - sa == len(ln.words)),
                    "function_words": sum(t in _FUNCTION_WORDS for t in toks),
                    "comma": float("," in text),
                    "footer": float(footer),
                    "in_footer": float(not footer and _within(toks, footers)),
                    "line_postcode": float(any(_POSTCODE.search(_text(x)) for x in others)),
                    "after_registration": float(
                        any(set(runs(_text(x.words))) & _REGISTRATION for x in after)
                    ),
                    "after_legal": float(any(_holds_legal(x.words) for x in after)),
                }
            )
            if _second_line(above, words, toks):
                continue  # only the name's second line: the two lines are a candidate
            out.append((text, words, ln, a, len(words), feats))
            # a name printed over two lines ("PASARAYA BORONG PINTAR" / "SDN BHD")
            if below and len(below[0]) <= 4 and not any(c.isdigit() for c in _text(below[0])):
                more = _trim_phrase(below[0])
                both = _text([*words, *more]).strip(" ,;:-")
                if more and not _CONTACT.search(both) and len(words) + len(more) <= 10:
                    f2 = dict(feats)
                    f2.update(
                        two_lines=1.0,
                        legal=float(legal_form([*words, *more])),
                        n_words=len(words) + len(more),
                        n_chars=min(len(both), 60),
                        below_lines=max(len(below) - 1, 0),
                        regno_next=float(len(below) > 1 and _regno(below[1])),
                        continues=0.0,
                    )
                    out.append((both, [*words, *more], ln, a, len(words), f2))
    page.memo["name"] = out
    return out


FOOTER = 0.78  # a footer: lines below this share of the page's height


def _footer_keys(page: Page) -> list[str]:
    """The token keys (``Page.line_keys``) of every footer line of every page."""
    got = page.memo.get("footer_keys")
    if got is None:
        got = page.memo["footer_keys"] = [
            page.line_keys[i]
            for i, ln in enumerate(page.doc.lines)
            if ln.y0 > FOOTER * (page.doc.heights.get(ln.page, 1.0) or 1.0)
        ]
    return got


def _within(toks: list[str], keys: list[str]) -> bool:
    key = _key(toks)
    return bool(toks) and any(key in k for k in keys)


def _holds_legal(words: list[_W]) -> bool:
    """A legal form among the first words of a line ("SARL au capital de ...")."""
    return any(legal_form(words[:n]) for n in range(1, min(len(words), 6) + 1))


def _lines_after(page: Page, line: _Line, limit: int) -> list[_Line]:
    """The next lines under ``line`` (whole lines), while no wide gap separates them."""
    lines = page.by_page[line.page]
    k = page.rank[id(line)]
    out: list[_Line] = []
    prev = line
    for nxt in lines[k + 1 : k + 1 + limit]:
        if nxt.y0 - prev.y1 > 2.0 * max(prev.h, nxt.h):
            break
        out.append(nxt)
        prev = nxt
    return out


def _regno(words: list[_W], strict: bool = False) -> bool:
    """A registration or tax number line: bracketed, named ("Co. No.", "GST Reg") or a long
    number with its check letter; unless ``strict``, also any short line of digits with at most
    two letters ("No 8" may be one)."""
    text = _text(words)
    if not re.search(r"\d", text):
        return False
    if re.match(r"^[(<\[].*[)>\]]$", text.strip()) or _REG_WORDS.search(text):
        return True
    if _CHECK_LETTER.fullmatch(text.strip()):  # "002043319-W", "201912345K": alone on a line
        return True
    return not strict and sum(c.isalpha() for c in text) <= 2


_CHECK_LETTER = re.compile(r"\d{5,}[-\s]?[A-Za-z]")  # a registration number and its check letter
_REG_WORDS = re.compile(r"\b(?:reg|roc|co\.?\s*no|company\s*no|uen|crn|gst|sst)\b", re.I)


def _repeats(page: Page, toks: list[str]) -> float:
    """On how many lines the phrase is printed (up to 5)."""
    if not toks:
        return 0.0
    key = _key(toks)
    return float(min(sum(key in k for k in page.line_keys), 5))


def _block_below(page: Page, line: _Line, words: list[_W], limit: int) -> list[list[_W]]:
    """The phrases stacked under ``words``: the next lines overlapping them, no wide gap."""
    lines = page.by_page[line.page]
    k = page.rank[id(line)]
    x0, x1 = words[0].x0, words[-1].x1
    out: list[list[_W]] = []
    prev = line
    for nxt in lines[k + 1 :]:
        if len(out) >= limit or nxt.y0 - prev.y1 > 1.6 * max(prev.h, nxt.h):
            break
        found: list[_W] = []  # every phrase of the line under the block's span
        for sa, sb in nxt.segments:
            seg = nxt.words[sa:sb]
            width = min(seg[-1].x1 - seg[0].x0, x1 - x0)
            if _overlap(seg[0].x0, seg[-1].x1, x0, x1) > 0.3 * max(width, 1.0):
                found += seg
            elif found:
                break
        if not found:
            break
        out.append(found)
        prev = nxt
    return out


def _stacked_above(page: Page, line: _Line, words: list[_W]) -> _Line | None:
    """The line right above ``words``, close and overlapping them, if there is one."""
    lines = page.by_page[line.page]
    k = page.rank[id(line)]
    if k == 0:
        return None
    prev = lines[k - 1]
    if line.y0 - prev.y1 > 1.2 * max(line.h, prev.h):
        return None
    x0, x1 = words[0].x0, words[-1].x1
    if any(
        _overlap(prev.words[sa].x0, prev.words[sb - 1].x1, x0, x1) > 0 for sa, sb in prev.segments
    ):
        return prev
    return None


def _toks(words: list[_W]) -> list[str]:
    return [t for w in words for t in w.toks]


def _namelike(words: list[_W]) -> bool:
    """Whether a line reads like (a part of) a name: letters, no numbers, no title, more
    than a legal form."""
    toks = _toks(words)
    text = _text(words)
    return (
        sum(c.isalpha() for c in text) >= 2
        and not any(c.isdigit() for c in text)
        and not titled(toks)
        and "".join(toks) not in _LEGAL
        and not _CONTACT.search(text)
    )


# Party labels of several words ("sold by", "bill to"): inside a phrase they still introduce
# a name, where a single word ("supplier", "company") may be part of one
_INNER_LABELS = frozenset(
    toks
    for role in ("vendor", "customer")
    for label in _VOCAB[role]
    if len(toks := _label_tokens(label)) >= 2
)


def _inner_label(words: list[_W]) -> bool:
    """Whether ``words`` end in a party label of several words."""
    toks = _toks(words)
    return any(tuple(toks[-n:]) in _INNER_LABELS for n in (2, 3) if len(toks) > n)


def _second_line(above: _Line | None, words: list[_W], toks: list[str]) -> bool:
    """The second line of a name printed over two: a short line that ends in a legal form,
    under a name-like line holding a trade word, no legal form, and none of its words
    ("KEDAI RUNCIT MAJU" / "JAYA SDN BHD"; a brand over the legal name is repeated in it)."""
    if above is None or len(words) > 4 or not legal_form(words):
        return False
    over = _toks(above.words)
    return (
        _namelike(above.words)
        and bool(_BUSINESS.intersection(over))
        and not legal_form(above.words)
        and not set(over) & set(toks)
    )


def _echo_above(above: _Line | None, toks: list[str]) -> float:
    """The share of the line above's words the phrase repeats: a brand over the legal name
    that holds it ("SWEE HENG" / "SWEE HENG BAKERY SDN BHD") repeats it, while the second
    line of a name printed over two ("KEDAI RUNCIT" / "MAJU SDN BHD") does not."""
    if above is None:
        return 0.0
    over = _toks(above.words)
    return sum(t in toks for t in over) / len(over) if over else 0.0


def _block_label(page: Page, line: _Line, words: list[_W]) -> dict[str, float]:
    """A party label heading the block this phrase sits in ("Bill to" two lines above)."""
    lines = page.by_page[line.page]
    k = page.rank[id(line)]
    x0, x1 = words[0].x0, words[-1].x1
    out: dict[str, float] = {}
    own_left, _, _ = page.left_words(line, page.index_of[id(words[0])])
    for toks in (phrase_tokens(own_left),):
        for key, v in page.scores(toks).items() if toks else ():
            if key in ("c:vendor", "c:customer"):
                out[key[2:]] = max(out.get(key[2:], 0.0), v)
    prev = line
    for up in reversed(lines[max(0, k - 7) : k]):
        if prev.y0 - up.y1 > 2.0 * max(prev.h, up.h):
            break
        for sa, sb in up.segments:
            seg = up.words[sa:sb]
            if _overlap(seg[0].x0 - 10, seg[-1].x1 + 10, x0, x1) <= 0:
                continue
            for key, v in page.scores(phrase_tokens(seg)).items():
                if key in ("c:vendor", "c:customer"):
                    out[key[2:]] = max(out.get(key[2:], 0.0), v)
        prev = up
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
