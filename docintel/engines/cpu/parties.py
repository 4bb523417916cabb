"""Parties: the customer under its label, the vendor by label or at the top of the first page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docintel.text.values import (
    runs,
)

if TYPE_CHECKING:
    pass
from docintel.engines.cpu.labels import _Finder, _Labels, _Occ
from docintel.engines.cpu.parse import _parse, _truncate
from docintel.engines.cpu.schema import _concept, _Spec, field_spec
from docintel.engines.cpu.vocab import _CONCEPTS, _LEGAL, titled
from docintel.engines.cpu.words import _CONTACT, _W, _clean, _contains, _Doc, _Line, _overlap, _text


def _block(doc: _Doc, line: _Line, seg: tuple[int, int], max_lines: int = 7) -> list[list[_W]]:
    """A block of text: the phrase and the phrases stacked under it."""
    words = line.words[seg[0] : seg[1]]
    out = [words]
    x0, x1 = words[0].x0, words[-1].x1
    prev = line
    for nxt in doc.page_lines(line.page)[line.no + 1 :]:
        if len(out) >= max_lines:
            break
        if nxt.y0 - prev.y1 > 0.9 * max(prev.h, nxt.h):
            break
        found = None
        for a, b in nxt.segments:
            s = nxt.words[a:b]
            width = min(s[-1].x1 - s[0].x0, x1 - x0)
            if _overlap(s[0].x0, s[-1].x1, x0, x1) > 0.5 * width:
                found = s
                break
        if found is None:
            if nxt.y0 - prev.y1 > 0.2 * prev.h:
                break
            continue  # another column's line at nearly the same height
        out.append(found)
        prev = nxt
    return out


def _is_contact(words: list[_W], labels: _Labels, line_of: dict[int, _Line]) -> bool:
    text = _text(words)
    if _CONTACT.search(text) or any(w.text.endswith(":") for w in words[:3]):
        return True
    line = line_of.get(id(words[0]))
    return bool(line and any(o.key == "@tax_id" and o.words[0] in words for o in labels.on(line)))


def _strip_attn(words: list[_W]) -> list[_W]:
    while len(words) > 1 and words[0].text.endswith(":"):
        words = words[1:]
    return words


@dataclass
class _Party:
    name: list[_W]
    block: list[list[_W]]


class _Parties:
    """The customer (under a "Bill to" label) and the vendor (label, or top of the page)."""

    def __init__(self, doc: _Doc, labels: _Labels, finder: _Finder) -> None:
        self.doc, self.labels, self.finder = doc, labels, finder
        self.line_of = {id(w): ln for ln in doc.lines for w in ln.words}
        self.customer = self._labelled("@customer")
        taken = {id(w) for ph in (self.customer.block if self.customer else []) for w in ph}
        self.vendor = self._vendor(taken)

    def _labelled(self, key: str) -> _Party | None:
        occs = sorted(
            (o for o in self.labels.get(key) if not o.qualified),
            key=lambda o: (o.rank, o.line.page, o.line.y0),
        )
        for occ in occs:
            party = self._under(occ)
            if party is not None:
                return party
        return None

    def _under(self, occ: _Occ) -> _Party | None:
        line = occ.line
        _, s1 = line.segment_of(occ.a)
        words = line.words[occ.b : s1]
        while words and (not words[0].toks or words[0].text.endswith(":")):
            words = words[1:]  # "Bill to Address:", "Sold By :"
        if words:
            block = _block(self.doc, line, (line.words.index(words[0]), s1))
            return _Party(words, block)
        below = self.finder.below(occ)
        if not below:
            return None
        bline = self.line_of[id(below[0])]
        a = bline.words.index(below[0])
        block = _block(self.doc, bline, (a, a + len(below)))
        name = _strip_attn(below)
        return _Party(name, [name, *block[1:]])

    def _vendor(self, taken: set[int]) -> _Party | None:
        """The vendor: a labelled name, or the most prominent company-like name at the top.

        Score = label (2.5) + visual score of its best occurrence at the top of the first
        page (relative font height, height on the page, a legal form, an address below, not
        a line inside a block, not a sentence) + repetitions on the page + a footer mention.
        """
        doc = self.doc
        first = doc.pages[0]
        height = doc.heights[first]
        cands: dict[str, dict[str, Any]] = {}

        def add(words: list[_W], line: _Line, score: float, labelled: bool) -> None:
            words = _trim_title(_strip_attn(words))
            text = _clean(_text(words))
            key = "".join(runs(text))
            if not key or not _namelike(words, text) or words[-1].text.endswith(":"):
                return
            c = cands.setdefault(key, {"words": words, "line": line, "vis": None, "label": 0.0})
            if labelled:
                c["label"] = max(c["label"], score)
            elif c["vis"] is None or score > c["vis"]:
                c.update(words=words, line=line, vis=score)

        # labelled: "Sold by", "Payable to", "Account holder"...
        for occ in self.labels.get("@vendor"):
            if occ.qualified:
                continue
            party = self._under(occ)
            if party is not None and not any(id(w) in taken for w in party.name):
                add(party.name, self.line_of[id(party.name[0])], 2.5, True)
        # the top of the first page
        top = [ln for ln in doc.page_lines(first) if ln.y0 < 0.3 * height]
        segs = []
        for line in top:
            for a, b in line.segments:
                words = line.words[a:b]
                if any(id(w) in taken for w in words):
                    continue
                if any(
                    o.a < b and o.b > a and not titled(t for w in o.words for t in w.toks)
                    for o in self.labels.on(line)
                ):
                    continue  # a label ("Invoice no.:"), not a title ("... Invoice")
                segs.append((line, a, b))
        tallest = max((max(w.h for w in ln.words[a:b]) for ln, a, b in segs), default=1.0)
        for line, a, b in segs:
            trimmed = _trim_title(line.words[a:b])
            if not trimmed or not _namelike(trimmed, _text(trimmed)):
                continue
            score = max(w.h for w in trimmed) / tallest
            score += 0.3 * (1 - line.y0 / (0.3 * height))
            if _legal(trimmed):
                score += 1.0
            if self._address_below(line, (a, b)):
                score += 0.5
            if self._stacked_above(line, trimmed):
                score -= 0.8  # a line inside a block (an address line), not its first line
            if len(trimmed) >= 4 and (
                trimmed[-1].text.endswith(".") or sum(w.text[:1].islower() for w in trimmed) > 1
            ):
                score -= 0.7  # a sentence or a slogan
            add(trimmed, line, score, False)
        if not cands:
            return None
        # repetitions on the page (footer, "payable to ...") support a name
        lines = doc.page_lines(first)
        phrases = [
            (tuple(t for w in ln.words[a:b] for t in w.toks), ln.y0 > 0.85 * height)
            for ln in lines
            for a, b in ln.segments
        ]
        for c in cands.values():
            toks = tuple(t for w in c["words"] for t in w.toks)
            hits = [foot for p, foot in phrases if _contains(p, toks)]
            score = (c["vis"] or 0.0) + c["label"]
            score += 0.5 * min(max(len(hits) - 1, 0), 2)
            score += 0.5 * any(foot for foot in hits)
            if c["vis"] is None and _legal(c["words"]):
                score += 1.0
            c["score"] = score
        best = max(cands.values(), key=lambda c: c["score"])
        line: _Line = best["line"]
        words = best["words"]
        a = line.words.index(words[0])
        block = _block(doc, line, (a, line.segment_of(a)[1]))
        return _Party(words, [words, *block[1:]])

    def _stacked_above(self, line: _Line, words: list[_W]) -> bool:
        """A phrase sits right above these words, aligned with them (same block)."""
        x0, x1 = words[0].x0, words[-1].x1
        for prev in reversed(self.doc.page_lines(line.page)[: line.no]):
            if line.y0 - prev.y1 > 0.9 * max(line.h, prev.h):
                return False
            for a, b in prev.segments:
                s = prev.words[a:b]
                width = min(s[-1].x1 - s[0].x0, x1 - x0)
                if _overlap(s[0].x0, s[-1].x1, x0, x1) > 0.5 * width:
                    return True
        return False

    def _address_below(self, line: _Line, seg: tuple[int, int]) -> bool:
        block = _block(self.doc, line, seg, max_lines=3)
        return any(
            any(any(c.isdigit() for c in w.text) for w in ph)
            and any(any(c.isalpha() for c in w.text) for w in ph)
            for ph in block[1:]
        )

    def fill(self, party: _Party | None, spec: _Spec) -> dict[str, Any]:
        """A Party-like model from a block: name, address lines, labelled fields within."""
        assert spec.model is not None
        out: dict[str, Any] = {}
        for name, info in spec.model.model_fields.items():
            sub = field_spec(f"{spec.path}.{name}", name, info)
            out[name] = None if sub.kind not in ("models", "strs") else []
            if party is None:
                continue
            low = name.lower()
            if low in ("name", "company", "company_name", "full_name", "legal_name"):
                if sub.kind == "str":
                    out[name] = _truncate(_clean(_text(party.name)), sub.max_length)
            elif "address" in low and sub.kind == "str":
                lines = []
                for ph in party.block[1:]:
                    if _is_contact(ph, self.labels, self.line_of):
                        break
                    lines.append(_clean(_text(ph)))
                if lines:
                    out[name] = _truncate(", ".join(x for x in lines if x), sub.max_length)
            elif sub.kind not in ("model", "models", "strs"):
                out[name] = self._in_block(party, sub)
        return out

    def _in_block(self, party: _Party, spec: _Spec) -> Any:
        key = "@tax_id" if _concept(spec.name, _CONCEPTS) == "tax_id" else spec.path
        ids = {id(w) for ph in party.block for w in ph}
        last = self.line_of[id(party.block[-1][0])]
        # and a few lines under the block: "VAT ID" often follows the address
        extra = self.doc.page_lines(last.page)[last.no + 1 : last.no + 3]
        for occ in self.labels.get(key):
            inside = any(id(w) in ids for w in occ.words) or (
                occ.line in extra and _overlap(occ.x0, occ.x1, party.name[0].x0 - 5, 10**6) > 0
            )
            if inside:
                spec2 = _Spec(spec.path, spec.name, spec.kind, False, [], concept=spec.concept,
                              pattern=spec.pattern, max_length=spec.max_length)  # fmt: skip
                got = _parse(spec2, self.finder.right(occ), self.doc)
                if got is not None and (spec.kind != "str" or re.search(r"\d", str(got[0]))):
                    return got[0]
        return None


def _trim_title(words: list[_W]) -> list[_W]:
    """A phrase without document-title words at its ends ("Amazon Web Services Invoice")."""
    ws = list(words)
    while ws and titled(ws[-1].toks):
        ws.pop()
    while ws and titled(ws[0].toks):
        ws.pop(0)
    return ws


def _legal(words: Sequence[_W]) -> bool:
    toks = [t for w in words for t in w.toks]
    if not toks:
        return False
    joined = "".join(runs(words[-1].text))
    return toks[-1] in _LEGAL or joined in _LEGAL or "".join(toks[-2:]) in _LEGAL


def _namelike(words: Sequence[_W], text: str) -> bool:
    """Could be a company or person name: letters, few words, no long numbers or contacts."""
    if not words or len(words) > 7 or _CONTACT.search(text):
        return False
    if not any(sum(c.isalpha() for c in w.text) >= 2 for w in words):
        return False
    return not any(re.search(r"\d{3,}", w.text) for w in words)
