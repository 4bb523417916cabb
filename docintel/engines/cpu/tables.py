"""Tables of items: the header row that matches the item model, then its rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    pass
from docintel.engines.cpu.labels import _Labels, _Occ
from docintel.engines.cpu.parse import _parse, _truncate
from docintel.engines.cpu.schema import _Spec, field_spec
from docintel.engines.cpu.words import _W, _clean, _Doc, _Line, _overlap, _text


@dataclass
class _Column:
    spec: _Spec | None
    x0: float
    x1: float


def _item_specs(model: type[BaseModel], path: str) -> list[_Spec]:
    return [
        field_spec(f"{path}[].{name}", name, info, column=True)
        for name, info in model.model_fields.items()
    ]


def _table_headers(doc: _Doc, specs: list[_Spec]) -> list[tuple[_Line, list[_Column]]]:
    """Lines whose words match the item model's column labels (at least two distinct fields)."""
    labels = _Labels(doc.lines, {s.path: s.labels for s in specs if s.labels})
    by_path = {s.path: s for s in specs}
    out = []
    for line in doc.lines:
        occs = sorted(labels.on(line), key=lambda o: (o.a, o.rank))
        chosen: list[_Occ] = []
        used_words: set[int] = set()
        for o in sorted(occs, key=lambda o: (-o.ntoks, o.rank, o.a)):
            if used_words & set(range(o.a, o.b)):
                continue
            chosen.append(o)
            used_words.update(range(o.a, o.b))
        fields = {o.key for o in chosen}
        numeric = {k for k in fields if by_path[k].kind in ("number", "int", "percent")}
        texty = {k for k in fields if by_path[k].kind == "str"}
        if len(fields) < 3 or not numeric or not texty:
            continue
        # one column per field: its best-ranked heading; other headings are unnamed columns
        best: dict[str, _Occ] = {}
        for o in sorted(chosen, key=lambda o: (o.rank, o.a)):
            best.setdefault(o.key, o)
        cols: list[_Column] = []
        for o in chosen:
            spec = by_path[o.key] if best.get(o.key) is o else None
            cols.append(_Column(spec, o.x0, o.x1))
        for a, b in line.segments:  # unlabelled headings ("Pos.", "Rabatt %") hold columns too
            if not used_words & set(range(a, b)):
                cols.append(_Column(None, line.words[a].x0, line.words[b - 1].x1))
        cols.sort(key=lambda c: c.x0)
        out.append((line, cols))
    return out


def _cells(line: _Line, cols: list[_Column]) -> tuple[dict[int, list[_W]], int]:
    """The words of a row per column, and how many words reach into another column.

    Column i owns the x-range between the midpoints to its neighbours' headings: text runs
    right of a left-aligned heading, numbers left of a right-aligned one.
    """
    bounds = [(a.x1 + b.x0) / 2 for a, b in itertools.pairwise(cols)]
    cells: dict[int, list[_W]] = {}
    misfits = 0
    for w in line.words:
        cx = (w.x0 + w.x1) / 2
        i = sum(cx > b for b in bounds)
        if any(_overlap(w.x0, w.x1, c.x0, c.x1) > 2 for j, c in enumerate(cols) if j != i):
            misfits += 1  # reaches under another column's heading
        cells.setdefault(i, []).append(w)
    return cells, misfits


def _read_table(
    doc: _Doc, header: _Line, cols: list[_Column], specs: list[_Spec], summary: _Labels
) -> tuple[list[dict[str, Any]], set[int]]:
    """Rows below a header, parsed per column, until they stop aligning."""
    items: list[dict[str, Any]] = []
    used: set[int] = {id(header)}
    required = [s for s in specs if s.required]
    desc_col = next(
        (i for i, c in enumerate(cols) if c.spec is not None and c.spec.kind == "str"), None
    )
    last_item: _Line = header
    pitch = 2.5 * header.h
    for line in doc.page_lines(header.page)[header.no + 1 :]:
        if line.y0 - last_item.y1 > max(3 * pitch, 4 * line.h):
            break
        if any(not o.qualified for o in summary.on(line)) and len(summary.on(line)) > 0:
            first = summary.on(line)[0]
            if first.a == 0 or line.segment_of(first.a)[0] == first.a:
                continue  # "Subtotal", "VAT 19%": a summary row, not an item
        cells, misfits = _cells(line, cols)
        row: dict[str, Any] = {}
        for i, ws in cells.items():
            spec = cols[i].spec
            if spec is None:
                continue
            got = _parse(spec, ws, doc)
            if got is not None:
                row[spec.name] = got[0]
        if all(s.name in row for s in required) and misfits == 0 and len(row) >= 2:
            items.append({s.name: row.get(s.name, [] if s.kind == "strs" else None)
                          for s in specs})  # fmt: skip
            used.add(id(line))
            last_item = line
            pitch = max(min(pitch, 2.5 * line.h), 1.2 * line.h)
            continue
        numbers = [k for k, v in row.items() if not isinstance(v, str)]
        only_desc = desc_col is not None and desc_col in cells and not numbers
        if only_desc and items and line.y0 - last_item.y1 < 1.2 * line.h:
            spec = cols[desc_col].spec
            assert spec is not None
            extra = _clean(_text([w for i in sorted(cells) for w in cells[i]]))
            name = spec.name
            items[-1][name] = _truncate(f"{items[-1][name]} {extra}".strip(), spec.max_length)
            used.add(id(line))
            last_item = line
            continue
        if numbers and items:
            break  # numbers that do not make an item: the table has ended
        if not items and not row and line.y0 - header.y1 < 2.5 * header.h:
            used.add(id(line))  # the heading's second line ("Ohne MwSt.")
    return items, used
