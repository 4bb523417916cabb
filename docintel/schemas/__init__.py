"""The ready-made schemas: ``from docintel.schemas import Invoice``.

Their source lives in the repository's top-level ``schemas/`` folder; a wheel build copies it
here, and a checkout (or editable install) finds it through ``__path__``. ``CATALOG`` maps the
names used on the command line and in the HTTP API to the classes.
"""

from __future__ import annotations

from pathlib import Path

_source = Path(__file__).resolve().parents[2] / "schemas"
if _source.is_dir() and str(_source) not in __path__:
    __path__.append(str(_source))

from docintel.schemas.diagram import Diagram  # noqa: E402
from docintel.schemas.forms import FormFields  # noqa: E402
from docintel.schemas.formula import Formula  # noqa: E402
from docintel.schemas.invoice import Invoice, InvoiceLine, Party  # noqa: E402
from docintel.schemas.note import HandwrittenNote  # noqa: E402
from docintel.schemas.receipt import Receipt, ReceiptItem  # noqa: E402
from docintel.schemas.table import Cell, Table  # noqa: E402
from docintel.schemas.vision import ImageCaption, ObjectCount  # noqa: E402

CATALOG = {
    "invoice": Invoice,
    "receipt": Receipt,
    "table": Table,
    "formula": Formula,
    "form": FormFields,
    "handwritten_note": HandwrittenNote,
    "diagram": Diagram,
    "image_caption": ImageCaption,
    "object_count": ObjectCount,
}

__all__ = [
    "CATALOG",
    "Cell",
    "Diagram",
    "FormFields",
    "Formula",
    "HandwrittenNote",
    "ImageCaption",
    "Invoice",
    "InvoiceLine",
    "ObjectCount",
    "Party",
    "Receipt",
    "ReceiptItem",
    "Table",
]
