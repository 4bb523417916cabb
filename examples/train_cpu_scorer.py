"""Teach the CPU engine your documents: fit its candidate scorer on a folder with answers.

    python examples/train_cpu_scorer.py [FOLDER]        # pip install 'docintel[train]'

FOLDER holds documents with their expected values: ``<name>.pdf`` beside ``<name>.json``, or
SROIE's ``img/`` + ``key/``. Without one, the example writes twelve receipts that docintel
generates itself. The new scorer learns on top of the shipped one (``--alone`` on the CLI:
from scratch), and the CPU engine takes it as ``CPUEngine(scorer=path)`` or
``DOCINTEL_CPU_SCORER=path``.
"""

import json
import sys
import tempfile
from pathlib import Path

import docintel
from docintel.engines.cpu import CPUEngine
from docintel.jobs.training import train
from docintel.schemas import Receipt
from docintel.testing import synth


def generated_folder(root: Path, n: int = 12) -> Path:
    for i, doc in enumerate(synth.documents(n, seed=11, kinds=("receipt",))):
        (root / f"r{i:02d}.pdf").write_bytes(doc.pdf)
        (root / f"r{i:02d}.json").write_text(json.dumps(doc.truth, default=str))
    return root


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(sys.argv[1]) if len(sys.argv) > 1 else generated_folder(Path(tmp))
        out = Path(tmp) / "scorer.json"
        report = train(folder, Receipt, out=out, trees=40)
        print(report.render())
        test = synth.receipt(2024)
        result = docintel.extract(test.pdf, Receipt, engine=CPUEngine(scorer=out))
        print("merchant:", result.value.merchant, "| total:", result.value.total)
        print("expected:", test.truth["merchant"], "| total:", test.truth["total"])


if __name__ == "__main__":
    main()
