"""Pages per second for docintel's load + render + layout, beside bare pymupdf rendering.

Both run in the same process on the same pages at the same resolution (longest side 1024 px,
what the model gets), so the ratio is the cost docintel adds: text layer, kind detection,
preprocessing of scans and layout. Usage::

    python bench/preprocess.py [--pages 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymupdf

import docintel

ROOT = Path(__file__).resolve().parents[1]
DOCLING = ROOT.parent / "shared" / "data" / "docling" / "pdf"


def bare_pymupdf(path: Path, side: int) -> int:
    """Open and render every page to RGB pixels at ``side`` px: the floor for any pipeline."""
    with pymupdf.open(path) as pdf:
        for page in pdf:
            zoom = side / max(page.rect.width, page.rect.height)
            page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csRGB)
        return pdf.page_count


def docintel_pipeline(path: Path, side: int) -> int:
    """docintel.load, then every page's image and regions."""
    with docintel.load(path, target_longest_side=side) as doc:
        for page in doc:
            page.image()
            _ = page.regions
        return len(doc)


def measure(fn, paths: list[Path], side: int, repeat: int) -> tuple[float, int]:
    """Best-of-``repeat`` seconds for all ``paths``, and the page count."""
    times, pages = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        pages = sum(fn(p, side) for p in paths)
        times.append(time.perf_counter() - start)
    return min(times), pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--side", type=int, default=1024)
    args = parser.parse_args()

    spec = importlib.util.spec_from_file_location("gen", ROOT / "fixtures" / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)

    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "bench.pdf"
        gen.multipage_pdf(generated, pages=args.pages, seed=0)
        sets = {f"generated {args.pages}-page PDF": [generated]}
        if DOCLING.is_dir():
            sets["shared/data/docling/pdf"] = sorted(DOCLING.glob("*.pdf"))
        else:
            print(f"note: {DOCLING} not found; only the generated PDF is measured", file=sys.stderr)

        print(f"longest side {args.side} px, best of {args.repeat}")
        header = f"{'set':32} {'pages':>5} {'pymupdf p/s':>12} {'docintel p/s':>13} {'ratio':>6}"
        print(header)
        print("-" * len(header))
        ratios = []
        for name, paths in sets.items():
            base_s, pages = measure(bare_pymupdf, paths, args.side, args.repeat)
            ours_s, _ = measure(docintel_pipeline, paths, args.side, args.repeat)
            ratio = ours_s / base_s
            ratios.append(ratio)
            print(
                f"{name:32} {pages:>5} {pages / base_s:>12.1f} {pages / ours_s:>13.1f} "
                f"{ratio:>5.1f}x"
            )
        print(f"docintel costs {statistics.mean(ratios):.1f}x bare rendering (mean over sets)")


if __name__ == "__main__":
    main()
