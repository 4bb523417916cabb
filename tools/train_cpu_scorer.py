"""Train the shipped CPU scorer on generated documents only (``docintel.testing.synth``).

    .venv/bin/python tools/train_cpu_scorer.py [--n 1600] [--seed 7]
        [--out docintel/data/cpu_scorer.json] [--hold-out-layouts columns,summary]
        [--hold-out-languages pt,pl]

Every document is typeset here from seeded random choices (layouts, languages, number and date
formats, names with many countries' legal forms); nothing third-party is read. Two rounds:
the second collects its rows with the first round's scorer, so that addresses hang under the
names the scorer will choose at run time. ``--hold-out-*`` leave layouts or languages out of
training (the bench measures the scorer on them: documents it has not seen the like of).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rows(args: tuple[int, int, int, tuple[str, ...], tuple[str, ...], str | None]):  # type: ignore[no-untyped-def]
    start, count, seed, layouts, languages, scorer = args
    import docintel
    from docintel.engines.cpu.scorer import Scorer, get_scorer
    from docintel.engines.cpu.train import merge, rows
    from docintel.schemas import Invoice, Receipt
    from docintel.testing import synth

    chosen = get_scorer(scorer) if scorer else Scorer()
    out: dict = {}
    docs = synth.documents(count, seed=seed * 1000 + start, layouts=layouts or None,
                           languages=languages or None)  # fmt: skip
    for i, d in enumerate(docs):
        schema = Invoice if d.schema == "invoice" else Receipt
        with docintel.load(d.pdf) as doc:
            merge(out, rows(schema, doc.pages, d.truth, doc_id=f"{start + i}", scorer=chosen))
    return out


def collect(n: int, seed: int, layouts, languages, scorer, workers: int) -> dict:  # type: ignore[no-untyped-def]
    from docintel.engines.cpu.train import merge

    chunk = max(1, n // (workers * 4))
    jobs = [(s, min(chunk, n - s), seed, layouts, languages, scorer) for s in range(0, n, chunk)]
    out: dict = {}
    with ProcessPoolExecutor(workers) as pool:
        for part in pool.map(_rows, jobs):
            merge(out, part)
    return out


def main() -> None:
    from docintel.engines.cpu.scorer import dump, fit
    from docintel.testing import synth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1600)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "docintel" / "data" / "cpu_scorer.json")
    ap.add_argument("--hold-out-layouts", default="")
    ap.add_argument("--hold-out-languages", default="")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--trees", type=int, default=150)
    args = ap.parse_args()
    out_layouts = {x for x in args.hold_out_layouts.split(",") if x}
    out_langs = {x for x in args.hold_out_languages.split(",") if x}
    layouts = tuple(
        x for x in synth.INVOICE_LAYOUTS + synth.RECEIPT_LAYOUTS if x not in out_layouts
    )
    languages = tuple(x for x in synth.LANGUAGES if x not in out_langs)
    meta = {
        "trained_on": "generated documents only (docintel.testing.synth)",
        "command": "python tools/train_cpu_scorer.py "
        f"--n {args.n} --seed {args.seed} --trees {args.trees}"
        + (f" --hold-out-layouts {args.hold_out_layouts}" if out_layouts else "")
        + (f" --hold-out-languages {args.hold_out_languages}" if out_langs else ""),
        "layouts": list(layouts),
        "languages": list(languages),
    }
    t = time.time()
    tmp = args.out.with_suffix(".round1.json")
    rows = collect(args.n, args.seed, layouts, languages, None, args.workers)
    print(f"round 1: {sum(len(v) for v in rows.values())} rows in {time.time() - t:.0f} s")
    dump(fit(rows, trees=args.trees, meta=meta), tmp)
    rows = collect(args.n, args.seed, layouts, languages, str(tmp), args.workers)
    print(f"round 2: {sum(len(v) for v in rows.values())} rows in {time.time() - t:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dump(fit(rows, trees=args.trees, meta=meta), args.out)
    tmp.unlink()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.time() - t:.0f} s")


if __name__ == "__main__":
    main()
