"""The schema catalog: every semantic check, passing and failing, and the loop fixing a total."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_extract_loop import ScriptedEngine, stop

import docintel
from docintel.checks.semantic import semantic_errors
from docintel.grammar import constraint_schema
from docintel.pipeline.schema_ref import SchemaNotFound, resolve_schema
from docintel.schemas import (
    CATALOG,
    Diagram,
    FormFields,
    Formula,
    HandwrittenNote,
    ImageCaption,
    Invoice,
    ObjectCount,
    Receipt,
    Table,
)

LINES = [
    {"description": "Drill", "quantity": 3, "unit": "pcs", "unit_price": 149.9, "amount": 449.7},
    {"description": "Bits", "quantity": 6, "unit": "set", "unit_price": 24.5, "amount": 147.0},
]
INVOICE = {
    "vendor": {"name": "Nordlicht GmbH", "address": "Hafenstrasse 12, Hamburg", "tax_id": "DE1"},
    "customer": {"name": "Atelier Brun", "address": None, "tax_id": None},
    "invoice_number": "NW-2024-00417",
    "issue_date": "2024-03-14",
    "due_date": "2024-04-13",
    "purchase_order": None,
    "currency": "EUR",
    "subtotal": 596.7,
    "discount": None,
    "tax": 113.37,
    "tax_rate": 19,
    "total": 710.07,
    "amount_due": 710.07,
    "payment_terms": "Net 30",
    "line_items": LINES,
}


def invoice(**changes: object) -> Invoice:
    return Invoice.model_validate({**INVOICE, **changes})


def errors_of(value: object) -> list[str]:
    return semantic_errors(value)  # type: ignore[arg-type]


def test_a_consistent_invoice_passes() -> None:
    assert errors_of(invoice()) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"total": 800.0}, "not the total 800.0"),
        ({"subtotal": 600.0, "total": 713.37}, "line amounts sum to 596.70, not the subtotal 600"),
        ({"tax": 50.0, "total": 646.7}, "tax 50.0 is not 19"),
        ({"due_date": "2024-03-01"}, "is before issue_date"),
        ({"issue_date": "2024-02-30"}, "not a real calendar date"),
        ({"currency": "EUX"}, "not an ISO 4217 code"),
        (
            {"line_items": [{**LINES[0], "amount": 400.0}, LINES[1]]},
            "line_items[0].quantity 3.0 x unit_price 149.9 = 449.70, not amount 400.0",
        ),
    ],
)
def test_invoice_checks_fail_with_actionable_messages(changes: dict, message: str) -> None:
    assert any(message in e for e in errors_of(invoice(**changes))), errors_of(invoice(**changes))


def test_invoice_discount_and_rounding() -> None:
    ok = invoice(discount=10.0, tax=111.47, total=698.17)  # 586.70 * 19% = 111.473
    assert errors_of(ok) == []
    assert errors_of(invoice(total=710.08)) == []  # a cent of rounding is fine


def test_receipt_checks() -> None:
    base = {"merchant": "SHOP", "address": None, "date": "2019-01-05", "time": "13:05",
            "items": [{"description": "tea", "quantity": 1, "amount": 3.5}], "tax": None,
            "total": 3.8, "currency": None}  # fmt: skip
    assert errors_of(Receipt.model_validate(base)) == []
    assert "not a real time" in errors_of(Receipt.model_validate({**base, "time": "25:61"}))[0]
    assert "more than the total" in errors_of(Receipt.model_validate({**base, "total": 2.0}))[0]


def test_table_must_be_rectangular() -> None:
    def cells(*texts: str, span: int = 1) -> list[dict]:
        return [{"text": t, "colspan": span if i == 0 else 1, "rowspan": 1}
                for i, t in enumerate(texts)]  # fmt: skip

    ok = Table(header_rows=[cells("Name", "Qty")], body_rows=[cells("a", "1"), cells("b", "2")])
    assert errors_of(ok) == []
    spanned = Table(header_rows=[cells("Both", span=2)], body_rows=[cells("a", "1")])
    assert errors_of(spanned) == []
    ragged = Table(header_rows=[cells("Name", "Qty")], body_rows=[cells("a", "1", "extra")])
    assert "rectangular" in errors_of(ragged)[0]
    rowspan = Table.model_validate(
        {"body_rows": [[{"text": "x", "rowspan": 2}, {"text": "1"}], [{"text": "2"}]]}
    )
    assert errors_of(rowspan) == []


def test_formula_requires_valid_latex() -> None:
    assert errors_of(Formula(latex=r"\frac{a}{b} + \sqrt{x^2}")) == []
    assert errors_of(Formula(latex=r"\frac{a}{b"))
    assert errors_of(Formula(latex=r"\fracc{a}{b}"))


def test_form_note_diagram_caption_count_checks() -> None:
    form = FormFields(fields=[{"key": "Name", "value": "A"}, {"key": "Name", "value": "B"}])
    assert "repeat" in errors_of(form)[0]
    assert errors_of(FormFields(checkboxes=[{"label": "Paid", "checked": True}])) == []
    assert "blank" in errors_of(HandwrittenNote(lines=["buy milk", "  "]))[0]
    flow = {
        "kind": "flowchart",
        "nodes": [{"id": "a", "label": "Start"}, {"id": "b", "label": "End"}],
    }
    assert (
        errors_of(Diagram.model_validate({**flow, "edges": [{"source": "a", "target": "b"}]})) == []
    )
    bad_edge = Diagram.model_validate({**flow, "edges": [{"source": "a", "target": "z"}]})
    assert "unknown node 'z'" in errors_of(bad_edge)[0]
    assert "needs its data" in errors_of(Diagram(kind="bar_chart"))[0]
    assert errors_of(ImageCaption(caption="A dog on a sofa.")) == []
    count = ObjectCount(label="box", count=2, boxes=[[0, 0, 10, 10]])
    assert "count 2 differs from the 1 boxes" in errors_of(count)[0]
    assert "x0 < x1" in errors_of(ObjectCount(label="box", count=1, boxes=[[5, 0, 1, 10]]))[0]


@pytest.mark.parametrize("schema", list(CATALOG.values()), ids=list(CATALOG))
def test_catalog_schemas_are_grammar_safe(schema: type) -> None:
    """Bounded strings and lists, ASCII digit patterns, no extra keys, no infinities."""

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node and "const" not in node:
                assert "maxLength" in node or "pattern" in node, node
            if node.get("type") == "array":
                assert "maxItems" in node, node
            if "pattern" in node:
                assert "\\d" not in node["pattern"]
            if "properties" in node:
                assert node["additionalProperties"] is False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    # The bounds are the schema author's; the grammar may drop long ones (see grammar.py).
    walk(schema.model_json_schema())
    assert constraint_schema(schema)["additionalProperties"] is False
    text = json.dumps(schema.model_json_schema())
    assert "Infinity" not in text


def test_catalog_names_resolve(tmp_path: Path) -> None:
    assert resolve_schema("invoice") is Invoice and resolve_schema("Receipt") is Receipt
    assert resolve_schema("docintel.schemas:Table") is Table
    with pytest.raises(SchemaNotFound, match="use one of invoice"):
        resolve_schema("passport")


def fixture_invoice(truth: dict) -> dict:
    """invoice-1.pdf's true values in the Invoice schema."""
    f = truth["files"]["invoice-1.pdf"]["fields"]
    lines = [
        {"description": li["description"], "quantity": li["qty"], "unit": li["unit"],
         "unit_price": li["unit_price"], "tax_rate": li["tax_pct"], "amount": li["amount"]}
        for li in f["line_items"]
    ]  # fmt: skip
    return {
        "vendor": {"name": f["vendor_name"], "address": None, "tax_id": f["vendor_tax_id"]},
        "customer": {"name": f["customer_name"], "address": None, "tax_id": None},
        "invoice_number": f["invoice_number"], "issue_date": f["issue_date"],
        "due_date": f["due_date"], "purchase_order": f["po_number"], "currency": f["currency"],
        "subtotal": f["subtotal"], "discount": None, "tax": f["tax"],
        "tax_rate": f["tax_rate_pct"], "total": f["total"], "amount_due": f["amount_due"],
        "payment_terms": None, "line_items": lines,
    }  # fmt: skip


def test_wrong_total_is_caught_fed_back_and_corrected(fixtures: Path, truth: dict) -> None:
    right = fixture_invoice(truth)
    wrong = {**right, "total": 1800.0}
    engine = ScriptedEngine(lambda r, n: stop(json.dumps(wrong if n == 1 else right)))
    result = docintel.extract(fixtures / "invoice-1.pdf", Invoice, engine=engine)
    assert result.ok and result.value.total == 1740.61
    assert len(result.attempts) == 2
    assert any("not the total 1800.0" in e for e in result.attempts[0].errors)
    assert "not the total 1800.0" in engine.batches[1][0].prompt
    # grounding: the wrong total is also not printed anywhere on the page
    assert any("total 1800.0 was not found" in e for e in result.attempts[0].errors)
    total = result.provenance["total"]
    assert total.page == 0 and total.source == "text_layer" and total.bbox is not None
    assert result.provenance["invoice_number"].match in ("exact", "normalized")
    assert result.to_dict()["provenance"]["total"]["page"] == 0


def test_wrong_invoice_number_is_not_grounded(fixtures: Path, truth: dict) -> None:
    right = fixture_invoice(truth)
    misread = {**right, "invoice_number": "NW-2024-0O417"}
    engine = ScriptedEngine(lambda r, n: stop(json.dumps(misread if n == 1 else right)))
    result = docintel.extract(fixtures / "invoice-1.pdf", Invoice, engine=engine)
    assert result.ok and len(result.attempts) == 2
    assert "copy it exactly as printed" in engine.batches[1][0].prompt


def test_scan_is_grounded_through_ocr(fixtures: Path, truth: dict) -> None:
    pytest.importorskip("rapidocr")
    right = fixture_invoice(truth)
    engine = ScriptedEngine(lambda r, n: stop(json.dumps(right)))
    result = docintel.extract(fixtures / "invoice-1-scan.pdf", Invoice, engine=engine)
    assert result.ok and len(result.attempts) == 1
    total = result.provenance["total"]
    assert total.source == "ocr" and total.page == 0 and total.bbox is not None


def test_page_without_any_words_is_flagged_not_rejected(truth: dict) -> None:
    from PIL import Image

    blank = Image.new("RGB", (600, 800), "white")  # an image page: OCR finds nothing
    engine = ScriptedEngine(lambda r, n: stop(json.dumps(fixture_invoice(truth))))
    result = docintel.extract(blank, Invoice, engine=engine)
    assert result.ok and "total" in result.ungrounded
    assert result.provenance["total"].source == "model"


def test_catalog_imports_only_the_bottom_layer() -> None:
    """The layer contract ignores the catalog's imports (grimp cannot follow them): hold them
    here to the bottom layer (the semantic checks, text values and LaTeX)."""
    import ast

    root = Path(__file__).parents[1] / "schemas"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("docintel"):
                allowed = (
                    "docintel.checks.semantic",
                    "docintel.text.values",
                    "docintel.checks.latex",
                )
                assert node.module in allowed, (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("docintel") for a in node.names), path.name
