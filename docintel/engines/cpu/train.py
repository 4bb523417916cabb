"""Training the candidate scorer: candidates of documents with known values, labelled, fitted.

``rows(schema, pages, expected)`` gathers one document's candidates with their features and
marks the ones whose value is the expected one (dates by value, amounts within half a cent,
identifiers and names by their letters and digits, addresses allowing a few OCR misreads);
``fit_rows`` (``scorer.fit``) turns the rows of many documents into a scorer file. Used by
``docintel train`` (a folder of documents with expected JSON) and ``tools/train_cpu_scorer.py``
(the shipped scorer, on generated documents).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from docintel.engines.cpu import addresses as A
from docintel.engines.cpu import candidates as C
from docintel.engines.cpu import names as N
from docintel.engines.cpu.fill import _Work
from docintel.engines.cpu.schema import field_spec
from docintel.engines.cpu.scorer import Scorer, get_scorer
from docintel.engines.cpu.words import _prepare
from docintel.text.values import parse_amount, parse_dates, runs

if TYPE_CHECKING:
    from docintel.document import Page

Rows = dict[str, list[tuple[dict[str, float], int, str]]]


def matches(group: str, expected: Any, value: Any) -> bool:
    """Whether a candidate's value is the expected one, by the group's kind of value."""
    if expected is None or value is None or expected == "":
        return False
    if group == "date":
        want = set(parse_dates(str(expected)))
        return bool(want) and any(str(value) == d.isoformat() for d in want)
    if group == "amount":
        want = (
            [float(expected)]
            if isinstance(expected, int | float)
            else list(parse_amount(str(expected)))
        )
        return any(abs(float(value) - w) < 0.006 for w in want)
    return _letters(expected) == _letters(value) and bool(_letters(expected))


def _letters(value: Any) -> str:
    return "".join(runs(str(value)))


def _close(expected: Any, value: Any) -> float:
    return difflib.SequenceMatcher(None, _letters(expected), _letters(value)).ratio()


def _get(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def rows(
    schema: type[BaseModel],
    pages: Sequence[Page],
    expected: dict[str, Any],
    *,
    doc_id: str = "",
    scorer: Scorer | None = None,
    fuzzy: float = 0.9,
) -> Rows:
    """One document's labelled candidates, per group. ``expected`` is nested like the schema
    (paths such as "vendor.name"); fields it lacks or holds as None are not labelled.

    Strings read by OCR are rarely letter-perfect: for names and addresses, the closest
    candidate counts as right when at least ``fuzzy`` of it matches (and no exact one exists).
    """
    doc = _prepare(pages, None)
    work = _Work(schema, doc, scorer or get_scorer())
    filled = work.run()
    out: Rows = {}
    for path, cands in _all_candidates(work, filled, expected).items():
        want = _get(expected, path)
        if want is None and not _known(expected, path):
            continue  # not labelled: nothing says whether it is printed
        if not cands:
            continue
        group = cands[0].group
        labels = [int(matches(group, want, c.value)) for c in cands]
        if group in ("name", "address") and want is not None and not any(labels):
            scores = [_close(want, c.value) for c in cands]
            best = max(range(len(cands)), key=lambda i: scores[i])
            if scores[best] >= fuzzy:
                labels[best] = 1
        for c, y in zip(cands, labels, strict=True):
            out.setdefault(group, []).append((c.feats, y, doc_id))
    return out


def _known(expected: dict[str, Any], path: str) -> bool:
    """The expected values name this field (as None: the document does not print it)."""
    head, _, rest = path.partition(".")
    if head not in expected:
        return False
    return not rest or (isinstance(expected[head], dict) and rest in expected[head])


def _all_candidates(work: _Work, filled: Any, expected: dict[str, Any]) -> dict[str, list[C.Cand]]:
    """Every candidate of every field (not de-duplicated: each is a training row).

    Addresses hang under a name: under the chosen one (as at run time) and under the right
    one, so that the right address is among them even when the name was missed."""
    out: dict[str, list[C.Cand]] = {}
    ranked: dict[str, list[C.Cand]] = filled.ranked
    for path, cands in ranked.items():
        spec = _leaf_spec(work.schema, path)
        if spec is None:
            continue
        parent = path.split(".")[0] if "." in path else None
        group = C.group_of(spec, parent)  # by the field: a field may have no candidate today
        if group is None:
            continue
        if group == "amount":
            out[path] = C.amount_candidates(work.page, spec)
        elif group == "date":
            out[path] = C.date_candidates(work.page, spec)
        elif group == "id":
            out[path] = C.id_candidates(work.page, spec)
        elif group == "name":
            out[path] = N.name_candidates(work.page, spec, C.role_of(spec, parent))
        else:
            anchors: list[A.Anchor] = []
            for npath, ncands in ranked.items():
                nspec = _leaf_spec(work.schema, npath)
                if not ncands or nspec is None or C.group_of(nspec, parent) != "name":
                    continue
                same = (npath.split(".")[0] == parent) if parent else "." not in npath
                if not same:
                    continue
                want = _get(expected, npath)
                right = [c for c in ncands if want is not None and matches("name", want, c.value)]
                anchors = A.anchors_of(ncands, right[0] if right else None)
                break
            if anchors:
                joiner = ", " if "comma" in (spec.description or "").lower() else " "
                out[path] = A.address_candidates(work.page, spec, anchors, joiner)
            else:
                out[path] = cands
    return out


def _leaf_spec(schema: type[BaseModel], path: str) -> Any:
    head, _, rest = path.partition(".")
    info = schema.model_fields.get(head)
    if info is None:
        return None
    if not rest:
        return field_spec(head, head, info)
    spec = field_spec(head, head, info)
    if spec.model is None or rest not in spec.model.model_fields:
        return None
    return field_spec(path, rest, spec.model.model_fields[rest])


def merge(into: Rows, more: Rows) -> Rows:
    for group, items in more.items():
        into.setdefault(group, []).extend(items)
    return into
