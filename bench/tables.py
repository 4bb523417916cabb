"""Table region detection on ICDAR-2013 PDFs: recall, precision and speed of ``detect_regions``.

Ground truth is ``<name>-reg.xml`` next to each PDF: ``<table><region page="N"><bounding-box
x1 y1 x2 y2/>`` in PDF points with the origin at the bottom-left (y up), pages 1-based.
A prediction matches a truth box one-to-one at IoU >= 0.5, greedily by IoU.

    .venv/bin/python bench/tables.py [--data ../shared/data/tables] [--iou 0.5]
"""

from __future__ import annotations

import argparse
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import docintel  # noqa: E402
from docintel import BBox, PageKind, RegionKind  # noqa: E402
from docintel.pages.layout import detect_regions  # noqa: E402


def truth(xml: Path, heights: list[float]) -> dict[int, list[BBox]]:
    """Ground-truth table boxes per 0-based page, converted to top-left origin."""
    out: dict[int, list[BBox]] = {}
    for region in ET.parse(xml).getroot().iter("region"):
        page = int(region.get("page", "1")) - 1
        bb = region.find("bounding-box")
        if bb is None:
            continue
        x1, y1, x2, y2 = (float(bb.get(k, "0")) for k in ("x1", "y1", "x2", "y2"))
        h = heights[page]
        out.setdefault(page, []).append(BBox.of((x1, h - y2, x2, h - y1)))
    return out


def match(pred: list[BBox], gold: list[BBox], iou: float) -> int:
    """True positives of a greedy one-to-one matching by IoU."""
    pairs = sorted(
        ((p.iou(g), i, j) for i, p in enumerate(pred) for j, g in enumerate(gold)), reverse=True
    )
    used_p: set[int] = set()
    used_g: set[int] = set()
    for score, i, j in pairs:
        if score < iou:
            break
        if i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
    return len(used_p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "../shared/data/tables")
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("-v", "--verbose", action="store_true", help="print boxes of misses")
    args = ap.parse_args()
    pdfs = sorted(args.data.resolve().glob("*.pdf"))
    if not pdfs:
        sys.exit(f"no PDFs in {args.data}")
    tp = fp = fn = pages = 0
    seconds = 0.0
    print(f"{'document':<12} {'pages':>5} {'TP':>3} {'FP':>3} {'FN':>3} {'ms/page':>8}")
    for pdf in pdfs:
        doc = docintel.load(pdf)
        gold = truth(pdf.with_name(pdf.stem + "-reg.xml"), [p.height for p in doc])
        d_tp = d_fp = d_fn = 0
        t0 = time.perf_counter()
        found = [detect_regions(page) for page in doc]
        dt = time.perf_counter() - t0
        for page, regions in zip(doc, found, strict=True):
            pred = [r.bbox for r in regions if r.kind == RegionKind.TABLE]
            want = gold.get(page.index, [])
            hit = match(pred, want, args.iou)
            d_tp, d_fp, d_fn = d_tp + hit, d_fp + len(pred) - hit, d_fn + len(want) - hit
            if args.verbose and (hit < len(pred) or hit < len(want)):
                kind = "text" if page.kind == PageKind.DIGITAL else "image"
                print(f"  p{page.index + 1} ({kind}) pred={pred} gold={want}")
        ms = dt / len(doc) * 1e3
        print(f"{pdf.stem:<12} {len(doc):>5} {d_tp:>3} {d_fp:>3} {d_fn:>3} {ms:>8.1f}")
        tp, fp, fn, pages, seconds = tp + d_tp, fp + d_fp, fn + d_fn, pages + len(doc), seconds + dt
        doc.close()
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    print(f"\nTP={tp} FP={fp} FN={fn}  recall={recall:.3f} precision={precision:.3f}")
    print(f"{pages} pages, {seconds / pages * 1e3:.1f} ms/page")


if __name__ == "__main__":
    main()
