"""Evaluate extraction on a folder of documents with expected values next to them.

``evaluate(directory, schema)`` runs ``extract_many`` (one batch) over every document in the
folder (PDF, PNG, JPEG, TIFF) that has an expected JSON beside it (``<stem>.json``), and
compares the values field by field, normalised:

* strings: case-, whitespace- and edge-punctuation-insensitive ("#BLR-1" == "blr-1");
* numbers: within 0.01 (printed forms such as "1,740.61" are parsed);
* dates: by value, whatever the format ("2014-08-03" == "August 3, 2014");
* currencies: codes or signs ("$" == "USD", "€" == "EUR").

Expected JSON is an object of values, nested like the schema, or a list whose first element is
that object (invoice2data's format). ``field_map`` maps expected keys to schema paths
(``INVOICE2DATA_MAP`` for invoice2data's keys); without one, every expected key that is a path
of the schema is compared. Images go through the same code as PDFs: what the engine can read
from them decides the figures.

The SROIE layout is read too: ``img/<id>.jpg`` with ``key/<id>.json`` (company, date, address,
total), mapped onto the catalog ``Receipt`` by ``SROIE_MAP`` and compared by SROIE's
conventions: company and address as printed, letter for letter (case and the spaces and
commas where lines were joined aside), the date by value, the total as the amount paid.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from docintel.engines.base import Engine
from docintel.settings import Settings, get_settings

__all__ = [
    "DOCUMENT_SUFFIXES",
    "FIELD_MAPS",
    "INVOICE2DATA_MAP",
    "SROIE_MAP",
    "DocRow",
    "EvalReport",
    "FieldCheck",
    "evaluate",
    "same_value",
]

DOCUMENT_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")

# invoice2data's expected keys -> the catalog Invoice's paths.
INVOICE2DATA_MAP: dict[str, str] = {
    "invoice_number": "invoice_number",
    "date": "issue_date",
    "amount": "total",
    "currency": "currency",
    "issuer": "vendor.name",
}
# SROIE's keys (ICDAR 2019, task 3) -> the catalog Receipt's paths.
SROIE_MAP: dict[str, str] = {
    "company": "merchant",
    "date": "date",
    "address": "address",
    "total": "total",
}
FIELD_MAPS: dict[str, dict[str, str]] = {"invoice2data": INVOICE2DATA_MAP, "sroie": SROIE_MAP}


@dataclass
class FieldCheck:
    """One compared field of one document."""

    key: str  # the expected key ("amount"), or the schema path when there is no map
    path: str  # the schema path compared ("total", "line_items[0].amount")
    expected: Any
    got: Any
    correct: bool


@dataclass
class DocRow:
    """One document: what the extraction gave and how its fields compared."""

    name: str
    pages: int
    ok: bool  # the extraction validated (all checks passed)
    seconds: float
    checks: list[FieldCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def correct(self) -> int:
        return sum(c.correct for c in self.checks)

    @property
    def accuracy(self) -> float:
        return self.correct / len(self.checks) if self.checks else 0.0


@dataclass
class EvalReport:
    """Per-field and overall accuracy, per-document rows, and speed."""

    schema: str
    engine: str
    rows: list[DocRow]
    seconds: float  # wall time of the whole run (load, render, extract)
    field_map: dict[str, str] | None = None

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.rows)

    @property
    def seconds_per_page(self) -> float:
        return self.seconds / self.pages if self.pages else 0.0

    @property
    def fields(self) -> dict[str, tuple[int, int]]:
        """Per field key: (correct, compared)."""
        out: dict[str, tuple[int, int]] = {}
        for row in self.rows:
            for c in row.checks:
                key = re.sub(r"\[\d+\]", "[]", c.key)
                right, total = out.get(key, (0, 0))
                out[key] = (right + c.correct, total + 1)
        return out

    @property
    def field_accuracy(self) -> dict[str, float]:
        return {k: right / total for k, (right, total) in self.fields.items() if total}

    @property
    def accuracy(self) -> float:
        """Share of all compared fields that are right."""
        right = sum(r for r, _ in self.fields.values())
        total = sum(t for _, t in self.fields.values())
        return right / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "engine": self.engine,
            "documents": len(self.rows),
            "pages": self.pages,
            "seconds": self.seconds,
            "seconds_per_page": self.seconds_per_page,
            "accuracy": self.accuracy,
            "fields": self.field_accuracy,
            "rows": [
                {
                    "name": r.name,
                    "pages": r.pages,
                    "ok": r.ok,
                    "accuracy": r.accuracy,
                    "errors": r.errors,
                    "checks": [
                        {
                            "key": c.key,
                            "path": c.path,
                            "expected": _plain(c.expected),
                            "got": _plain(c.got),
                            "correct": c.correct,
                        }
                        for c in r.checks
                    ],
                }
                for r in self.rows
            ],
        }

    def render(self) -> str:
        """A plain-text report: per-field accuracy, per-document rows, misses, speed."""
        out = [f"{self.schema} on {len(self.rows)} documents, engine {self.engine}"]
        width = max([len(self._label(k)) for k in self.fields] + [8])
        out.append(f"  {'field':<{width}}  {'right':>7}  accuracy")
        for key, (right, total) in self.fields.items():
            out.append(
                f"  {self._label(key):<{width}}  {right:>3}/{total:<3}  {right / total:6.1%}"
            )
        right = sum(r for r, _ in self.fields.values())
        total = sum(t for _, t in self.fields.values())
        out.append(f"  {'overall':<{width}}  {right:>3}/{total:<3}  {self.accuracy:6.1%}")
        out.append("")
        name_w = max([len(r.name) for r in self.rows] + [8])
        for row in self.rows:
            status = "ok" if row.ok else "failed"
            out.append(
                f"  {row.name:<{name_w}}  {row.correct:>2}/{len(row.checks):<2}  "
                f"{row.pages}p  {status}"
            )
            for c in row.checks:
                if not c.correct:
                    out.append(f"      {c.key}: expected {_show(c.expected)}, got {_show(c.got)}")
            if not row.checks and row.errors:
                out.append(f"      {row.errors[0][:160]}")
        out.append("")
        out.append(
            f"  {self.pages} pages in {self.seconds:.2f} s: {self.seconds_per_page:.3f} s/page"
        )
        return "\n".join(out)

    def _label(self, key: str) -> str:
        path = (self.field_map or {}).get(key)
        return f"{key} ({path})" if path and path != key else key

    def __str__(self) -> str:
        return self.render()


def _show(value: Any) -> str:
    text = json.dumps(_plain(value), ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


# ---- running -----------------------------------------------------------------------------------


def documents(directory: Path, suffixes: Sequence[str] = DOCUMENT_SUFFIXES) -> list[Path]:
    """The documents of a folder that have expected values (``expected_path``), by name:
    ``<stem>.json`` beside them, or the SROIE layout (``img/<id>.jpg``, ``key/<id>.json``)."""
    wanted = {s.lower() for s in suffixes}
    folder = Path(directory)
    if sroie_layout(folder):
        folder = folder / "img"
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in wanted and expected_path(p).is_file()
    )


def sroie_layout(directory: Path) -> bool:
    """``img/`` with the documents and ``key/`` with their expected JSON (SROIE's layout)."""
    return (directory / "img").is_dir() and (directory / "key").is_dir()


def expected_path(document: Path) -> Path:
    """Where a document's expected values are: beside it, or in ``../key/`` (SROIE)."""
    beside = document.with_suffix(".json")
    if beside.is_file():
        return beside
    key = document.parent.parent / "key" / f"{document.stem}.json"
    return key if document.parent.name == "img" and key.is_file() else beside


def evaluate(
    directory: Path | str,
    schema: type[BaseModel],
    *,
    engine: str | Engine = "cpu",
    field_map: dict[str, str] | None = None,
    settings: Settings | None = None,
    suffixes: Sequence[str] = DOCUMENT_SUFFIXES,
) -> EvalReport:
    """Extract ``schema`` from every document of ``directory`` with an expected JSON, and score.

    ``engine``: "cpu" (the default: no model), another engine name, or an ``Engine``.
    ``suffixes`` limits the documents (e.g. only ``(".pdf",)`` where scans sit beside PDFs).
    """
    from docintel.pipeline.extract import extract_many

    settings = settings or get_settings()
    paths = documents(Path(directory), suffixes)
    if field_map is None and sroie_layout(Path(directory)):
        field_map = SROIE_MAP
    if engine == "cpu":
        from docintel.engines.cpu import CPUEngine

        engine = CPUEngine(settings.cpu_scorer)
    start = time.perf_counter()
    results = extract_many([str(p) for p in paths], schema, engine=engine, settings=settings)
    seconds = time.perf_counter() - start
    engine_name = engine if isinstance(engine, str) else engine.name
    rows = []
    for path, result in zip(paths, results, strict=True):
        expected = _expected(expected_path(path))
        got = _value(result)
        rows.append(
            DocRow(
                name=path.name,
                pages=len(result.pages),
                ok=result.ok,
                seconds=result.seconds,
                checks=compare(
                    schema, expected, got, field_map, "sroie" if field_map is SROIE_MAP else ""
                ),
                errors=list(result.errors),
            )
        )
    return EvalReport(schema.__name__, engine_name, rows, seconds, field_map)


def _expected(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):  # invoice2data: a list of one object
        data = data[0] if data else {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (or a list of one)")
    return data


def _value(result: Any) -> dict[str, Any]:
    """The extracted value; when it did not validate, what was filled (``Result.partial``)."""
    if result.value is not None:
        return result.value.model_dump(mode="json")
    if getattr(result, "partial", None):
        return result.partial
    for attempt in reversed(result.attempts):
        try:
            data = json.loads(attempt.text)
        except (ValueError, TypeError):
            continue
        if isinstance(data, dict):
            return data
    return {}


# ---- comparing -----------------------------------------------------------------------------------


def compare(
    schema: type[BaseModel],
    expected: dict[str, Any],
    got: dict[str, Any],
    field_map: dict[str, str] | None = None,
    convention: str = "",
) -> list[FieldCheck]:
    """Field checks for one document: mapped keys, or every expected path of the schema.
    ``convention="sroie"``: strings compared as SROIE does (``same_value``)."""
    if field_map is not None:
        pairs = [(k, field_map[k]) for k in field_map if k in expected]
        values = {k: expected[k] for k, _ in pairs}
    else:
        values = dict(_flatten(expected))
        pairs = [(p, p) for p in values if _kind(schema, p) is not None]
    checks = []
    for key, path in pairs:
        kind = _kind(schema, path) or "other"
        value = _get(got, path)
        right = same_value(kind, values[key], value, convention)
        checks.append(FieldCheck(key, path, values[key], value, right))
    return checks


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = []
        for i, v in enumerate(value):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [(prefix, value)]


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _get(value: Any, path: str) -> Any:
    for name, index in _STEP.findall(path):
        if name:
            value = value.get(name) if isinstance(value, dict) else None
        else:
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else None
        if value is None:
            return None
    return value


def _kind(schema: type[BaseModel], path: str) -> str | None:
    """The fill kind of the field at ``path`` ("date", "number", "str"...), None if none."""
    from docintel.engines.cpu.schema import field_spec

    model: type[BaseModel] | None = schema
    kind = None
    for name, index in _STEP.findall(path):
        if index:
            continue
        if model is None or name not in model.model_fields:
            return None
        spec = field_spec(name, name, model.model_fields[name])
        kind, model = spec.kind, spec.model
    return kind


def _norm(text: Any) -> str:
    s = " ".join(str(text).casefold().split())
    return s.strip(" #:;,.")


def _currency(value: Any) -> str:
    s = str(value).strip()
    from docintel.text.values import currency_codes

    return (currency_codes(s) or (s.upper(),))[0]


def _dates(value: Any) -> set[date]:
    from docintel.text.values import parse_dates

    if isinstance(value, datetime):
        return {value.date()}
    if isinstance(value, date):
        return {value}
    return set(parse_dates(str(value)))


def _number(value: Any) -> float | None:
    from docintel.text.values import parse_amount

    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    parsed = parse_amount(str(value))
    return parsed[0] if parsed else None


def same_value(kind: str, expected: Any, got: Any, convention: str = "") -> bool:
    """Whether an extracted value matches the expected one, normalised by kind.

    ``convention="sroie"``: strings must hold the same characters in the same order, case
    aside and ignoring spaces and commas (SROIE joins an address's lines with spaces, a
    schema may join them with ", "); everything else as usual.
    """
    if expected is None or expected == "":
        return got is None or got == "" or got == []
    if got is None:
        return False
    if kind == "date" or (kind == "other" and isinstance(expected, date)):
        want, have = _dates(expected), _dates(got)
        return bool(want and have and (want & have))
    numeric = kind in ("number", "int", "percent") or (
        kind == "other" and isinstance(expected, int | float) and not isinstance(expected, bool)
    )
    if numeric:
        a, b = _number(expected), _number(got)
        return a is not None and b is not None and abs(a - b) <= 0.01 + 1e-9
    if kind == "currency":
        return _currency(expected) == _currency(got)
    if isinstance(expected, list | dict):
        return expected == got
    if convention == "sroie":
        return _squeeze(expected) == _squeeze(got)
    return _norm(expected) == _norm(got)


def _squeeze(text: Any) -> str:
    return re.sub(r"[\s,]+", "", str(text).casefold())
