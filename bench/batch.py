"""Documents per second through ``docintel batch``: one process, the process pool, Ray Data.

All rows run the CPU engine (deterministic, no model: what is timed is everything but a model)
over the same generated one-page invoices (born-digital, with a line-item table), each row in
a fresh subprocess writing a fresh output, so its peak RSS (``ru_maxrss``) is the driver's
alone (Ray's workers and the pool's processes are not counted in it); "after 1st batch"
is the rate from the first line written to the end, without the workers' start. The Ray rows time
``run_batch_on_ray`` on a local cluster started beforehand (``ray.init`` is not counted); on
this 2-core machine the cluster has 2 CPUs and the actors ask for half a CPU each, so that 2
actors leave room for the preprocessing tasks.

Then the driver's memory at scale: ``--scale`` (10 000) small generated PDFs streamed through
the local batch (process pool, CPU engine, the full run), beside a tenth of them, and a rerun
of the large one (every document skipped: the listing and resume stage alone). Last, OCR
pages per second with 1 and 2 threads (one RapidOCR engine per thread, see
``docintel.pages.ocr``). Usage::

    python bench/batch.py [--docs 200] [--scale 10000] [--skip-scale] [--skip-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing


def invoice_pdf(i: int) -> bytes:
    """A one-page invoice: header, parties, a ruled line-item table, totals (distinct per i)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    text = [
        (400, 60, 20, "INVOICE"),
        (50, 60, 11, f"Vendor {i} GmbH"),
        (50, 75, 9, "Hafenstrasse 12, 20457 Hamburg"),
        (400, 100, 9, f"Invoice number: INV-{2024}-{i:05d}"),
        (400, 115, 9, "Invoice date: 2024-03-14"),
        (400, 130, 9, "Due date: 2024-04-13"),
        (50, 180, 9, "Bill to:"),
        (50, 195, 9, f"Customer {i} SARL"),
    ]
    for x, y, size, s in text:
        page.insert_text((x, y), s, fontsize=size)
    y = 300
    heads = [("Description", 55), ("Qty", 300), ("Unit price", 360), ("Amount", 470)]
    for head, x in heads:
        page.insert_text((x, y), head, fontsize=9)
    subtotal = 0.0
    for line in range(4):
        y += 20
        qty, price = line + 1, 10.0 + i % 7 + line
        amount = qty * price
        subtotal += amount
        for s, x in ((f"Item {line}", 55), (str(qty), 300), (f"{price:.2f}", 360),
                     (f"{amount:.2f}", 470)):  # fmt: skip
            page.insert_text((x, y), s, fontsize=9)
        page.draw_line((50, y + 6), (545, y + 6))
    tax = round(subtotal * 0.19, 2)
    for label, value in (("Subtotal", subtotal), ("Tax 19%", tax), ("Total", subtotal + tax)):
        y += 20
        page.insert_text((380, y), f"{label}: {value:.2f} EUR", fontsize=9)
    data = doc.tobytes()
    doc.close()
    return data


def memo_pdf(i: int) -> bytes:
    """A small one-line PDF (for the 10 000-input memory run)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=200, height=100)
    page.insert_text((20, 50), f"Memo {i}", fontsize=11)
    data = doc.tobytes()
    doc.close()
    return data


def make(folder: Path, count: int, maker) -> Path:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"doc-{i:05d}.pdf").write_bytes(maker(i))
    return folder


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---- one row, in its own process ----------------------------------------------------------
def one(spec: dict) -> dict:
    from docintel.jobs.batch import run_batch

    inputs, out = spec["inputs"], spec["out"]
    if spec["mode"] == "ray":
        import ray
        import ray.data

        from docintel.jobs.distributed import run_batch_on_ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        from docintel.jobs.batch import iter_inputs

        listed = list(iter_inputs(inputs))
        start = time.perf_counter()
        stats = run_batch_on_ray(
            listed, "invoice", out, engine="cpu", actors=spec["actors"], cpus_per_actor=0.5,
            batch_size=spec["batch"],
        )  # fmt: skip
        seconds = time.perf_counter() - start
        ray.shutdown()
        steady = None
    else:
        first: list[float] = []  # when the first line was written: workers started by then

        def progress(s: object) -> None:
            if not first and getattr(s, "documents", 0):
                first.append(time.perf_counter())

        start = time.perf_counter()
        stats = run_batch(
            inputs, "invoice", out, engine="cpu", workers=spec["workers"],
            batch_size=spec["batch"], progress=progress,
        )  # fmt: skip
        end = time.perf_counter()
        seconds = end - start
        steady = (stats.documents - spec["batch"]) / (end - first[0]) if first else None
    return {
        "documents": stats.documents,
        "skipped": stats.skipped,
        "failed": stats.failed,
        "seconds": seconds,
        "steady": steady,
        "peak_mb": peak_mb(),
    }


def run_one(spec: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec}: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- OCR threads --------------------------------------------------------------------------
def ocr_rates(pages: int = 4) -> list[tuple[int, float]]:
    import docintel
    from docintel.pages import ocr

    with docintel.load(ROOT / "fixtures" / "invoice-1-scan.pdf") as doc:
        image = doc[0].image(2000)
        ocr._rapidocr(image)  # build the first engine outside the timing
        rows = []
        for threads in (1, 2):
            per = pages // threads

            def work(per: int = per) -> None:
                for _ in range(per):
                    ocr._rapidocr(image)

            if threads == 2:  # build the second engine outside the timing too
                ts = [threading.Thread(target=ocr._rapidocr, args=(image,)) for _ in range(2)]
                [t.start() for t in ts]
                [t.join() for t in ts]
            start = time.perf_counter()
            ts = [threading.Thread(target=work) for _ in range(threads)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            rows.append((threads, pages / (time.perf_counter() - start)))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return

    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="docintel-bench-batch-") as tmp:
        root = Path(tmp)
        docs = make(root / "invoices", args.docs, invoice_pdf)
        rows = [
            ("local, 1 process (--workers 0)", {"mode": "local", "workers": 0}),
            (f"local, process pool (--workers {cores})", {"mode": "local", "workers": cores}),
        ]
        if not args.skip_ray:
            rows += [
                ("Ray Data, 1 actor", {"mode": "ray", "actors": 1}),
                ("Ray Data, 2 actors", {"mode": "ray", "actors": 2}),
            ]
        print(f"\n{args.docs} generated one-page invoices, CPU engine, batch {args.batch}\n")
        print(
            "| run | documents | seconds | docs/s | docs/s after 1st batch | driver peak RSS MB |"
        )
        print("|---|---|---|---|---|---|")
        for i, (name, spec) in enumerate(rows):
            out = root / f"out-{i}" / ("results" if spec["mode"] == "ray" else "results.jsonl")
            got = run_one({**spec, "inputs": [str(docs)], "out": str(out), "batch": args.batch})
            assert got["documents"] == args.docs, got
            steady = "-" if got["steady"] is None else f"{got['steady']:.1f}"
            print(
                f"| {name} | {got['documents']} | {got['seconds']:.1f} | "
                f"{got['documents'] / got['seconds']:.1f} | {steady} | {got['peak_mb']:.0f} |"
            )

        if not args.skip_scale:
            small = make(root / "small", args.scale // 10, memo_pdf)
            large = make(root / "large", args.scale, memo_pdf)
            print(f"\ndriver memory at scale: one-line PDFs, CPU engine, pool of {cores}\n")
            print("| inputs | run | documents | skipped | seconds | driver peak RSS MB |")
            print("|---|---|---|---|---|---|")
            spec = {"mode": "local", "workers": cores, "batch": 32}
            for folder, count in ((small, args.scale // 10), (large, args.scale)):
                out = str(root / f"scale-{count}.jsonl")
                for label in ("full run", "rerun (all resumed)"):
                    got = run_one({**spec, "inputs": [str(folder)], "out": out})
                    print(
                        f"| {count} | {label} | {got['documents']} | {got['skipped']} | "
                        f"{got['seconds']:.1f} | {got['peak_mb']:.0f} |"
                    )

    print("\nOCR (RapidOCR, fixtures/invoice-1-scan.pdf at 2000 px), one engine per thread\n")
    print("| threads | pages/s |")
    print("|---|---|")
    for threads, rate in ocr_rates():
        print(f"| {threads} | {rate:.2f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
