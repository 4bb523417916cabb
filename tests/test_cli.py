"""The command line, run as users run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from docintel.cli import app

runner = CliRunner(env={"COLUMNS": "160"})


def test_inspect_prints_regions_and_writes_overlay(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "overlay.png"
    result = runner.invoke(app, ["inspect", str(fixtures / "invoice-1.pdf"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "pdf_digital" in result.output and "table" in result.output
    with Image.open(out) as image:
        assert max(image.size) == 1400


def test_inspect_multipage_writes_one_overlay_per_page(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    result = runner.invoke(app, ["inspect", str(fixtures / "mixed.pdf"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o-1.png").is_file() and (tmp_path / "o-2.png").is_file()
    assert "scanned" in result.output


def test_inspect_errors_are_clear(fixtures: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect", str(fixtures / "encrypted.pdf")])
    assert result.exit_code == 2 and "EncryptedDocument" in result.output
    ok = runner.invoke(app, ["inspect", str(fixtures / "encrypted.pdf"), "--password", "secret"])
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(app, ["inspect", str(tmp_path / "nope.pdf")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_pages = runner.invoke(app, ["inspect", str(fixtures / "invoice-1.pdf"), "--pages", "3"])
    assert bad_pages.exit_code != 0


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("docintel")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "inspect" in proc.stdout


def test_import_is_light() -> None:
    code = (
        "import sys, docintel; heavy = {'pymupdf', 'cv2', 'torch', 'vllm', 'httpx', 'numpy'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_extract_on_the_cpu_path_prints_value_and_provenance(fixtures: Path) -> None:
    result = runner.invoke(app, ["extract", str(fixtures / "invoice-1.pdf"), "--schema", "invoice"])
    assert result.exit_code == 0, result.output
    assert "via cpu" in result.output and "no vision model here" in result.output
    assert "NW-2024-00417" in result.output and "provenance" in result.output


def test_extract_prints_a_partial_result(tmp_path: Path) -> None:
    """An invoice with no number anywhere: the human output still shows what was read."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    for x, y, text in [
        (40, 60, "Lindqvist Verktyg AB"),
        (40, 240, "All amounts in EUR"),
        (360, 162, "Date"),
        (460, 162, "03/05/2024"),
        (360, 384, "Total"),
        (500, 384, "100.00"),
    ]:
        page.insert_text((x, y), text, fontsize=9)
    path = tmp_path / "no-number.pdf"
    doc.save(path)
    result = runner.invoke(app, ["extract", str(path), "--schema", "invoice", "--engine", "cpu"])
    assert result.exit_code == 1, result.output
    assert "failed" in result.output and "partial" in result.output
    assert "invoice_number" in result.output.split("partial", 1)[1]  # named as missing
    assert "100.0" in result.output and "provenance" in result.output


def test_eval_prints_per_field_accuracy(fixtures: Path, tmp_path: Path, truth: dict) -> None:
    import json
    import shutil

    fields = truth["files"]["invoice-1.pdf"]["fields"]
    expected = {"invoice_number": fields["invoice_number"], "total": fields["total"]}
    for name, number in (("a", fields["invoice_number"]), ("b", "NOT-ON-THE-PAGE")):
        shutil.copy(fixtures / "invoice-1.pdf", tmp_path / f"{name}.pdf")
        (tmp_path / f"{name}.json").write_text(json.dumps(expected | {"invoice_number": number}))
    result = runner.invoke(app, ["eval", str(tmp_path), "--schema", "invoice", "--engine", "cpu"])
    assert result.exit_code == 0, result.output
    # The same document twice, one expectation wrong: the figures must tell them apart.
    assert re.search(r"invoice_number\s+1/2\s+50\.0%", result.output), result.output
    assert re.search(r"total\s+2/2\s+100\.0%", result.output), result.output
