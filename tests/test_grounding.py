"""Grounding: normalised matching of extracted values against the page's words, provenance on
the fixture invoices, Ground markers, the retry check and the confidence formula."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

import docintel
from docintel.checks.grounding import (
    FieldSource,
    Ground,
    confidence,
    grounding_check,
    locate,
    must_ground,
    parse_amount,
    parse_dates,
)
from docintel.document import Document, DocumentKind, Page, PageKind, Word
from docintel.geometry import BBox
from docintel.pages.stages import STAGES
from docintel.settings import get_settings

# ---- a synthetic document: lines of words with plausible boxes --------------------------------


def make_doc(*pages: list[str]) -> Document:
    """A document whose pages have the given text lines (words split on spaces, ``|``
    starts a new block on the same row, like a label and its value)."""
    doc = Document(b"", kind=DocumentKind.PDF_DIGITAL, sha256="0" * 64, name="synthetic",
                   settings=get_settings(), stages=STAGES)  # fmt: skip
    for index, lines in enumerate(pages):
        words: list[Word] = []
        for row, line in enumerate(lines):
            x = 50.0
            for block, part in enumerate(line.split("|")):
                for token in part.split():
                    w = 5.0 * len(token)
                    box = BBox(x, 50.0 + 14 * row, x + w, 60.0 + 14 * row)
                    words.append(Word(token, box, block=100 * row + block, line=0))
                    x += w + 3.0
                x += 60.0
        doc.pages.append(Page(doc, index, PageKind.DIGITAL, 595.0, 842.0, words=words))
    return doc


def one(value: Any, *lines: str) -> FieldSource:
    """Locate a single value on a one-page document made of ``lines``."""

    class M(BaseModel):
        v: Any

    return locate(M(v=value), make_doc(list(lines)))["v"]


def text_of(doc: Document, src: FieldSource) -> str:
    assert src.bbox is not None and src.page is not None
    return " ".join(w.text for w in doc[src.page].words if src.bbox.contains(w.bbox, 0.5))


# ---- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("1,740.61", 1740.61),
        ("1.740,61", 1740.61),
        ("1 740,61", 1740.61),
        ("1'740.61", 1740.61),
        ("1’740.61", 1740.61),
        ("1740.61", 1740.61),
        ("$1,740.61", 1740.61),
        ("€1.740,61", 1740.61),
        ("£12.50", 12.5),
        ("1,740.61 EUR", 1740.61),
        ("USD 1,740.61", 1740.61),
        ("19%", 19.0),
        ("8.5%", 8.5),
        ("(12.50)", -12.5),
        ("12.50-", -12.5),
        ("-12.50", -12.5),
        ("-$9.32", -9.32),
        ("1.740.000", 1740000.0),
        ("12", 12.0),
        ("12.", 12.0),
        ("0,75 €", 0.75),
        ("-RM0.02", -0.02),
        ("100.00℃", 100.0),  # a symbol OCR saw in a speck after the amount
    ],
)
def test_parse_amount(printed: str, value: float) -> None:
    assert any(abs(v - value) < 0.005 for v in parse_amount(printed))


def test_parse_amount_ambiguous_and_invalid() -> None:
    assert set(parse_amount("1,740")) == {1.74, 1740.0}  # decimal comma or thousands
    assert parse_amount("01.05.14") == ()  # a date, not a number
    assert parse_amount("INV-10582") == ()
    assert parse_amount("1.740,61.5") == ()


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        (["Total 1,740.61 EUR"], 1740.61),
        (["Total 1.740,61 €"], 1740.61),
        (["Total 1 740,61"], 1740.61),  # thousands split into two words
        (["Total 1'740.61"], 1740.61),
        (["Total $ 42.00"], 42),
        (["Amount due USD 6,031.52"], 6031.52),
        (["Credit (12.50)"], -12.5),
        (["Credit 12.50-"], -12.5),
        (["VAT 19%"], 19),
        (["Qty 12.00"], 12),  # an integer matches "12.00"
        (["SIREN 530 848 134"], 530848134),
    ],
)
def test_numbers_match_printed_amounts(printed: list[str], value: float) -> None:
    src = one(value, *printed)
    assert src.match in ("exact", "normalized") and src.source == "text_layer"
    assert src.page == 0 and src.bbox is not None and src.confidence == 1.0


def test_numbers_compare_numerically_not_textually() -> None:
    assert one(1740.62, "Total 1,740.61").match == "none"
    assert one(1740.614, "Total 1,740.61").match != "none"  # |diff| < 0.005
    assert one(12, "Qty 12").match == "exact"
    assert one(-9.32, "Discount 9.32").match == "fuzzy"  # an unsigned credit


def test_split_amount_box_covers_both_words() -> None:
    doc = make_doc(["Total 1 740,61 EUR"])

    class M(BaseModel):
        total: float

    src = locate(M(total=1740.61), doc)["total"]
    assert text_of(doc, src) == "1 740,61"  # the shortest span: currency left out


# ---- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "printed",
    [
        "14 Mar 2024",
        "14 March 2024",
        "March 14, 2024",
        "Mar 14 , 2024",
        "14-Mar-2024",
        "2024-03-14",
        "14.03.2024",
        "14/03/2024",
        "03/14/2024",
        "14.03.24",
        "14th March 2024",
        "14. März 2024",
        "14 mars 2024",
        "14 maart 2024",
    ],
)
def test_dates_in_each_format(printed: str) -> None:
    assert date(2024, 3, 14) in parse_dates(printed, whole=len(printed.split()) > 1)
    for value in (date(2024, 3, 14), "2024-03-14"):
        src = one(value, f"Issue date: {printed}")
        assert src.match in ("exact", "normalized"), printed
        assert src.bbox is not None


def test_ambiguous_numeric_dates_read_both_ways() -> None:
    assert set(parse_dates("02/05/2024")) == {date(2024, 5, 2), date(2024, 2, 5)}
    assert one(date(2024, 5, 2), "Date 02/05/2024").match == "normalized"
    assert one(date(2024, 2, 5), "Date 02/05/2024").match == "normalized"
    assert one(date(2024, 5, 3), "Date 02/05/2024").match == "none"


def test_date_split_over_words_gets_one_box() -> None:
    doc = make_doc(["Invoice Date:|May 2, 2024"])

    class M(BaseModel):
        issued: date

    src = locate(M(issued=date(2024, 5, 2)), doc)["issued"]
    assert text_of(doc, src) == "May 2, 2024"


def test_iso_date_string_printed_as_iso_is_exact() -> None:
    assert one("2024-03-14", "Date 2024-03-14").match == "exact"


# ---- strings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "printed", "match"),
    [
        ("Atelier Brun SARL", "Atelier Brun SARL", "exact"),
        ("atelier brun sarl", "ATELIER BRUN SARL", "normalized"),
        ("Atelier  Brun\nSARL", "Atelier Brun SARL", "exact"),
        ("Atelier Brun SARL", "BILL TO: Atelier Brun SARL,", "exact"),
        ("NW-2024-00417", "Invoice no.: NW-2024-00417", "exact"),
        ("NW-2024-00417", "Invoice no.:NW-2024-00417", "exact"),  # glued to its label
        ("21.85", "Grand TotalRM21.85", "normalized"),  # OCR glued the amount to its label
        ("Jln Besar", "J1n Besar", "exact"),  # OCR's "1" for "l", read as printed
        ("INV-10582", "Invoice INV- 10582", "exact"),  # a token split by the PDF
        ("Grundgebühr", "Grundgebuhr pro Einheit", "normalized"),
        ("Harbor & Pine Co", "Harbor & Pine Co.", "normalized"),
    ],
)
def test_strings_are_case_space_and_punctuation_tolerant(
    value: str, printed: str, match: str
) -> None:
    src = one(value, "Header line", printed)
    assert src.match == match
    assert src.confidence == 1.0


def test_short_string_inside_a_word_is_not_a_match() -> None:
    assert one("NL", "www.tabletcenter.nl").match == "none"
    assert one("12", "Invoice 2012").match == "none"


def test_multi_line_value_unions_its_lines() -> None:
    doc = make_doc(["BILL TO", "Atelier Brun SARL", "14 rue des Tanneurs", "69002 Lyon", "Total 5"])

    class M(BaseModel):
        address: str

    src = locate(M(address="Atelier Brun SARL, 14 rue des Tanneurs, 69002 Lyon"), doc)["address"]
    assert src.match == "normalized"
    assert text_of(doc, src) == "Atelier Brun SARL 14 rue des Tanneurs 69002 Lyon"


def test_fuzzy_match_for_a_misread_value() -> None:
    src = one("INV-1O582", "Invoice no. INV-10582")
    assert src.match == "fuzzy" and src.confidence == pytest.approx(0.7)
    src = one("Nordlicht Werkzeug GmbH", "Nordlicht Werkzeuge GmbH")
    assert src.match == "fuzzy"


def test_model_only_value() -> None:
    src = one("ACME Corporation", "Nordlicht Werkzeuge GmbH", "Total 12.00")
    assert src.source == "model" and src.match == "none" and not src.found
    assert src.page is None and src.bbox is None
    assert src.confidence == pytest.approx(0.3)


def test_currency_code_grounded_by_its_sign() -> None:
    assert one("EUR", "Total 56,02 €").match == "normalized"
    assert one("USD", "Total $ 279.84").match == "normalized"
    assert one("$", "Total USD 279.84").match == "normalized"
    assert one("GBP", "Total $ 279.84").match == "none"


# ---- choosing among occurrences ---------------------------------------------------------------


def test_repeated_value_prefers_first_in_reading_order_and_asked_pages() -> None:
    doc = make_doc(["Total 1,740.61", "Amount due 1,740.61"], ["Carried over 1,740.61"])

    class M(BaseModel):
        total: float

    assert locate(M(total=1740.61), doc)["total"].bbox == doc[0].words[1].bbox
    src = locate(M(total=1740.61), doc, pages=[1])["total"]
    assert src.page == 1


def test_list_items_take_the_occurrence_on_their_row() -> None:
    doc = make_doc(["Description|Qty|Amount", "Widget A|1|10.00", "Widget B|2|10.00",
                    "Widget C|1|5.00"])  # fmt: skip

    class Item(BaseModel):
        name: str
        qty: int
        amount: float

    class M(BaseModel):
        items: list[Item]

    value = M(
        items=[
            Item(name="Widget A", qty=1, amount=10),
            Item(name="Widget B", qty=2, amount=10),
            Item(name="Widget C", qty=1, amount=5),
        ]
    )
    found = locate(value, doc)
    for i in range(3):
        row = {round(found[f"items[{i}].{f}"].bbox.y0) for f in ("name", "qty", "amount")}
        assert len(row) == 1, i


def test_ocr_words_are_used_when_there_is_no_text_layer() -> None:
    doc = make_doc([])
    assert one_on(doc, 1740.61).source == "model"  # a scan without OCR: nothing to ground on
    scan = make_doc(["Total 1,740.61 EUR"])[0]
    doc.pages[0].ocr_words = scan.words  # type: ignore[attr-defined]  # the future OCR hook
    src = one_on(doc, 1740.61)
    assert src.source == "ocr" and src.match == "normalized"


def one_on(doc: Document, value: Any) -> FieldSource:
    class M(BaseModel):
        v: Any

    return locate(M(v=value), doc)["v"]


# ---- confidence --------------------------------------------------------------------------------


class Pay(BaseModel):
    total: float
    payee: str


def test_confidence_formula_is_monotone() -> None:
    assert confidence("exact") == 1.0 and confidence("normalized") == 1.0
    assert confidence("fuzzy") == pytest.approx(0.7) and confidence("none") == pytest.approx(0.3)
    grid = [i / 4 for i in range(5)]
    for match in ("exact", "fuzzy", "none"):
        values = [confidence(match, a) for a in grid]  # type: ignore[arg-type]
        assert values == sorted(values)
    for a in grid:
        assert confidence("exact", a) >= confidence("fuzzy", a) >= confidence("none", a)


def test_agreement_across_attempts_raises_confidence() -> None:
    doc = make_doc(["Pay to Bluefin Analytics", "Total 6,031.52"])
    final = Pay(total=6031.52, payee="ACME")
    agree = [Pay(total=6031.52, payee="ACME"), Pay(total=6031.52, payee="ACME")]
    disagree = [Pay(total=6301.52, payee="Bluefin"), Pay(total=6013.52, payee="Bluefin")]
    alone = locate(final, doc)
    with_agree = locate(final, doc, attempts_values=agree)
    with_disagree = locate(final, doc, attempts_values=disagree)
    # Grounded: agreement is neutral alone, disagreement lowers it.
    assert alone["total"].confidence == with_agree["total"].confidence == 1.0
    assert with_disagree["total"].confidence == pytest.approx(1.0 * (0.5 + 0.5 / 3))
    # Model-only: agreement of earlier attempts is the only thing raising it.
    assert with_agree["payee"].confidence > with_disagree["payee"].confidence
    assert with_disagree["payee"].confidence < alone["payee"].confidence
    # Half agree: the share counts the final value itself.
    half = locate(final, doc, attempts_values=[agree[0], disagree[0], disagree[1]])
    assert half["total"].confidence == pytest.approx(0.5 + 0.5 * 0.5)


# ---- Ground markers and the retry check --------------------------------------------------------


class Vendor(BaseModel):
    name: Annotated[str, Ground()]
    tax_id: str | None = None


class Line(BaseModel):
    description: str
    amount: Annotated[float, Ground()]


class Party(BaseModel):
    name: str
    city: str


class Bill(BaseModel):
    invoice_number: Annotated[str, Ground()]
    total: Annotated[float, Ground()]
    notes: str | None = None
    vendor: Vendor
    customer: Annotated[Party, Ground()] | None = None
    items: list[Line] = []
    paid: bool = False


def test_must_ground_lists_marked_paths() -> None:
    assert must_ground(Bill) == [
        "invoice_number",
        "total",
        "vendor.name",
        "customer",
        "items[].amount",
    ]
    assert must_ground(Pay) == []


def test_grounding_check_errors_for_values_not_printed() -> None:
    doc = make_doc(
        ["Bluefin Analytics LLC", "Invoice no.|INV-10582", "Amount|1,740.00", "Total|$6,031.52"]
    )
    check = grounding_check(doc)
    good = Bill(
        invoice_number="INV-10582",
        total=6031.52,
        vendor=Vendor(name="Bluefin Analytics LLC"),
        items=[Line(description="Audit", amount=1740)],
        notes="not printed",
        paid=True,
    )
    assert check(good) == []
    bad = good.model_copy(update={"invoice_number": "INV-1O582", "total": 6013.52})
    errors = check(bad)
    assert errors[0] == (
        "invoice_number 'INV-1O582' was not found on the page; copy it exactly as printed "
        "(the closest printed text is 'INV-10582')"
    )
    assert errors[1].startswith("total 6013.52 was not found on the page")
    assert len(errors) == 2
    other = good.model_copy(update={"items": [Line(description="Audit", amount=999)]})
    assert check(other) == [
        "items[0].amount 999.0 was not found on the page; copy it exactly as printed"
    ]


def test_grounding_check_searches_only_the_requested_pages() -> None:
    doc = make_doc(["Invoice no. INV-10582", "Total 5.00"], ["Other page"])
    bill = Bill(invoice_number="INV-10582", total=5, vendor=Vendor(name="Other page"))
    assert grounding_check(doc)(bill) == []
    assert grounding_check(doc, pages=[0])(bill) == [
        "vendor.name 'Other page' was not found on the page; copy it exactly as printed"
    ]


# ---- the fixture invoices ----------------------------------------------------------------------


class Item(BaseModel):
    description: str
    qty: float
    unit: str
    unit_price: float
    tax_pct: float
    amount: float


class Invoice(BaseModel):
    invoice_number: Annotated[str, Ground()]
    issue_date: date
    due_date: date
    po_number: str
    currency: str
    vendor_name: str
    vendor_tax_id: str
    customer_name: str
    subtotal: float
    tax_rate_pct: float
    tax: float
    total: Annotated[float, Ground()]
    amount_due: float
    payment_terms: str
    line_items: list[Item]


@pytest.mark.parametrize(
    ("name", "printed_total", "printed_number", "printed_issue"),
    [
        ("invoice-1.pdf", "1,740.61", "NW-2024-00417", "14 Mar 2024"),
        ("invoice-2.pdf", "$6,031.52", "INV-10582", "May 2, 2024"),
    ],
)
def test_provenance_on_fixture_invoices(
    fixtures: Path,
    truth: dict,
    name: str,
    printed_total: str,
    printed_number: str,
    printed_issue: str,
) -> None:
    doc = docintel.load(fixtures / name)
    value = Invoice(**truth["files"][name]["fields"])
    found = locate(value, doc, pages=[0])
    assert all(src.found and src.source == "text_layer" for src in found.values()), [
        p for p, s in found.items() if not s.found
    ]
    assert all(src.page == 0 and src.confidence == 1.0 for src in found.values())
    total = found["total"]
    assert total.bbox is not None
    assert any(w.text == printed_total and total.bbox.iou(w.bbox) > 0.5 for w in doc[0].words)
    assert text_of(doc, found["invoice_number"]) == printed_number
    assert text_of(doc, found["issue_date"]) == printed_issue
    # Every field of a line item sits on that item's row.
    for i in range(len(value.line_items)):
        boxes = [found[f"line_items[{i}].{f}"].bbox for f in Item.model_fields]
        centre = boxes[0].center[1]  # type: ignore[union-attr]
        assert all(b is not None and b.y0 <= centre <= b.y1 for b in boxes), i
    # The retry check: the right number passes, a misread one is sent back.
    check = grounding_check(doc, pages=[0])
    assert check(value) == []
    wrong = value.model_copy(update={"invoice_number": printed_number.replace("0", "O", 1)})
    (error,) = check(wrong)
    assert error.startswith("invoice_number ") and "copy it exactly as printed" in error
    assert repr(printed_number) in error


def test_invoice_locate_is_fast(fixtures: Path, truth: dict) -> None:
    doc = docintel.load(fixtures / "invoice-1.pdf")
    value = Invoice(**truth["files"]["invoice-1.pdf"]["fields"])
    start = time.perf_counter()
    locate(value, doc)  # cold: builds the page index
    cold = time.perf_counter() - start
    start = time.perf_counter()
    locate(value, doc)
    warm = time.perf_counter() - start
    # ~176 words, 50 leaves: ~10 ms cold and ~4 ms warm here; generous bounds for slow CI.
    assert cold < 0.2 and warm < 0.1
