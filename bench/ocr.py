"""Seconds per page of the text-layer path vs the OCR path, and OCR word recall.

Text layer: ``page.words`` on fixtures/invoice-1.pdf and the docling PDFs. OCR: ``page.ocr_words``
(RapidOCR by default) on fixtures/invoice-1-scan.pdf, fixtures/invoice-2-photo.jpg and the docling
scans. Recall is the share of reference words OCR found (case-insensitive, edge punctuation
stripped, counted with multiplicity) against invoice-1.pdf's / invoice-2.pdf's text layer for the
scan and the photo, and against the docling scans' ground-truth Markdown. Shared data is read in
place. Usage::

    python bench/ocr.py [--engine rapidocr|tesseract] [--longest-side PX]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import docintel  # noqa: E402
from docintel.pages.ocr import ocr_image, ocr_side, ocr_words  # noqa: E402

FIXTURES = ROOT / "fixtures"
DOCLING = ROOT.parent / "shared" / "data" / "docling"


def _norm(words: Iterable[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for w in words:
        t = w.lower().strip(".,:;|()[]\"'")
        if t:
            out[t] += 1
    return out


def _recall(found: Iterable[str], reference: Iterable[str]) -> float:
    ref, got = _norm(reference), _norm(found)
    return sum((ref & got).values()) / max(1, sum(ref.values()))


def _text_layer(paths: list[Path]) -> list[tuple[str, int, float, int]]:
    """Load (pymupdf opens the PDF and reads every page's words) and read ``page.words``."""
    docintel.load(paths[0]).close()  # import pymupdf outside the timings
    rows = []
    for path in paths:
        t = time.perf_counter()
        with docintel.load(path) as doc:
            n = sum(len(p.words) for p in doc.pages)
            pages = len(doc)
        dt = time.perf_counter() - t
        rows.append((path.name, pages, dt / max(1, pages), n))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="rapidocr", choices=["rapidocr", "tesseract"])
    ap.add_argument(
        "--longest-side", type=int, default=None, help="px (default: ocr_side, the scan's own)"
    )
    args = ap.parse_args()

    digital = [FIXTURES / "invoice-1.pdf", *sorted((DOCLING / "pdf").glob("*.pdf"))]
    print(f"{'text layer':<40} {'pages':>5} {'ms/page':>9} {'words':>6}")
    for name, pages, spp, n in _text_layer(digital):
        print(f"{name:<40} {pages:>5} {spp * 1000:>9.2f} {n:>6}")

    with docintel.load(FIXTURES / "invoice-1.pdf") as doc:
        invoice_1 = [w.text for w in doc[0].words]
    with docintel.load(FIXTURES / "invoice-2.pdf") as doc:
        invoice_2 = [w.text for w in doc[0].words]
    truth_md = DOCLING / "ocr" / "groundtruth"
    scans: list[tuple[Path, list[str] | None]] = [
        (FIXTURES / "invoice-1-scan.pdf", invoice_1),
        (FIXTURES / "invoice-2-photo.jpg", invoice_2),
    ]
    for path in sorted((DOCLING / "ocr").glob("*.pdf")):
        md = truth_md / f"{path.stem}.tesseract.full_page.md"
        scans.append((path, md.read_text().split() if md.exists() else None))

    t = time.perf_counter()
    ocr_words(docintel.load(FIXTURES / "invoice-2-photo.jpg")[0], engine=args.engine)  # warm up
    print(f"\nengine {args.engine}: first call (load + warm-up) {time.perf_counter() - t:.1f} s")
    print(f"{'OCR':<40} {'prep s':>7} {'OCR s':>7} {'words':>6} {'recall':>7}")
    total = 0.0
    for path, reference in scans:
        with docintel.load(path) as doc:
            page = doc[0]
            t = time.perf_counter()
            side = args.longest_side or ocr_side(page)
            ocr_image(page, side, args.engine)  # orientation, deskew, cleaning: not OCR's cost
            prep = time.perf_counter() - t
            t = time.perf_counter()
            words = ocr_words(page, engine=args.engine, longest_side=side)
            dt = time.perf_counter() - t
        total += dt
        recall = "-" if reference is None else f"{_recall([w.text for w in words], reference):.3f}"
        print(f"{path.name:<40} {prep:>7.2f} {dt:>7.2f} {len(words):>6} {recall:>7}")
    print(f"mean OCR s/page: {total / len(scans):.2f}")


if __name__ == "__main__":
    main()
