"""The CPU path on documents it was not built on: before (git HEAD) and after, side by side.

    .venv/bin/python bench/cpu_receipts.py [--base REV] [--folds 5] [--skip-cv] [--json OUT]

Measures, in one run and the same way for both trees:

* per-field accuracy on the 160 SROIE receipts (``../shared/data/receipts``: company, date,
  address, total, SROIE's conventions: ``docintel.jobs.evaluate.same_value(..., "sroie")``) and on
  the 6 invoice2data invoices (``../shared/data/invoices``: invoice number, date, total,
  currency, issuer), for the CPU path at ``--base`` (default HEAD, checked out with
  ``git worktree`` into a temporary folder and run in a subprocess) and for this tree with the
  shipped scorer, which was trained on generated documents only and never saw these;
* (b) this tree with a scorer trained by ``docintel train`` on the receipts themselves (on
  top of the shipped scorer, as it does by default; ``--cv-alone``: also from scratch),
  5-fold cross-validated: each fold is scored by a scorer that never saw it;
* the ceiling: the receipts where the right value is among the candidates at all (what a
  perfect scorer could reach with the same words and candidates);
* generated documents of layouts and languages the shipped scorer was held out from;
* seconds per page, born-digital (the invoices) and scanned (the receipts; OCR is cached on
  disk by ``bench/_ocrcache.py`` and shared by both trees, so the figure is the extraction's
  own; OCR's seconds are printed apart).

Receipts are research-use data: they are read here, never trained into shipped weights.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"
RECEIPTS = DATA / "receipts"
INVOICES = DATA / "invoices"
RECEIPT_FIELDS = ("company", "date", "address", "total")
INVOICE_FIELDS = ("invoice_number", "date", "amount", "currency", "issuer")


# ---- one tree, one data set (run in a subprocess for the base tree) ---------------------------


def worker(tree: Path, dataset: str, scorer: str | None, names: list[str] | None) -> list[dict]:
    """Extract every document of ``dataset`` with the CPU path of ``tree``; raw values out."""
    sys.path.insert(0, str(tree))
    sys.path.insert(1, str(HERE))
    import _ocrcache

    import docintel
    from docintel.engines.cpu import CPUEngine

    _ocrcache.install()
    if dataset == "receipts":
        from docintel.schemas import Receipt as schema

        paths = sorted((RECEIPTS / "img").glob("*.jpg"))
    else:
        from docintel.schemas import Invoice as schema

        paths = sorted(INVOICES.glob("*.pdf"))
    if names is not None:
        paths = [p for p in paths if p.stem in names]
    engine = CPUEngine(scorer) if scorer else CPUEngine()
    out = []
    for path in paths:
        doc = docintel.load(path)
        for page in doc.pages:  # OCR (cached) before the clock starts
            _ = page.ocr_words
        start = time.perf_counter()
        result = docintel.extract(doc, schema, engine=engine, raise_on_failure=False)
        seconds = time.perf_counter() - start
        value = None
        if result.value is not None:
            value = result.value.model_dump(mode="json")
        elif getattr(result, "partial", None):
            value = result.partial
        else:  # before partial results: the last answer's JSON, as evaluate read it
            for attempt in reversed(result.attempts):
                try:
                    value = json.loads(attempt.text)
                    break
                except ValueError:
                    continue
        out.append(
            {
                "name": path.stem,
                "value": value or {},
                "ok": result.ok,
                "seconds": seconds,
                "pages": len(doc.pages),
            }
        )
        doc.close()
    return out


def run_tree(tree: Path, dataset: str, scorer: str | None = None,
             names: list[str] | None = None) -> list[dict]:  # fmt: skip
    """``worker`` in a fresh interpreter (the tree's own docintel on its path)."""
    with tempfile.NamedTemporaryFile("w+", suffix=".json", delete=False) as fh:
        target = fh.name
    cmd = [sys.executable, __file__, "--worker", str(tree), dataset, target]
    if scorer:
        cmd += ["--scorer", scorer]
    if names is not None:
        cmd += ["--names", ",".join(names)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(cmd, check=True, env=env, cwd=str(tree))
    data = json.loads(Path(target).read_text())
    Path(target).unlink()
    return data


# ---- scoring ---------------------------------------------------------------------------------


def _get(value: dict, path: str):  # type: ignore[no-untyped-def]
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def score(rows: list[dict], dataset: str) -> dict[str, tuple[int, int]]:
    from docintel.jobs.evaluate import INVOICE2DATA_MAP, SROIE_MAP, _expected, same_value
    from docintel.schemas import Invoice, Receipt

    out: dict[str, tuple[int, int]] = {}
    if dataset == "receipts":
        fmap, schema, convention = SROIE_MAP, Receipt, "sroie"
    else:
        fmap, schema, convention = INVOICE2DATA_MAP, Invoice, ""
    from docintel.jobs.evaluate import _kind

    for row in rows:
        if dataset == "receipts":
            expected = _expected(RECEIPTS / "key" / f"{row['name']}.json")
        else:
            expected = _expected(INVOICES / f"{row['name']}.json")
        for key, path in fmap.items():
            if key not in expected:
                continue
            got = _get(row["value"], path)
            right = same_value(_kind(schema, path) or "other", expected[key], got, convention)
            a, b = out.get(key, (0, 0))
            out[key] = (a + right, b + 1)
            row.setdefault("misses", {})
            if not right:
                row["misses"][key] = [expected[key], got]
    return out


def overall(fields: dict[str, tuple[int, int]]) -> float:
    right = sum(a for a, _ in fields.values())
    total = sum(b for _, b in fields.values())
    return right / total if total else 0.0


# ---- (b): trained on the receipts, cross-validated ----------------------------------------


def cross_validate(folds: int, trees: int, on_shipped: bool = True) -> list[dict]:
    sys.path.insert(0, str(HERE))
    import _ocrcache

    import docintel
    from docintel.engines.cpu.scorer import SHIPPED, dump, get_scorer
    from docintel.jobs.evaluate import SROIE_MAP, _expected
    from docintel.jobs.training import expected_values, train_documents
    from docintel.schemas import Receipt

    _ocrcache.install()
    paths = sorted((RECEIPTS / "img").glob("*.jpg"))
    docs = {p.stem: docintel.load(p) for p in paths}
    truth = {
        p.stem: expected_values(_expected(RECEIPTS / "key" / f"{p.stem}.json"), SROIE_MAP)
        for p in paths
    }
    rows: list[dict] = []
    stems = [p.stem for p in paths]
    for k in range(folds):
        test = stems[k::folds]
        train = [s for s in stems if s not in test]
        items = [(s, docs[s].pages, truth[s]) for s in train]
        prior = get_scorer(SHIPPED) if on_shipped else None  # as `docintel train` does
        data, _ = train_documents(items, Receipt, trees=trees, meta={"fold": k}, prior=prior)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            scorer_path = fh.name
        dump(data, scorer_path)
        rows += run_tree(ROOT, "receipts", scorer_path, test)
        Path(scorer_path).unlink()
        print(f"  fold {k + 1}/{folds}: trained on {len(train)}, scored {len(test)}", flush=True)
    for doc in docs.values():
        doc.close()
    return rows


# ---- the ceiling: is the right value among the candidates at all? ----------------------------


def ceiling() -> dict[str, tuple[int, int]]:
    """Per field, the receipts where some candidate is the expected value by SROIE's
    conventions (what a perfect scorer could reach with these words and candidates)."""
    sys.path.insert(0, str(HERE))
    import _ocrcache

    import docintel
    from docintel.engines.cpu import train as T
    from docintel.jobs.evaluate import SROIE_MAP, _expected, same_value
    from docintel.jobs.training import expected_values
    from docintel.schemas import Receipt

    _ocrcache.install()
    loose = T.matches

    def exact(group: str, expected: object, value: object) -> bool:
        if group in ("name", "address"):  # letter for letter, as scored; not the loose match
            return value is not None and same_value("str", expected, value, "sroie")
        return loose(group, expected, value)

    T.matches = exact
    fields = {"company": "name", "date": "date", "address": "address", "total": "amount"}
    out: dict[str, tuple[int, int]] = {}
    try:
        for path in sorted((RECEIPTS / "img").glob("*.jpg")):
            key_file = _expected(RECEIPTS / "key" / f"{path.stem}.json")
            want = expected_values(key_file, SROIE_MAP)
            with docintel.load(path) as doc:
                rows = T.rows(Receipt, doc.pages, want, fuzzy=2.0)  # no fuzzy labels
            for key, group in fields.items():
                if key not in key_file:
                    continue
                a, b = out.get(key, (0, 0))
                out[key] = (a + any(y for _, y, _ in rows.get(group, [])), b + 1)
    finally:
        T.matches = loose
    return out


# ---- generated documents of held-out layouts and languages -----------------------------------


def held_out(n: int) -> dict[str, dict[str, tuple[int, int]]]:
    import docintel
    from docintel.engines.cpu import CPUEngine
    from docintel.engines.cpu.scorer import get_scorer
    from docintel.jobs.evaluate import same_value
    from docintel.schemas import Invoice, Receipt
    from docintel.testing import synth

    meta = get_scorer().meta
    layouts = sorted(meta.get("layouts") or [])  # sorted: a set's order changes per process
    languages = sorted(meta.get("languages") or [])
    new_layouts = tuple(
        x for x in synth.INVOICE_LAYOUTS + synth.RECEIPT_LAYOUTS if x not in layouts
    )
    new_langs = tuple(x for x in synth.LANGUAGES if x not in languages)
    engine = CPUEngine()
    sets = {
        "unseen layouts": synth.documents(n, seed=991, layouts=new_layouts or None),
        "unseen languages": synth.documents(n, seed=992, languages=new_langs or None),
        "seen (fresh seeds)": synth.documents(
            n, seed=993, layouts=tuple(layouts) or None, languages=tuple(languages) or None
        ),
    }
    fields = {
        "invoice": ("invoice_number", "issue_date", "total", "currency", "vendor.name"),
        "receipt": ("merchant", "date", "address", "total"),
    }
    out: dict[str, dict[str, tuple[int, int]]] = {}
    kinds = {"date": "date", "issue_date": "date", "total": "number", "currency": "currency"}
    for label, docs in sets.items():
        tally: dict[str, tuple[int, int]] = {}
        for d in docs:
            schema = Invoice if d.schema == "invoice" else Receipt
            with docintel.load(d.pdf) as doc:
                r = docintel.extract(doc, schema, engine=engine, raise_on_failure=False)
            value = r.value.model_dump(mode="json") if r.value is not None else (r.partial or {})
            for f in fields[d.schema]:
                want = _get(d.truth, f)
                if want is None:
                    continue
                kind = kinds.get(f.split(".")[-1], "str")
                right = same_value(kind, want, _get(value, f), "sroie")
                key = f"{d.schema}.{f}"
                a, b = tally.get(key, (0, 0))
                tally[key] = (a + right, b + 1)
        out[f"{label} ({', '.join(new_layouts if 'layouts' in label else new_langs) or 'all'})"
            if "unseen" in label else label] = tally  # fmt: skip
    return out


# ---- main ------------------------------------------------------------------------------------


def _base_tree(rev: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = Path(tempfile.gettempdir()) / f"docintel-base-{sha}"
    if not (target / "docintel").is_dir():
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-f", str(target), rev],
            check=True, cwd=ROOT, capture_output=True,
        )  # fmt: skip
    return target


def _table(title: str, fields: list[str], cols: dict[str, dict[str, tuple[int, int]]]) -> str:
    lines = [title, "  " + "field".ljust(16) + "".join(c.rjust(22) for c in cols)]
    for f in fields:
        cells = []
        for tally in cols.values():
            a, b = tally.get(f, (0, 0))
            cells.append((f"{a}/{b} {a / b:6.1%}" if b else "-").rjust(22))
        lines.append("  " + f.ljust(16) + "".join(cells))
    lines.append(
        "  " + "overall".ljust(16) + "".join(f"{overall(t):6.1%}".rjust(22) for t in cols.values())
    )
    return "\n".join(lines)


def _speed(rows: list[dict]) -> float:
    pages = sum(r["pages"] for r in rows)
    return sum(r["seconds"] for r in rows) / pages if pages else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--base",
        default=None,
        help="git revision of the 'before' CPU path (default: the last one with docintel/fill.py, "
        "the CPU path before candidates and the scorer)",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--trees", type=int, default=150)
    ap.add_argument("--skip-cv", action="store_true")
    ap.add_argument(
        "--cv-alone", action="store_true", help="also cross-validate `docintel train --alone`"
    )
    ap.add_argument("--skip-base", action="store_true")
    ap.add_argument("--generated", type=int, default=120, help="generated documents per set")
    ap.add_argument("--json", type=Path, help="write every figure and miss here")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--scorer", help=argparse.SUPPRESS)
    ap.add_argument("--names", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        tree, dataset, target = args.worker
        names = args.names.split(",") if args.names else None
        rows = worker(Path(tree), dataset, args.scorer, names)
        Path(target).write_text(json.dumps(rows))
        return 0
    if not RECEIPTS.is_dir() or not INVOICES.is_dir():
        print(f"no data at {DATA}", file=sys.stderr)
        return 2
    report: dict = {}
    runs: dict[str, dict[str, list[dict]]] = {}
    if not args.skip_base:
        if args.base is None:
            last = subprocess.run(
                ["git", "rev-list", "-1", "HEAD", "--", "docintel/fill.py"],
                cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            args.base = f"{last}^" if last else "HEAD"
        base = _base_tree(args.base)
        print(f"before: {args.base} in {base}", flush=True)
        runs["before"] = {d: run_tree(base, d) for d in ("receipts", "invoices")}
    print("after: this tree, shipped scorer", flush=True)
    runs["after (a)"] = {d: run_tree(ROOT, d) for d in ("receipts", "invoices")}
    if not args.skip_cv:
        print(f"after (b): docintel train on the receipts, {args.folds}-fold", flush=True)
        runs["after (b) CV"] = {"receipts": cross_validate(args.folds, args.trees)}
        if args.cv_alone:
            print("after (b): the same, trained alone (not on the shipped scorer)", flush=True)
            runs["(b) alone"] = {"receipts": cross_validate(args.folds, args.trees, False)}
    rec = {name: score(r["receipts"], "receipts") for name, r in runs.items()}
    inv = {name: score(r["invoices"], "invoices") for name, r in runs.items() if "invoices" in r}
    print()
    print(_table("SROIE receipts (160, OCR)", list(RECEIPT_FIELDS), rec))
    print()
    print(_table("invoice2data invoices (6, text layer)", list(INVOICE_FIELDS), inv))
    print()
    print("seconds per page (extraction; OCR cached and shared)")
    for name, r in runs.items():
        parts = [f"{d}: {_speed(rows):.3f}" for d, rows in r.items()]
        print(f"  {name:<16} " + "  ".join(parts))
    if not args.skip_cv:
        top = ceiling()
        print()
        print("ceiling: receipts where the right value is among the candidates (same words)")
        for key in RECEIPT_FIELDS:
            a, b = top.get(key, (0, 0))
            print(f"  {key:<16}{a}/{b} {a / b if b else 0:6.1%}")
        print(f"  {'overall':<16}{overall(top):6.1%}")
        report["ceiling"] = {k: list(v) for k, v in top.items()}
    gen = held_out(args.generated) if args.generated else {}
    if gen:
        print()
        for label, tally in gen.items():
            print(f"generated, {label}: {overall(tally):.1%}")
            for k, (a, b) in sorted(tally.items()):
                print(f"    {k:<26} {a}/{b} {a / b:6.1%}")
    report.update(
        {
            "receipts": {k: {f: list(v) for f, v in t.items()} for k, t in rec.items()},
            "invoices": {k: {f: list(v) for f, v in t.items()} for k, t in inv.items()},
            "generated": {k: {f: list(v) for f, v in t.items()} for k, t in gen.items()},
            "seconds_per_page": {
                n: {d: _speed(rows) for d, rows in r.items()} for n, r in runs.items()
            },
            "rows": runs,
        }
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
