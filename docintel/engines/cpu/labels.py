"""Label occurrences on the lines, and the values printed next to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass
from docintel.engines.cpu.parse import _parse
from docintel.engines.cpu.schema import _Spec
from docintel.engines.cpu.words import _W, _Doc, _Line, _overlap


@dataclass(eq=False)
class _Occ:
    """One occurrence of a label: words [a, b) of a line."""

    key: str  # the spec path (or a role: "@vendor", "@customer", "#summary")
    rank: int
    line: _Line
    a: int
    b: int
    ntoks: int

    @property
    def words(self) -> list[_W]:
        return self.line.words[self.a : self.b]

    @property
    def x0(self) -> float:
        return self.line.words[self.a].x0

    @property
    def x1(self) -> float:
        return self.line.words[self.b - 1].x1

    @property
    def qualified(self) -> bool:
        """Other words come before the label in its phrase ("Order Date", "Greetings from")."""
        s0, _ = self.line.segment_of(self.a)
        return any(w.toks for w in self.line.words[s0 : self.a])


def _find(line: _Line, label: tuple[str, ...]) -> list[tuple[int, int]]:
    """Word ranges [a, b) of the line whose tokens are exactly ``label``, on word boundaries."""
    out = []
    words = line.words
    n = len(label)
    for a, w in enumerate(words):
        if not w.toks or w.toks[0] != label[0]:
            continue
        toks: list[str] = []
        b = a
        while b < len(words) and len(toks) < n:
            toks.extend(words[b].toks)
            b += 1
            if tuple(toks) == label:
                out.append((a, b))
                break
            if tuple(toks) != label[: len(toks)]:
                break
    return out


class _Labels:
    """Every label occurrence on the lines, for every key; shorter ones inside longer dropped."""

    def __init__(self, lines: list[_Line], keyed: dict[str, list[tuple[str, ...]]]) -> None:
        self.by_key: dict[str, list[_Occ]] = {}
        by_line: dict[int, list[_Occ]] = {}
        first: dict[str, list[tuple[str, int, tuple[str, ...]]]] = {}
        for key, labels in keyed.items():
            for rank, label in enumerate(labels):
                first.setdefault(label[0], []).append((key, rank, label))
        for line in lines:
            occs: list[_Occ] = []
            # in the line's order, not a set's: ties between occurrences are then broken the
            # same way in every process (a set of strings iterates in a per-process hash order)
            present = dict.fromkeys(t for w in line.words for t in w.toks[:1])
            for tok in (t for t in present if t in first):
                for key, rank, label in first[tok]:
                    for a, b in _find(line, label):
                        occs.append(_Occ(key, rank, line, a, b, len(label)))
            kept = [o for o in occs if not any(_inside(o, p) for p in occs)]
            by_line[id(line)] = kept
            for o in kept:
                self.by_key.setdefault(o.key, []).append(o)
        self.by_line = by_line

    def on(self, line: _Line) -> list[_Occ]:
        return self.by_line.get(id(line), [])

    def get(self, key: str) -> list[_Occ]:
        return self.by_key.get(key, [])


def _inside(o: _Occ, p: _Occ) -> bool:
    """``o`` lies within the longer occurrence ``p`` of the same line."""
    return (
        p is not o
        and p.a <= o.a
        and o.b <= p.b
        and (p.ntoks > o.ntoks or (p.b - p.a) > (o.b - o.a))
    )


class _Finder:
    """Reads values next to label occurrences."""

    def __init__(self, doc: _Doc, labels: _Labels, excluded: set[int]) -> None:
        self.doc = doc
        self.labels = labels
        self.excluded = excluded  # ids of lines inside item tables

    def right(self, occ: _Occ) -> list[_W]:
        """The words right of the label on its line, up to the next phrase starting a label."""
        line = occ.line
        stops = [
            o.a for o in self.labels.on(line) if o.a >= occ.b and line.segment_of(o.a)[0] == o.a
        ]
        end = min(stops, default=len(line.words))
        return line.words[occ.b : end]

    def below(self, occ: _Occ) -> list[_W]:
        """The phrase directly below the label (the next line overlapping it horizontally)."""
        page_lines = self.doc.page_lines(occ.line.page)
        limit = occ.line.y1 + 2.6 * occ.line.h
        for line in page_lines[occ.line.no + 1 :]:
            if line.y0 > limit:
                break
            for a, b in line.segments:
                seg = line.words[a:b]
                if _overlap(seg[0].x0, seg[-1].x1, occ.x0 - 2, max(occ.x1, occ.x0 + 40)) > 0:
                    if any(o.a == a and not o.qualified for o in self.labels.on(line)):
                        return []  # a label below a label: a table of labels, not a value
                    return seg
        return []

    def value(self, spec: _Spec, occ: _Occ) -> tuple[Any, list[_W]] | None:
        right = self.right(occ)
        if spec.kind == "str" and right:
            # a string value is the first phrase after the label (punctuation skipped)
            words, end = occ.line.words, occ.b + len(right)
            i = occ.b
            while i < end and not words[i].toks:
                i += 1
            right = words[i : min(occ.line.segment_of(i)[1], end)] if i < end else []
        got = _parse(spec, right, self.doc) if right else None
        if got is None:
            below = self.below(occ)
            got = _parse(spec, below, self.doc) if below else None
        return got

    def best(self, spec: _Spec, *, prefer_last: bool = False) -> tuple[Any, list[_W]] | None:
        occs = [
            o
            for o in self.labels.get(spec.path)
            if id(o.line) not in self.excluded and not o.qualified
        ]
        if prefer_last:
            occs.sort(key=lambda o: (o.qualified, -o.line.page, -o.line.y0, o.rank))
        else:
            occs.sort(key=lambda o: (o.qualified, o.rank, o.line.page, o.line.y0, o.x0))
        for occ in occs:
            got = self.value(spec, occ)
            if got is not None:
                return got
        return None
