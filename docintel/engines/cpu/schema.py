"""The schema walk: each field's kind, constraints and printed labels."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from docintel.engines.cpu.vocab import (
    _COLUMN_CONCEPTS,
    _COLUMNS,
    _CONCEPTS,
    _ID_WORDS,
    _NUMBER_WORDS,
    _VOCAB,
)
from docintel.engines.cpu.words import _label_tokens
from docintel.fields import unwrap
from docintel.text.patterns import Pattern, compile_pattern

Kind = Literal[
    "str", "number", "int", "percent", "date", "time", "currency", "bool", "choice", "model",
    "models", "strs", "other",
]  # fmt: skip


@dataclass
class _Spec:
    path: str
    name: str
    kind: Kind
    required: bool
    labels: list[tuple[str, ...]]
    concept: str | None = None
    pattern: Pattern | None = None  # linear-time: page text and patterns may be hostile
    max_length: int | None = None
    choices: list[Any] = field(default_factory=list)
    model: type[BaseModel] | None = None
    description: str = ""
    as_date: bool = False  # a ``date`` annotation (value given as ISO string either way)


def _constraints(meta: Sequence[Any], out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    for m in meta:
        if isinstance(m, FieldInfo):
            if m.description and "description" not in out:
                out["description"] = m.description
            _constraints(m.metadata, out)
            continue
        for key in ("pattern", "max_length"):
            value = getattr(m, key, None)
            if value is not None and key not in out:
                out[key] = value
    return out


def _concept(name: str, table: dict[str, tuple[str, ...]]) -> str | None:
    key = name.lower()
    return next((c for c, names in table.items() if key in names), None)


def _description_phrases(description: str | None) -> list[str]:
    """Quoted phrases ("'Bill to'", not after "e.g.") and the key phrase of a description."""
    if not description:
        return []
    out = []
    for m in re.finditer(r"['\"‘“]([^'\"’”]{2,30})['\"’”]", description):
        before = description[: m.start()].lower()[-14:]
        if not any(k in before for k in ("e.g", "such as", "example", "like")):
            out.append(m.group(1))
    text = re.sub(r"\([^)]*\)", " ", description)
    head = re.split(
        r"[.,;:(]|\b(?:as|in|if|including|with|e\.g|such|of the|exactly|on)\b", text, maxsplit=1
    )[0]
    head = re.sub(r"^\s*(?:the|a|an)\s+", "", head, flags=re.IGNORECASE).strip()
    if 2 <= len(head.split()) <= 4:
        out.append(head)
    return out


def labels_for(name: str, info: FieldInfo | None = None, *, column: bool = False) -> list[str]:
    """The printed labels a field may have, most specific first."""
    out: list[str] = []
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict) and isinstance(extra.get("labels"), list | tuple):
        out += [str(x) for x in extra["labels"]]
    out.append(name.replace("_", " "))
    concept = _concept(name, _COLUMN_CONCEPTS if column else _CONCEPTS)
    if concept:
        out += (_COLUMNS if column else _VOCAB)[concept]
    parts = name.lower().split("_")
    if len(parts) > 1 and parts[-1] in _NUMBER_WORDS:
        head = " ".join(parts[:-1])
        out.insert(out.index(name.replace("_", " ")) + 1, f"{head} no")
        out.insert(out.index(name.replace("_", " ")) + 2, f"{head} #")
        out.append(head)  # "invoice_number" -> "invoice"
    if info is not None:
        out += _description_phrases(info.description)
    return [x for i, x in enumerate(out) if _label_tokens(x) and x not in out[:i]]


def _glued(labels: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Labels written as one word ("InvoiceDate", "BillTo": OCR and compact layouts)."""
    out = [("".join(x),) for x in labels if len(x) > 1 and "no" not in x[1:]]
    return [x for x in dict.fromkeys(out) if x not in labels]


_SPECS: dict[tuple[str, str, int, bool], tuple[FieldInfo, _Spec]] = {}


def field_spec(path: str, name: str, info: FieldInfo, *, column: bool = False) -> _Spec:
    """A field's spec (built once per field: every fill of a schema walks it again)."""
    key = (path, name, id(info), column)
    got = _SPECS.get(key)
    if got is not None and got[0] is info:
        return got[1]
    if len(_SPECS) > 4096:
        _SPECS.clear()
    spec = _build_spec(path, name, info, column=column)
    _SPECS[key] = (info, spec)
    return spec


def _build_spec(path: str, name: str, info: FieldInfo, *, column: bool = False) -> _Spec:
    core, meta, optional = unwrap(info.annotation)
    cons = _constraints([*meta, *info.metadata])
    for m in info.metadata:  # constraints pydantic moved onto the FieldInfo
        for key in ("pattern", "max_length"):
            if getattr(m, key, None) is not None:
                cons.setdefault(key, getattr(m, key))
    description = info.description or cons.get("description", "") or ""
    labels = list(dict.fromkeys(_label_tokens(x) for x in labels_for(name, info, column=column)))
    labels += _glued(labels)
    table = _COLUMN_CONCEPTS if column else _CONCEPTS
    spec = _Spec(
        path,
        name,
        "other",
        info.is_required() and not optional,
        labels,
        concept=_concept(name, table),
        max_length=cons.get("max_length"),
        description=description,
    )
    if cons.get("pattern"):
        spec.pattern = compile_pattern(cons["pattern"])
    origin = get_origin(core)
    lowered = f"{name} {description}".lower()
    if isinstance(core, type) and issubclass(core, BaseModel):
        spec.kind, spec.model = "model", core
    elif origin in (list, tuple, set, frozenset, Sequence):
        args = get_args(core)
        inner = unwrap(args[0])[0] if args else Any
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            spec.kind, spec.model = "models", inner
        elif inner is str:
            spec.kind = "strs"
    elif origin is Literal:
        spec.kind, spec.choices = "choice", list(get_args(core))
    elif isinstance(core, type) and issubclass(core, Enum):
        spec.kind, spec.choices = "choice", [e.value for e in core]
    elif core is bool:
        spec.kind = "bool"
    elif core in (date, datetime):
        spec.kind, spec.as_date = "date", True
    elif core in (float, Decimal):
        spec.kind = "percent" if _percentish(name, description) else "number"
    elif core is int:
        spec.kind = "int"
    elif core is str:
        spec.kind = "str"
        p = spec.pattern
        if p is not None and p.search("2024-03-14"):
            spec.kind = "date"
        elif p is not None and p.search("12:30"):
            spec.kind = "time"
        elif spec.concept == "currency" or (
            p is not None and p.search("EUR") and "currenc" in lowered
        ):
            spec.kind = "currency"
        elif "date" in name.lower().split("_") and p is None:
            spec.kind = "date"
    return spec


def _percentish(name: str, description: str) -> bool:
    parts = set(name.lower().split("_"))
    return (
        bool(parts & {"rate", "percent", "pct", "percentage"}) or "percent" in description.lower()
    )


def _id_like(spec: _Spec) -> bool:
    parts = set(spec.name.lower().split("_"))
    return bool(parts & _ID_WORDS) or spec.concept in ("invoice_number", "purchase_order", "tax_id")
