"""The CPU path's schema-driven filling, on the repository's own invoices and unit cases."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

import docintel
from docintel.engines.cpu import fill, labels_for, parse_value
from docintel.schemas import Invoice


@pytest.fixture(scope="module", params=["invoice-1.pdf", "invoice-2.pdf"])
def filled(request: pytest.FixtureRequest, fixtures: Path, truth: dict) -> tuple[dict, dict]:
    doc = docintel.load(fixtures / request.param)
    return fill(Invoice, doc.pages), truth["files"][request.param]["fields"]


def test_header_fields(filled: tuple[dict, dict]) -> None:
    value, want = filled
    for key in ("invoice_number", "issue_date", "due_date", "currency"):
        assert value[key] == want[key], key
    for key in ("subtotal", "tax", "total", "amount_due"):
        assert value[key] == pytest.approx(want[key]), key
    assert value["tax_rate"] == pytest.approx(want["tax_rate_pct"])
    assert value["purchase_order"] == want["po_number"]


def test_parties(filled: tuple[dict, dict]) -> None:
    value, want = filled
    assert value["vendor"]["name"] == want["vendor_name"]
    assert value["vendor"]["tax_id"] == want["vendor_tax_id"]
    assert value["customer"]["name"] == want["customer_name"]
    assert value["vendor"]["address"]  # the lines under the name
    assert value["customer"]["address"]


def test_line_items(filled: tuple[dict, dict]) -> None:
    value, want = filled
    got = value["line_items"]
    assert [li["description"] for li in got] == [li["description"] for li in want["line_items"]]
    assert [li["quantity"] for li in got] == pytest.approx([li["qty"] for li in want["line_items"]])
    assert [li["amount"] for li in got] == pytest.approx(
        [li["amount"] for li in want["line_items"]]
    )
    assert [li["unit_price"] for li in got] == pytest.approx(
        [li["unit_price"] for li in want["line_items"]]
    )
    assert [li["unit"] for li in got] == [li["unit"] for li in want["line_items"]]
    assert [li["tax_rate"] for li in got] == pytest.approx(
        [li["tax_pct"] for li in want["line_items"]]
    )


def test_filled_value_validates(filled: tuple[dict, dict]) -> None:
    value, _ = filled
    invoice = Invoice.model_validate(dict(value))
    assert invoice.total == pytest.approx(invoice.subtotal + invoice.tax)  # type: ignore[operator]
    assert value.required_missing == []  # type: ignore[attr-defined]


def test_labels_from_the_field_name() -> None:
    labels = labels_for("invoice_number")
    for label in ("invoice number", "invoice no", "invoice #", "invoice"):
        assert label in labels
    assert labels.index("invoice number") < labels.index("invoice")  # specific first


def test_labels_from_aliases_and_description() -> None:
    class M(BaseModel):
        ref: str = Field(json_schema_extra={"labels": ["Our reference", "Ref."]})
        buyer: str = Field(description="Who is billed (buyer, 'Bill to').")
        terms: str = Field(description="Payment terms, e.g. 'Net 30'.")

    assert labels_for("ref", M.model_fields["ref"])[:2] == ["Our reference", "Ref."]
    assert "Bill to" in labels_for("buyer", M.model_fields["buyer"])
    assert "Net 30" not in labels_for("terms", M.model_fields["terms"])  # an example, not a label
    assert "Payment terms" in labels_for("terms", M.model_fields["terms"])


@pytest.mark.parametrize(
    ("words", "iso"),
    [
        (["14", "Mar", "2024"], "2024-03-14"),
        (["May", "2,", "2024"], "2024-05-02"),
        (["2024-03-14"], "2024-03-14"),
        (["14.03.2024"], "2024-03-14"),
        (["March", "14,", "2024"], "2024-03-14"),
        (["7.", "Mai", "2014"], "2014-05-07"),
        (["19", "april", "2014"], "2014-04-19"),
        (["3", "mars", "2024"], "2024-03-03"),
        (["August", "3", ",", "2014"], "2014-08-03"),
        (["02/05/2024"], "2024-05-02"),  # day first by default
    ],
)
def test_dates_to_iso(words: list[str], iso: str) -> None:
    assert parse_value("date", words) == iso


def test_month_first_when_the_document_says_so() -> None:
    assert parse_value("date", ["02/05/2024"], month_first=True) == "2024-02-05"


@pytest.mark.parametrize(
    ("words", "value"),
    [
        (["1,740.61", "EUR"], 1740.61),
        (["$6,031.52"], 6031.52),
        (["€", "717,97"], 717.97),
        (["1.462,70"], 1462.70),
        (["VAT", "19%", "277.91"], 277.91),  # the percentage is not the amount
        (["on", "August", "3", ",", "2014", "$4.11"], 4.11),  # nor is the date
    ],
)
def test_amounts(words: list[str], value: float) -> None:
    assert parse_value("number", words) == pytest.approx(value)


def test_percent_and_currency() -> None:
    assert parse_value("percent", ["(8.5%)"]) == pytest.approx(8.5)
    assert parse_value("percent", ["19%"]) == pytest.approx(19)
    assert parse_value("currency", ["EUR."]) == "EUR"
    assert parse_value("currency", ["€"]) == "EUR"
    assert parse_value("currency", ["$4.11"]) == "USD"
    assert parse_value("currency", ["£"]) == "GBP"
    assert parse_value("currency", ["₹"]) == "INR"


def _pdf(lines: list[tuple[float, float, str, float]]) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for x, y, text, size in lines:
        page.insert_text((x, y), text, fontsize=size)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_custom_schema_with_aliases_and_patterns() -> None:
    class Order(BaseModel):
        order_ref: str = Field(json_schema_extra={"labels": ["Auftrag"]})
        postcode: str | None = Field(None, pattern=r"^[0-9]{5}$")
        shipped_on: str | None = Field(None, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        weight: float | None = None

    data = _pdf(
        [
            (50, 60, "Acme Parts AG", 18),
            (50, 120, "Auftrag: A-7781", 10),
            (50, 140, "Postcode: Berlin", 10),  # not 5 digits: rejected
            (300, 140, "Shipped on", 10),
            (300, 154, "3. Juli 2023", 10),  # below its label
            (50, 160, "Weight 1.250,5 kg", 10),
        ]
    )
    value = fill(Order, docintel.load(data).pages)
    assert value["order_ref"] == "A-7781"
    assert value["postcode"] is None
    assert value["shipped_on"] == "2023-07-03"
    assert value["weight"] == pytest.approx(1250.5)
    assert "postcode" in value.missing  # type: ignore[attr-defined]
    assert value.required_missing == []  # type: ignore[attr-defined]


def test_totals_take_the_bottom_most_total() -> None:
    class Sums(BaseModel):
        subtotal: float | None = None
        total: float

    data = _pdf(
        [
            (50, 60, "Total items 3", 10),
            (350, 400, "Subtotal", 10),
            (480, 400, "100.00", 10),
            (350, 420, "Total", 10),
            (480, 420, "119.00", 10),
        ]
    )
    value = fill(Sums, docintel.load(data).pages)
    assert value == {"subtotal": 100.0, "total": 119.0}


def test_no_words_leaves_everything_missing() -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buf, format="PNG")
    doc = docintel.load(buf.getvalue())
    value = fill(Invoice, doc.pages)
    assert value["total"] is None
    assert "total" in value.required_missing  # type: ignore[attr-defined]
