"""Grounding alone (no model): how many expected values ``locate`` finds on real invoices.

Data: the invoice2data test invoices in ``../shared/data/invoices/`` (read in place): each
``<name>.pdf`` with its expected values in ``<name>.json`` (issuer, amount, amount_untaxed,
date, invoice_number, currency, lines[]...). Their values are normalised differently from the
printed text (ISO dates, amounts without currency or thousands separators), which is exactly
what the matching must handle. Each JSON record becomes a pydantic model (floats stay numbers,
"YYYY-MM-DD" strings become dates, decimal strings such as "0.01" become numbers) and
``locate`` runs on the PDF.

A value counts as *located* when ``locate`` gives it a page and a box on the right page. The
data has no page numbers, so "right page" means: for a one-page invoice, page 0; for a
multi-page one (QualityHosting: two pages), a page on which the value is printed, i.e. where
``locate(..., pages=[p])`` (which prefers page p) puts it; a value printed on several pages
may sit on any of them. Values the invoice does not print at all (invoice2data templates add
constants such as a fixed ``desc``, country codes for printed country names, or Odoo test
references) are listed in ``NOT_PRINTED`` after checking each PDF's text by eye, and left out
of the share; they are still reported, since ``locate`` must call them "model" and not invent
a box. As a check on the boxes themselves (not just their existence), list items are counted
whose located fields all lie on one row.

    .venv/bin/python bench/grounding.py [--data DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel, create_model  # noqa: E402

import docintel  # noqa: E402
from docintel.checks.grounding import locate  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "invoices"

SKIP = {"desc"}  # top level: added by invoice2data itself ("Invoice from X"), never printed
# Checked by eye: values these PDFs do not print (a code for a printed name, a template
# constant, or an Odoo test field left out of the report).
NOT_PRINTED: dict[str, set[str]] = {
    "AzureInterior": {
        "country_code",  # "US": the page prints "United States"
        "partner_street2",
        "partner_street3",
        "partner_ref",
        "bic",
        "mandate_id",
        "payment_unece_code",
        "customer_order_number",
        "purchase_order_id",
        "mobile",
        "partner_coc",
        "date_start",
        "date_end",
        "lines[].unece_code",
    },
    "coolblue1": {"country_code"},  # "NL": the page prints "Nederland"
}


class Record(BaseModel):
    """Placeholder base: records are built per file with ``create_model``."""


def _typed(value: Any) -> Any:
    """JSON values as a schema would type them: ISO dates, decimal strings as numbers."""
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        if re.fullmatch(r"-?\d+\.\d+", value):
            return float(value)
    return value


def to_model(name: str, data: dict[str, Any], top: bool = True) -> BaseModel:
    """A dict of JSON values as an instance of a generated pydantic model (nested for lists)."""
    fields: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if top and key in SKIP:
            continue
        if isinstance(raw, list):
            items = [to_model(f"{name}_{key}_{i}", x, top=False) for i, x in enumerate(raw) if x]
            fields[key] = (list[Any], ...)
            values[key] = items
        else:
            v = _typed(raw)
            fields[key] = (type(v), ...)
            values[key] = v
    model = create_model(name, __base__=Record, **fields)
    return model(**values)


def kind(value: Any) -> str:
    if isinstance(value, date):
        return "date"
    if isinstance(value, int | float):
        return "number"
    return "string"


def run(data: Path, verbose: bool) -> None:
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    times: list[float] = []
    warm: list[float] = []
    rows = [0, 0]
    unprinted = 0
    unprinted_model = 0
    for pdf in sorted(data.glob("*.pdf")):
        truth = json.loads(pdf.with_suffix(".json").read_text())
        doc = docintel.load(pdf)
        value = to_model(re.sub(r"\W", "_", pdf.stem), truth[0])
        start = time.perf_counter()
        found = locate(value, doc)  # cold: the page indexes are built here
        times.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        locate(value, doc)
        warm.append((time.perf_counter() - start) * 1000)
        rows_ok, rows_n = _rows(found)
        rows[0] += rows_ok
        rows[1] += rows_n
        per_page = (
            [locate(value, doc, pages=[p]) for p in range(len(doc))] if len(doc) > 1 else None
        )
        n = ok = 0
        misses: list[str] = []
        for path, src in found.items():
            field = re.sub(r"\[\d+\]", "[]", path)
            if field in NOT_PRINTED.get(pdf.stem, set()) or path in NOT_PRINTED.get(
                pdf.stem, set()
            ):
                unprinted += 1
                unprinted_model += src.source == "model"
                continue
            right = {0} if per_page is None else _pages_with(path, per_page)
            good = src.bbox is not None and src.page in right
            k = kind(src.value)
            totals[k] += 1
            hits[k] += good
            n += 1
            ok += good
            if not good:
                misses.append(f"{path}={src.value!r}")
            elif verbose:
                words = [
                    w.text
                    for w in doc[src.page].words
                    if src.bbox is not None and src.bbox.contains(w.bbox, 0.5)
                ]
                print(f"    {path}={src.value!r} -> p{src.page} {src.match} {' '.join(words)!r}")
        print(
            f"{pdf.stem:20s} pages={len(doc)} located {ok}/{n} = {ok / max(n, 1):.0%}"
            f"  {times[-1]:.1f} ms ({warm[-1]:.1f} warm), items on one row {rows_ok}/{rows_n}"
        )
        for m in misses:
            print(f"    missed {m}")
    n, ok = sum(totals.values()), sum(hits.values())
    print(f"\noverall located {ok}/{n} = {ok / max(n, 1):.1%}")
    for k in ("string", "number", "date"):
        print(f"  {k:7s} {hits[k]}/{totals[k]} = {hits[k] / max(totals[k], 1):.1%}")
    print(
        f"not printed (left out): {unprinted}, of which reported as model-only: {unprinted_model}"
    )
    print(f"list items whose located fields share a row: {rows[0]}/{rows[1]}")
    print(
        f"ms per document: mean {statistics.mean(times):.1f} cold, "
        f"{statistics.mean(warm):.1f} warm; max {max(times):.1f} cold"
    )


def _rows(found: dict[str, Any]) -> tuple[int, int]:
    """A check on the boxes themselves: a list item whose located fields all lie on its
    row (each box overlaps vertically the band of the item's first located field)."""
    items: dict[str, list[Any]] = {}
    for path, src in found.items():
        m = re.match(r"(.*\[\d+\])\.", path)
        if m and src.bbox is not None:
            items.setdefault(m.group(1), []).append(src)
    ok = n = 0
    for srcs in items.values():
        if len(srcs) < 2:
            continue
        first = srcs[0]
        n += 1
        ok += all(
            s.page == first.page and s.bbox.y0 <= first.bbox.y1 and s.bbox.y1 >= first.bbox.y0
            for s in srcs
        )
    return ok, n


def _pages_with(path: str, per_page: list[dict[str, Any]]) -> set[int]:
    """Pages on which the value is found when that page alone is preferred."""
    return {p for p, found in enumerate(per_page) if found[path].page == p and found[path].bbox}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    run(args.data, args.verbose)
