"""Batch-extract a folder into JSON lines, kill nothing, rerun: only what is new runs.

    python examples/batch_folder.py          # local: a process pool, the CPU engine
    python examples/batch_folder.py ray      # the same on a local Ray cluster ('docintel[ray]')

The folder holds two invoices and a corrupt file; the corrupt one becomes a failed line (with
its error), not a crashed run. The rerun adds a third invoice and extracts only that one:
documents are known by their content and the schema. The CPU engine reads the invoices' text
layer: no model needed. ``docintel batch DIR --schema invoice --out results.jsonl`` does the
same from the shell.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from docintel.jobs.batch import run_batch

fixtures = Path(__file__).parents[1] / "fixtures"
on_ray = sys.argv[1:] == ["ray"]


def run(folder: Path, out: Path) -> None:
    if on_ray:
        from docintel.jobs.batch import iter_inputs
        from docintel.jobs.distributed import run_batch_on_ray

        inputs = list(iter_inputs([str(folder)]))
        stats = run_batch_on_ray(inputs, "invoice", out, engine="cpu")
    else:
        stats = run_batch([str(folder)], "invoice", out, engine="cpu")
    print(
        f"{stats.documents} extracted ({stats.failed} failed), {stats.skipped} already done, "
        f"{stats.documents_per_second:.1f} documents/s"
    )


if __name__ == "__main__":  # the process pool starts fresh interpreters that import this file
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "in")
        folder.mkdir()
        for name in ("invoice-1.pdf", "invoice-2.pdf"):
            shutil.copy(fixtures / name, folder / name)
        (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<\n")  # truncated
        # On Ray the output is a folder of part files (Ray writes from many workers at once).
        out = Path(tmp, "results" if on_ray else "results.jsonl")

        run(folder, out)
        shutil.copy(fixtures / "invoice-1-scan.pdf", folder / "scan.pdf")  # new: OCR'd
        run(folder, out)

        files = sorted(out.glob("*.jsonl")) if out.is_dir() else [out]
        for line in (line for f in files for line in f.read_text().splitlines()):
            rec = json.loads(line)
            name = Path(rec["input"]).name
            if rec["ok"]:
                value = rec["value"]
                print(f"{name}: {value['invoice_number']}, total {value['total']}")
            else:
                print(f"{name}: {rec['error']}")
