"""The CPU path (no model) on real invoices: per-field accuracy against invoice2data's values.

Runs ``docintel.jobs.evaluate`` with the CPU engine over the born-digital PDFs of
``../shared/data/invoices/`` (invoice2data's test invoices with their expected JSON: invoice
number, date, amount, currency, issuer), mapped onto the catalog ``Invoice`` with
``INVOICE2DATA_MAP``. No per-vendor configuration: the schema's labels alone drive it.

    .venv/bin/python bench/cpu_eval.py [--all] [--json]

``--all`` also takes the PNG renderings beside some PDFs (they need OCR words).
``--scans`` renders every PDF into an image-only scan (150 dpi, noise, +-3 degrees of skew) in a
temporary folder and evaluates those through OCR instead.
Target: at least 80% of the fields right on the born-digital invoices.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from docintel.jobs.evaluate import DOCUMENT_SUFFIXES, INVOICE2DATA_MAP, evaluate
from docintel.schemas import Invoice

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "invoices"
TARGET = 0.80


def scans(data: Path, out: Path) -> Path:
    """Image-only PDFs made from ``data``'s PDFs: rendered, noisy, skewed by up to 3 degrees."""
    import importlib.util
    import io

    import pymupdf

    spec = importlib.util.spec_from_file_location(
        "gen", Path(__file__).resolve().parents[1] / "fixtures" / "generate.py"
    )
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for i, pdf_path in enumerate(sorted(data.glob("*.pdf"))):
        angle = (-3.0, 2.0, -1.5, 3.0, -2.5, 1.0)[i % 6]
        scan = pymupdf.open()
        with pymupdf.open(pdf_path) as pdf:
            for page_no, page in enumerate(pdf):
                image = gen.render_gray(pdf_path, page_no=page_no, dpi=150)
                image = gen.rotate_page(image, angle, noise=0.03, seed=i)
                buf = io.BytesIO()
                image.save(buf, format="JPEG", quality=75)
                target = scan.new_page(width=page.rect.width, height=page.rect.height)
                target.insert_image(target.rect, stream=buf.getvalue(), keep_proportion=True)
        scan.save(out / pdf_path.name)
        (out / f"{pdf_path.stem}.json").write_bytes((data / f"{pdf_path.stem}.json").read_bytes())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="images too, not only PDFs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of documents + JSON")
    parser.add_argument("--scans", action="store_true", help="rendered noisy skewed scans, OCR")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    suffixes = DOCUMENT_SUFFIXES if args.all else (".pdf",)
    with tempfile.TemporaryDirectory() as tmp:
        folder = scans(args.data, Path(tmp)) if args.scans else args.data
        report = evaluate(
            folder, Invoice, engine="cpu", field_map=INVOICE2DATA_MAP, suffixes=suffixes
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.render())
        verdict = "meets" if report.accuracy >= TARGET else "misses"
        print(f"\n  overall {report.accuracy:.1%}: {verdict} the {TARGET:.0%} target")
    return 0 if report.accuracy >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
