"""Address candidates: blocks of lines under the names a party may have, with their features.

An address hangs under a name: the lines stacked below the likeliest names (``anchors_of``),
from one to six of them, starting at any of the first four (a registration number or a branch
line may come between). Contacts, a document title or a registration number end a block, and
a country ends it after its line. A
stop between two of its words is read as the comma OCR took it for.
"""

from __future__ import annotations

import re

from docintel.engines.cpu.candidates import Cand, _relative
from docintel.engines.cpu.context import _POSTCODE, _TIME, Page
from docintel.engines.cpu.names import _block_below, _regno, legal_form
from docintel.engines.cpu.schema import _Spec
from docintel.engines.cpu.vocab import titled
from docintel.engines.cpu.words import _CONTACT, _W, _Line, _text
from docintel.text.places import ends_in_country
from docintel.text.values import parse_dates

ANCHORS = 2  # names an address is looked for under


Anchor = tuple[_Line, list[_W], float]  # a name's line, its words, its score


def anchors_of(names: list[Cand], right: Cand | None = None) -> list[Anchor]:
    """The names an address may hang under: the ``ANCHORS`` likeliest, on lines of their own
    (and, when training, the right name)."""
    out: list[Anchor] = []
    for c in [*names[:ANCHORS], *([right] if right is not None else [])]:
        if all(c.line is not line for line, _, _ in out):
            out.append((c.line, c.words, c.p))
    return out


def address_candidates(page: Page, spec: _Spec, anchors: list[Anchor], joiner: str) -> list[Cand]:
    """Blocks of 1-6 lines under a name (skipping up to two lines such as a registration
    number), and the lines after an address label."""
    out = []
    for anchor_rank, (line, words, p) in enumerate(anchors):
        block = _block_below(page, line, words, 9)
        if not block:
            continue
        for s in range(0, min(4, len(block))):
            for n in range(1, min(6, len(block) - s) + 1):
                lines = block[s : s + n]
                if any(_ends_address(x) for x in lines[:-1]):
                    break
                if any(ends_in_country(_text(x)) for x in lines[:-1]):
                    break  # an address ends with its country (a mall or branch may follow)
                rows, rest = block, None
                if _ends_address(lines[-1]):
                    # "81750 Johor Bahru, Johor. Tel No.: 07-387 3322": the address ends
                    # inside the line, where the contact begins (what follows it)
                    head = _before_contact(lines[-1])
                    if head is None:
                        break
                    rows = [*block[: s + n - 1], head, *block[s + n :]]
                    rest = lines[-1][len(head) :]
                cand = _address(page, spec, anchor_rank, line, rows, s, n, joiner, rest)
                cand.feats["anchor_p"] = p
                out.append(cand)
                if rows is not block:
                    break
    _relative(out)
    return out


def _before_contact(words: list[_W]) -> list[_W] | None:
    """The words of an address line before a contact printed after them on the same line
    (two words at least, and no contact, title or number line themselves); else None."""
    for k in range(2, len(words)):
        if _CONTACT.match(words[k].text) and not _ends_address(words[:k]):
            return words[:k]
    return None


def _ends_address(words: list[_W]) -> bool:
    """Lines no address holds: contacts (a phone number alone on its line too), a document
    title ("TAX INVOICE"), a registration or tax number ("Co. No. 419060-A"), a time, a field
    ("Site: 2591")."""
    text = _text(words)
    return bool(
        _CONTACT.search(text)
        or _TIME.search(text)
        or _FIELD_LINE.fullmatch(text)
        or _PHONE_LINE.fullmatch(text)
        or titled(t for w in words for t in w.toks)
        or _regno(words, strict=True)
    )


def _address(
    page: Page,
    spec: _Spec,
    anchor_rank: int,
    anchor: _Line,
    block: list[list[_W]],
    s: int,
    n: int,
    joiner: str,
    rest: list[_W] | None = None,
) -> Cand:
    """One block as an address candidate; ``rest``: the words after it on its last line,
    which then are what follows it (rather than the next line)."""
    lines = block[s : s + n]
    texts = [_text(x).strip() for x in lines]
    texts[-1] = _PHONE_TAIL.sub("", texts[-1]) or texts[-1]  # "... 47400 PJ 03-7728 1234"
    value = _STOP.sub(",", _join(texts, joiner))
    nxt = rest or (block[s + n] if s + n < len(block) else None)
    if not rest and nxt is not None and _ends_address(nxt):
        nxt = _before_contact(nxt) or nxt  # address words before a contact: the block goes on
    skipped = block[:s]
    first_line = page.line_of[id(lines[0][0])]
    feats: dict[str, float] = {
        "anchor_rank": anchor_rank,
        "start": s,
        "n_lines": n,
        "n_words": sum(len(x) for x in lines),
        "n_chars": min(len(value), 200),
        "postcode": float(bool(_POSTCODE.search(value))),
        "last_postcode": float(bool(_POSTCODE.search(texts[-1]))),
        "first_digit": float(any(c.isdigit() for c in texts[0])),
        "digit_share": sum(c.isdigit() for c in value) / max(len(value), 1),
        "commas": value.count(","),
        # a comma says more follows, a stop that the address ends ("Selangor.")
        "ends_comma": float(texts[-1][-1:] in ",;"),
        "ends_stop": float(texts[-1][-1:] == "."),
        "ends_country": float(ends_in_country(texts[-1])),
        "next_none": float(nxt is None),
        "next_contact": float(nxt is not None and bool(_CONTACT.search(_text(nxt)))),
        "next_regno": float(nxt is not None and _regno(nxt)),
        "next_digits": float(nxt is not None and any(c.isdigit() for c in _text(nxt))),
        "next_title": float(nxt is not None and titled(t for w in nxt for t in w.toks)),
        "next_colon": float(nxt is not None and any(w.text.endswith(":") for w in nxt)),
        "skipped_regno": float(bool(skipped) and all(_regno(x) for x in skipped)),
        "skipped_legal": float(any(legal_form(x) for x in skipped)),
        "skipped_n": len(skipped),
        "skipped_date": float(any(_dated(_text(x)) for x in skipped)),
        # a skipped line that reads like an address's first ("22A-1, JALAN 17/54,"): digits,
        # and neither a registration number nor a date
        "skipped_numbered": float(
            any(
                any(c.isdigit() for c in _text(x)) and not _regno(x) and not _dated(_text(x))
                for x in skipped
            )
        ),
        "contains_legal": float(any(legal_form(x) for x in lines)),
        "contains_colon": float(any(w.text.endswith(":") for x in lines for w in x)),
        "first_regno": float(_regno(lines[0])),
        "h_rel": max(w.h for w in lines[0]) / page.med_h[first_line.page],
        "y": first_line.y0 / (page.doc.heights.get(first_line.page, 1.0) or 1.0),
        "gap_after": (
            0.0
            if nxt is None or rest
            else (page.line_of[id(nxt[0])].y0 - page.line_of[id(lines[-1][0])].y1)
            / max(first_line.h, 1.0)
        ),
    }
    ws = [w for x in lines for w in x]
    return Cand(spec.path, "address", value, ws, first_line, feats, lines=[])


# A phone number: optional "+", digits in groups with a dash or a leading 0 or "+"
_PHONE = r"(?:\+\d[\d\s()-]{6,}\d|0\d{1,3}-?\s?\d[\d\s-]{4,}\d|\d{2,4}-\d{3,4}\s?\d{3,4})"
_PHONE_LINE = re.compile(rf"\s*{_PHONE}(?:\s*[/,]\s*\d[\d\s-]*)?\.?\s*")
_PHONE_TAIL = re.compile(rf"\s+{_PHONE}\.?\s*$")


# A field alone on its line: a short label, a colon, one value with a digit ("Site: 2591")
_FIELD_LINE = re.compile(r"\s*[^\W\d_][^\W\d_ .]*(?:[ .][^\W\d_]+){0,2}\.?\s*:\s*\S*\d\S*\s*")


def _dated(text: str) -> bool:
    """A line holding a date or a time (printed between a receipt's name and its address)."""
    return bool(_TIME.search(text) or parse_dates(text))


# A stop between two words of an address, after a number or a word of four letters or more and
# before a number or a capital: a comma that OCR read as a stop (thermal prints; an address
# holds no sentences). After an abbreviation ("NO. 12", "JLN. BESAR", "P.T. 33198") or before
# a word in lower case ("Avda. de la Paz") it stays.
_STOP = re.compile(r"(?<=[\dA-Za-z]{4})\.(?= [\dA-Z])|(?<=\d)\.(?= [\dA-Z])")


def _join(texts: list[str], joiner: str) -> str:
    out = ""
    for t in texts:
        t = t.strip()
        if not t:
            continue
        if not out:
            out = t
        elif joiner.strip() and out[-1:] in ",;":
            out += " " + t
        else:
            out += joiner + t
    return out
