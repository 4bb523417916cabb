"""Provenance without a model: where on the page each value of an invoice is printed.

    python examples/grounding.py

Takes invoice-1's true values, validates them as the catalog's Invoice (its semantic checks
run too), then locates every value on the page and prints page, box, match and confidence.
"""

import json
from pathlib import Path

import docintel
from docintel.checks.grounding import locate
from docintel.checks.semantic import semantic_errors
from docintel.schemas import Invoice

root = Path(__file__).parents[1] / "fixtures"
f = json.loads((root / "truth.json").read_text())["files"]["invoice-1.pdf"]["fields"]
invoice = Invoice(
    vendor={"name": f["vendor_name"], "tax_id": f["vendor_tax_id"]},
    customer={"name": f["customer_name"]},
    invoice_number=f["invoice_number"],
    issue_date=f["issue_date"],
    due_date=f["due_date"],
    currency=f["currency"],
    subtotal=f["subtotal"],
    tax=f["tax"],
    tax_rate=f["tax_rate_pct"],
    total=f["total"],
    line_items=[
        {"description": li["description"], "quantity": li["qty"], "unit": li["unit"],
         "unit_price": li["unit_price"], "amount": li["amount"]}
        for li in f["line_items"]
    ],
)  # fmt: skip
print("semantic checks:", semantic_errors(invoice) or "all pass")
doc = docintel.load(root / "invoice-1.pdf")
for path, src in locate(invoice, doc).items():
    box = [round(v) for v in src.bbox.as_tuple()] if src.bbox else None
    print(f"{path:32} page={src.page} {src.source:10} {src.match:10} {src.confidence:.2f} {box}")
