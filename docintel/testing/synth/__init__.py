"""Synthetic invoices and receipts with their truth: training data for the CPU scorer, and
test documents for each kind of layout the CPU path must read.

``invoice(seed, ...)`` and ``receipt(seed, ...)`` typeset one document as a born-digital PDF
(bytes) and return it with the values it prints (``Doc.truth``, in the catalog ``Invoice`` /
``Receipt`` shape). Everything is drawn from seeded random choices: layouts (label beside or
above its value, several pairs on one line, meta tables, right-aligned totals, tax-summary
tables, footers), languages (labels in English, German, French, Dutch, Spanish, Italian,
Portuguese, Swedish, Polish, Malay), number formats (1,234.56 / 1.234,56 / 1'234.56 /
1 234,56), date formats, currencies, company names with the legal forms of many countries,
and OCR-like noise for receipts (capitals, glued labels, a bare date beside a time).
Nothing is copied from any real document.

``LAYOUTS`` and ``LANGUAGES`` can be held out: the training tool trains on some and measures
on the others.
"""

from __future__ import annotations

import random

from docintel.testing.synth.invoices import invoice
from docintel.testing.synth.receipts import receipt
from docintel.testing.synth.tables import INVOICE_LAYOUTS, LANGUAGES, RECEIPT_LAYOUTS
from docintel.testing.synth.values import Doc

__all__ = [
    "INVOICE_LAYOUTS",
    "LANGUAGES",
    "RECEIPT_LAYOUTS",
    "Doc",
    "documents",
    "invoice",
    "receipt",
]


def documents(
    n: int,
    *,
    seed: int = 0,
    kinds: tuple[str, ...] = ("invoice", "receipt"),
    layouts: tuple[str, ...] | None = None,
    languages: tuple[str, ...] | None = None,
) -> list[Doc]:
    """``n`` documents alternating over ``kinds``, layouts and languages drawn from the lists."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        pool = INVOICE_LAYOUTS if kind == "invoice" else RECEIPT_LAYOUTS
        lay = rng.choice([x for x in pool if layouts is None or x in layouts] or list(pool))
        lang = rng.choice(list(languages or LANGUAGES))
        make = invoice if kind == "invoice" else receipt
        out.append(make(seed * 100003 + i, lay, lang))
    return out
