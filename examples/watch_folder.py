"""Watch a folder: two invoices and a corrupt file in, JSON results and an error report out.

    python examples/watch_folder.py

Runs the watcher until the inbox is empty (``until_idle=True``; ``docintel watch`` without
``--once`` keeps watching until Ctrl-C). The CPU engine reads the invoices' text layer: no model
needed. The job store is SQLite at OUT/.docintel.db.
"""

import json
import shutil
import tempfile
from pathlib import Path

from docintel.jobs.watch import Watcher

fixtures = Path(__file__).parents[1] / "fixtures"

with tempfile.TemporaryDirectory() as tmp:
    inbox, out = Path(tmp, "inbox"), Path(tmp, "out")
    inbox.mkdir()
    for name in ("invoice-1.pdf", "invoice-2.pdf"):
        shutil.copy(fixtures / name, inbox / name)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<\n")  # truncated: a poison file

    watcher = Watcher(inbox, schema="invoice", out=out, engine="cpu", settle=0.5)
    stats = watcher.run(until_idle=True)
    print(f"{stats.done} done, {stats.failed} failed, {stats.files_per_second:.1f} files/s\n")

    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text())
        if path.name.endswith(".error.json"):
            print(f"{path.name}: {data['error']}: {data['message']}")
        else:
            value = data["value"]
            print(f"{path.name}: {value['invoice_number']}, total {value['total']}")
    for where in ("processed", "failed"):
        print(f"inbox/{where}/:", sorted(p.name for p in (inbox / where).iterdir()))

    summary = watcher.store.summary()
    print("store:", summary.counts, f"{summary.results} results")
    watcher.store.close()
