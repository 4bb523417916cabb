"""Train the CPU engine's candidate scorer on a folder of documents with expected values.

``train(directory, schema)`` reads the folder the way ``docintel eval`` does (``<stem>.json``
beside each document, or SROIE's ``img/`` + ``key/``), gathers every document's candidates
with their features, marks the ones whose value is the expected one, and fits gradient-boosted
trees per candidate group (``docintel.engines.cpu.scorer``). The result is a JSON file the CPU
engine reads: ``CPUEngine(scorer=path)`` or ``DOCINTEL_CPU_SCORER=path``.

Two rounds: the second gathers its candidates with the first round's scorer, so that addresses
are looked for under the names the scorer will choose when it runs. Needs scikit-learn
(``pip install 'docintel[train]'``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from docintel.jobs.evaluate import (
    DOCUMENT_SUFFIXES,
    _expected,
    documents,
    expected_path,
    sroie_layout,
)
from docintel.jobs.evaluate import SROIE_MAP as SROIE_MAP
from docintel.settings import Settings, get_settings

if TYPE_CHECKING:
    from docintel.engines.cpu.scorer import Scorer

__all__ = ["TrainReport", "expected_values", "train", "train_documents"]


@dataclass
class TrainReport:
    """What a training run saw and wrote."""

    documents: int
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # group: (rows, positives)
    seconds: float = 0.0
    out: Path | None = None

    def render(self) -> str:
        lines = [f"trained on {self.documents} documents in {self.seconds:.1f} s"]
        for group, (n, pos) in sorted(self.rows.items()):
            lines.append(f"  {group:<8} {n:>6} candidates, {pos:>5} right")
        if self.out is not None:
            lines.append(f"scorer written to {self.out}")
        return "\n".join(lines)


def expected_values(data: dict[str, Any], field_map: dict[str, str] | None) -> dict[str, Any]:
    """Expected JSON nested like the schema: mapped keys ("issuer" -> vendor.name) or as is."""
    if field_map is None:
        return data
    out: dict[str, Any] = {}
    for key, path in field_map.items():
        if key not in data:
            continue
        head, _, rest = path.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = data[key]
        else:
            out[head] = data[key]
    return out


def train_documents(
    items: Sequence[tuple[str, Any, dict[str, Any]]],
    schema: type[BaseModel],
    *,
    trees: int = 150,
    rounds: int = 2,
    meta: dict[str, Any] | None = None,
    prior: Scorer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """Fit a scorer on (name, pages, expected) items; the scorer's JSON and row counts.

    With ``prior`` (``docintel train`` passes the shipped scorer) the new scorer learns on top
    of it: its probability is a feature, and it ranks the candidates of the first round."""
    from docintel.engines.cpu.scorer import Scorer, fit
    from docintel.engines.cpu.train import merge, rows

    prior = prior if prior is not None and prior.data else None  # nothing to learn on
    scorer = prior or Scorer()
    data: dict[str, Any] = {}
    counts: dict[str, tuple[int, int]] = {}
    for r in range(rounds):
        collected: dict[str, list[Any]] = {}
        for i, (name, pages, expected) in enumerate(items):
            merge(collected, rows(schema, pages, expected, doc_id=name, scorer=scorer))
            if progress:
                progress(r * len(items) + i + 1, rounds * len(items))
        data = fit(collected, trees=trees, meta=meta, prior=prior)
        scorer = Scorer(data)
        counts = {g: (len(v), sum(y for _, y, _ in v)) for g, v in collected.items()}
    return data, counts


def train(
    directory: Path | str,
    schema: type[BaseModel],
    *,
    field_map: dict[str, str] | None = None,
    out: Path | str | None = None,
    trees: int = 150,
    on_shipped: bool = True,
    settings: Settings | None = None,
    suffixes: Sequence[str] = DOCUMENT_SUFFIXES,
    progress: Callable[[int, int], None] | None = None,
) -> TrainReport:
    """Fit a scorer on ``directory`` (eval layout or SROIE's) and write it to ``out``:
    on top of the shipped scorer (``on_shipped``, its probability a feature) or alone."""
    from docintel.engines.cpu.scorer import SHIPPED, dump, get_scorer
    from docintel.ingest.load import load

    settings = settings or get_settings()
    folder = Path(directory)
    if field_map is None and sroie_layout(folder):
        field_map = SROIE_MAP
    start = time.perf_counter()
    paths = documents(folder, suffixes)
    if not paths:
        raise ValueError(f"{folder}: no documents with expected JSON (<name>.json, or img/+key/)")
    docs = [load(p, settings=settings) for p in paths]
    try:
        items = [
            (p.name, doc.pages, expected_values(_expected(expected_path(p)), field_map))
            for p, doc in zip(paths, docs, strict=True)
        ]
        meta = {
            "trained_on": f"{len(paths)} documents of {folder.name} (docintel train)",
            "schema": schema.__name__,
        }
        prior = get_scorer(SHIPPED) if on_shipped else None
        data, counts = train_documents(
            items, schema, trees=trees, meta=meta, prior=prior, progress=progress
        )
    finally:
        for doc in docs:
            doc.close()
    report = TrainReport(len(paths), counts, time.perf_counter() - start)
    if out is not None:
        dump(data, out)
        report.out = Path(out)
    return report
