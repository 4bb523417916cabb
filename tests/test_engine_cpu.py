"""The CPU engine through the public API, what it declines, and evaluate() on the fixtures."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

import docintel
from docintel.engines import Engine, GenerationRequest
from docintel.engines.base import Capabilities
from docintel.engines.cpu import UNSUPPORTED, CPUEngine, supports
from docintel.jobs.evaluate import INVOICE2DATA_MAP, evaluate, same_value
from docintel.schemas import Diagram, Formula, HandwrittenNote, ImageCaption, Invoice, ObjectCount


def test_is_an_engine() -> None:
    engine = CPUEngine()
    assert isinstance(engine, Engine)
    assert (engine.name, engine.model) == ("cpu", "text-layer+ocr")
    # deterministic, and it reads the retry loop's feedback (next-best candidates)
    assert engine.capabilities == Capabilities(deterministic=True, thread_safe=True, feedback=True)


def test_extract_invoice(fixtures: Path, truth: dict) -> None:
    result = docintel.extract(fixtures / "invoice-1.pdf", Invoice, engine=CPUEngine())
    want = truth["files"]["invoice-1.pdf"]["fields"]
    assert result.ok, result.errors
    assert result.engine == "cpu"
    assert result.value is not None
    assert result.value.total == pytest.approx(want["total"])
    assert result.value.invoice_number == want["invoice_number"]
    assert len(result.attempts) == 1  # deterministic: asked once
    source = result.provenance["total"]
    assert source.found and source.page == 0 and source.source == "text_layer"
    assert source.bbox is not None and source.bbox.y0 > 400  # the totals block, not a line
    assert result.provenance["line_items[0].amount"].found
    assert not result.ungrounded


def test_extract_many_batches(fixtures: Path, truth: dict) -> None:
    paths = [fixtures / "invoice-1.pdf", fixtures / "invoice-2.pdf"]
    results = docintel.extract_many(paths, Invoice, engine=CPUEngine())
    for path, result in zip(paths, results, strict=True):
        assert result.ok, result.errors
        assert result.value.total == pytest.approx(truth["files"][path.name]["fields"]["total"])


def test_formula_needs_a_vision_model(fixtures: Path) -> None:
    result = docintel.extract(
        fixtures / "formulas.pdf", Formula, engine=CPUEngine(), raise_on_failure=False
    )
    assert not result.ok
    message = " ".join(result.errors)
    assert "cpu engine cannot transcribe formulas to LaTeX" in message
    assert "needs a vision model" in message
    assert "DOCINTEL_SERVER_URL" in message and "engine='vllm'" in message


@pytest.mark.parametrize("schema", [Formula, Diagram, ImageCaption, ObjectCount])
def test_declines_what_needs_vision(schema: type) -> None:
    assert schema.__name__ in UNSUPPORTED
    reason = supports(schema)
    assert reason is not None and "vision model" in reason
    out = CPUEngine().generate([GenerationRequest("", schema)])[0]
    assert out.finish_reason == "error" and out.error == reason


def _blank_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buf, format="PNG")
    return buf.getvalue()


def test_handwriting_needs_words(fixtures: Path) -> None:
    scan = docintel.load(_blank_png())  # no text layer, and nothing for OCR to read
    digital = docintel.load(fixtures / "invoice-1.pdf")
    assert supports(HandwrittenNote, scan.pages) is not None
    assert supports(HandwrittenNote, digital.pages) is None
    out = CPUEngine().generate([GenerationRequest("", HandwrittenNote, pages=digital.pages)])[0]
    assert out.finish_reason == "stop"
    assert "Nordlicht" in json.loads(out.text)["lines"][0]


def test_request_without_pages_is_an_error() -> None:
    (out,) = CPUEngine().generate([GenerationRequest("", Invoice)])
    assert out.finish_reason == "error"
    assert "pages" in (out.error or "")
    assert supports(Invoice) is None


def test_evaluate_on_the_fixtures(tmp_path: Path, fixtures: Path, truth: dict) -> None:
    for name in ("invoice-1.pdf", "invoice-2.pdf"):
        shutil.copy(fixtures / name, tmp_path / name)
        fields = truth["files"][name]["fields"]
        expected = {  # invoice2data's keys and formats
            "invoice_number": fields["invoice_number"],
            "date": fields["issue_date"],
            "amount": fields["total"],
            "currency": fields["currency"],
            "issuer": fields["vendor_name"],
        }
        (tmp_path / name).with_suffix(".json").write_text(json.dumps([expected]))
    (tmp_path / "unrelated.pdf").write_bytes(b"no expected json: skipped")
    report = evaluate(tmp_path, Invoice, engine="cpu", field_map=INVOICE2DATA_MAP)
    assert [r.name for r in report.rows] == ["invoice-1.pdf", "invoice-2.pdf"]
    assert report.accuracy == 1.0
    assert set(report.field_accuracy) == set(INVOICE2DATA_MAP)
    assert report.pages == 2 and report.seconds_per_page > 0
    text = report.render()
    assert "issuer (vendor.name)" in text and "100.0%" in text


def test_evaluate_by_schema_paths(tmp_path: Path, fixtures: Path, truth: dict) -> None:
    fields = truth["files"]["invoice-2.pdf"]["fields"]
    shutil.copy(fixtures / "invoice-2.pdf", tmp_path / "a.pdf")
    expected = {
        "invoice_number": fields["invoice_number"],
        "issue_date": "May 2, 2024",  # dates compare by value
        "total": "$6,031.52",  # printed amounts compare by value
        "currency": "$",
        "vendor": {"name": fields["vendor_name"].upper()},
        "line_items": [{"amount": li["amount"]} for li in fields["line_items"]],
        "not_a_field": 1,
    }
    (tmp_path / "a.json").write_text(json.dumps(expected))
    report = evaluate(tmp_path, Invoice)
    assert report.accuracy == 1.0
    assert "line_items[].amount" in report.fields
    assert report.fields["line_items[].amount"] == (5, 5)
    assert "not_a_field" not in report.fields


def test_same_value() -> None:
    assert same_value("str", "#BLR_WFLD2015", "BLR_WFLD2015")
    assert same_value("str", "Coolblue  B.V.", "coolblue b.v.")
    assert not same_value("str", "Flipkart", "WS Retail Services Pvt. Ltd.")
    assert same_value("date", "2014-08-03", "August 3, 2014")
    assert same_value("number", 4.11, 4.115)
    assert not same_value("number", 4.11, 4.13)
    assert same_value("currency", "€", "EUR")
    assert not same_value("number", 1.0, None)
    assert same_value("str", None, None)
