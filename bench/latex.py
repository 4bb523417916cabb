"""LaTeX validity, before and after KaTeX became the judge: agreement with KaTeX and ms/formula.

before: the hand-written Python re-implementation of KaTeX's parser (``docintel/latex.py`` and
``docintel/data/katex_macros.txt`` as they were in git before the switch, run from a temp
module); after: ``docintel.checks.latex.check_latex``, KaTeX 0.16.22 itself in-process (mini-racer).

Two corpora, read in place from ../shared/data:
1. ``latex/katex-tests.jsonl``: 1011 strings from KaTeX's own test files, with KaTeX 0.16.22's
   verdict recorded (node, ``throwOnError``, ``strict: "error"``, inline).
2. ``formulas/labels.jsonl``: 50 im2latex dev formulas, plus three broken copies of each
   (dropped brace, misspelled macro, unclosed environment), as labelled and with
   ``\\label{...}`` removed (KaTeX does not know it); KaTeX's verdict from node running the
   vendored ``katex.min.js`` (skipped without node).

    .venv/bin/python bench/latex.py [--show-disagreements]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docintel.checks.latex import check_latex  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
KATEX_TESTS = DATA / "latex" / "katex-tests.jsonl"
LABELS = DATA / "formulas" / "labels.jsonl"
KATEX_JS = ROOT / "docintel" / "data" / "katex" / "katex.min.js"
OLD_TABLE = "docintel/data/katex_macros.txt"

Verdict = tuple[bool, str | None]


def old_parser() -> ModuleType:
    """The Python parser from the last commit that had it, imported from a temp folder."""
    ref = "HEAD"
    if subprocess.run(["git", "cat-file", "-e", f"HEAD:{OLD_TABLE}"], cwd=ROOT).returncode:
        last = subprocess.run(
            ["git", "rev-list", "-1", "HEAD", "--", OLD_TABLE],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ref = f"{last}^"  # the table's last commit deleted it: its parent still had both
    folder = Path(tempfile.mkdtemp(prefix="latex_before_"))
    (folder / "data").mkdir()
    files = (("docintel/latex.py", "latex_before.py"), (OLD_TABLE, "data/katex_macros.txt"))
    for path, out in files:
        text = subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        (folder / out).write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("latex_before", folder / "latex_before.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["latex_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    print(f"before: docintel/latex.py at {ref}")
    return module


def node_katex(sources: list[str]) -> list[Verdict] | None:
    """KaTeX's verdicts from node running the vendored katex.min.js; None without node."""
    node = shutil.which("node")
    if node is None:
        return None
    script = (
        "const katex = require(process.argv[1]);"
        "const out = JSON.parse(require('fs').readFileSync(0, 'utf8')).map((s) => {"
        "  try { katex.renderToString(s, {throwOnError: true, strict: 'error'}); }"
        "  catch (e) { return [false, String(e.message)]; } return [true, null]; });"
        "process.stdout.write(JSON.stringify(out));"
    )
    done = subprocess.run(
        [node, "-e", script, str(KATEX_JS)],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        check=True,
    )
    return [(bool(v), e) for v, e in json.loads(done.stdout)]


# ---- broken copies of the im2latex formulas ---------------------------------------------------


def drop_brace(src: str, rng: random.Random) -> str | None:
    """Remove one unescaped '{' or '}'."""
    spots = [i for i, c in enumerate(src) if c in "{}" and (i == 0 or src[i - 1] != "\\")]
    if not spots:
        return None
    i = rng.choice(spots)
    return src[:i] + src[i + 1 :]


def misspell_macro(src: str, rng: random.Random) -> str | None:
    """Replace one letter of a control word of 3+ letters (\\frac -> \\frcc)."""
    words = [m for m in re.finditer(r"\\([a-zA-Z]{3,})", src) if m.group(1) not in ("begin", "end")]
    if not words:
        return None
    m = rng.choice(words)
    name = m.group(1)
    k = rng.randrange(1, len(name))
    letters = [c for c in "abcdefghijklmnopqrstuvwxyz" if c != name[k]]
    new = name[:k] + rng.choice(letters) + name[k + 1 :]
    return src[: m.start(1)] + new + src[m.end(1) :]


def unclose_env(src: str, rng: random.Random) -> str:
    """Drop the last \\end{...}, or open a matrix that is never closed."""
    ends = list(re.finditer(r"\\end\s*\{[^{}]*\}", src))
    if ends:
        m = ends[-1]
        return src[: m.start()] + src[m.end() :]
    return "\\begin{matrix} " + src


MUTATIONS = {"brace": drop_brace, "macro": misspell_macro, "env": unclose_env}


def build_cases(formulas: list[str], seed: int = 0) -> list[tuple[str, str]]:
    """(kind, latex) pairs: the originals and their mutations."""
    cases = [("original", f) for f in formulas]
    for n, f in enumerate(formulas):
        for kind, fn in MUTATIONS.items():
            out = fn(f, random.Random(seed * 1000 + n * 10 + len(kind)))
            if out is not None and out != f:
                cases.append((kind, out))
    return cases


# ---- measuring --------------------------------------------------------------------------------


def timed(check: Callable[[str], object], sources: list[str]) -> tuple[list[bool], float]:
    check("x")  # tables loaded, V8 context made: outside the timing
    start = time.perf_counter()
    verdicts = [bool(check(s).valid) for s in sources]  # type: ignore[attr-defined]
    return verdicts, (time.perf_counter() - start) * 1000 / len(sources)


def report(
    title: str, cases: list[tuple[str, str]], truth: list[Verdict], old: ModuleType, show: bool
) -> None:
    sources = [s for _, s in cases]
    print(f"\n== {title}: {len(cases)} formulas, KaTeX: {sum(v for v, _ in truth)} valid")
    kinds = [k for k in ["original", *MUTATIONS] if any(c[0] == k for c in cases)]
    for name, check in (("before", old.check_latex), ("after ", check_latex)):
        verdicts, ms = timed(check, sources)
        agree = [v == t for v, (t, _) in zip(verdicts, truth, strict=True)]
        conf = Counter(
            ("K+" if t else "K-") + ("/ours+" if v else "/ours-")
            for v, (t, _) in zip(verdicts, truth, strict=True)
        )
        per_kind = ", ".join(
            f"{k} {sum(a for a, c in zip(agree, cases, strict=True) if c[0] == k)}"
            f"/{sum(c[0] == k for c in cases)}"
            for k in kinds
            if len(kinds) > 1
        )
        print(
            f"{name}: agreement {sum(agree)}/{len(agree)} = {100 * sum(agree) / len(agree):.2f}%"
            f"   {ms:.3f} ms/formula   wrongly accepted {conf['K-/ours+']}, wrongly rejected "
            f"{conf['K+/ours-']}" + (f"   ({per_kind})" if per_kind else "")
        )
        if show:
            for (kind, src), ok, (t, err) in zip(cases, agree, truth, strict=True):
                if not ok:
                    print(f"    DISAGREE [{kind}] KaTeX {'valid' if t else err!r}: {src[:120]!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show-disagreements", action="store_true")
    args = ap.parse_args()
    old = old_parser()
    if KATEX_TESTS.is_file():
        rows = [json.loads(line) for line in KATEX_TESTS.read_text().splitlines() if line.strip()]
        cases = [("original", r["latex"]) for r in rows]
        truth = [(r["katex_valid"], r["katex_error"]) for r in rows]
        report("KaTeX's test strings", cases, truth, old, args.show_disagreements)
    else:
        print(f"{KATEX_TESTS} not found: skipped")
    if not LABELS.is_file():
        print(f"{LABELS} not found: skipped")
        return 0
    formulas = [json.loads(line)["latex"] for line in LABELS.read_text().splitlines() if line]
    stripped = [re.sub(r"\\label\s*\{[^{}]*\}", "", f) for f in formulas]
    for title, cases in (
        ("im2latex dev formulas as labelled + broken copies", build_cases(formulas)),
        ("the same with \\label{...} removed + broken copies", build_cases(stripped, seed=1)),
    ):
        truth = node_katex([s for _, s in cases])
        if truth is None:
            print(f"\n== {title}: no node to run KaTeX by: skipped")
            continue
        report(title, cases, truth, old, args.show_disagreements)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
