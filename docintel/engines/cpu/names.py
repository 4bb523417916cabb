"""Name candidates: every phrase that could name a party, with the features the scorer reads.

A phrase on the upper part of the first page or in its footer, or under a party label, cut
after a label ("Sold by: Acme", "... are sold by Acme, Inc."), with registration numbers and
till codes trimmed; a name printed word by word across the line is one phrase again, and a
name printed over two lines is a candidate as well. Legal forms alone on a line are never a
name. Features say how it is printed (legal form, capitals, trade words), what lies above it
(a brand it repeats, the name's first line) and below it (an address, a registration number,
legal forms the name goes on with), and where it sits (footer, a party label's block).
"""

from __future__ import annotations

import re
from dataclasses import replace

from docintel.engines.cpu.candidates import Cand, _relative
from docintel.engines.cpu.context import (
    _POSTCODE,
    FAMILIES,
    Page,
    _key,
    phrase_tokens,
)
from docintel.engines.cpu.schema import _Spec
from docintel.engines.cpu.vocab import (
    _BUSINESS,
    _LEGAL,
    _REGISTRATION,
    _VOCAB,
    titled,
)
from docintel.engines.cpu.words import _CONTACT, _W, _label_tokens, _Line, _overlap, _text, _tokens
from docintel.text.values import (
    runs,
)

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
    toks = _toks(words)
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
            toks = _toks(words)
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
