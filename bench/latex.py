"""Agreement of docintel.latex.check_latex with KaTeX on im2latex formulas and broken copies.

Reads /work/shared/data/formulas/labels.jsonl in place (JSON lines {image, latex}), builds
three invalid copies of each formula (dropped brace, misspelled macro, unclosed environment)
and compares our verdict with KaTeX's (``renderToString(src, {throwOnError: true, strict:
"error"})``, run by ``tools/katex/check.js``; install with ``npm install --prefix
tools/katex``).  A second set does the same after removing ``\\label{...}`` (which KaTeX does
not support, so most raw im2latex formulas are invalid for it).

    .venv/bin/python bench/latex.py [--labels PATH] [--show-disagreements]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docintel.latex import check_latex  # noqa: E402

LABELS = Path("/work/shared/data/formulas/labels.jsonl")
KATEX_DIR = ROOT / "tools" / "katex"


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


def katex_verdicts(sources: list[str]) -> tuple[list[tuple[bool, str | None]], float] | None:
    """KaTeX's verdict per formula (one node process), and ms per formula; None if missing."""
    node = shutil.which("node")
    if node is None or not (KATEX_DIR / "node_modules" / "katex").is_dir():
        return None
    payload = "".join(json.dumps(s) + "\n" for s in sources)
    t0 = time.perf_counter()
    out = subprocess.run(
        [node, str(KATEX_DIR / "check.js")],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        cwd=KATEX_DIR,
    ).stdout.splitlines()
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(sources))
    rows = [json.loads(line) for line in out]
    return [(r["valid"], r["error"]) for r in rows], ms


def report(title: str, cases: list[tuple[str, str]], show: bool) -> float | None:
    sources = [s for _, s in cases]
    check_latex("x")  # load the tables outside the timing
    t0 = time.perf_counter()
    ours = [check_latex(s) for s in sources]
    ours_ms = (time.perf_counter() - t0) * 1000 / len(sources)
    print(f"\n== {title}")
    print(f"N formulas: {len(cases)}  ({dict(Counter(k for k, _ in cases))})")
    print(
        f"ours:  valid {sum(o.valid for o in ours)}, invalid {sum(not o.valid for o in ours)}"
        f"   {ours_ms:.3f} ms/formula"
    )
    kx = katex_verdicts(sources)
    if kx is None:
        print(
            "KaTeX: not available (needs node and `npm install --prefix tools/katex`): "
            "no agreement figure"
        )
        return None
    verdicts, katex_ms = kx
    print(
        f"KaTeX: valid {sum(v for v, _ in verdicts)}, invalid {sum(not v for v, _ in verdicts)}"
        f"   {katex_ms:.3f} ms/formula (node, incl. start-up)"
    )
    reasons = Counter(
        re.sub(r" at position.*", "", e or "").replace("KaTeX parse error: ", "")[:60]
        for k, (v, e) in zip(cases, verdicts, strict=True)
        if not v and k[0] == "original"
    )
    if reasons:
        print(f"KaTeX rejects originals because: {dict(reasons.most_common(6))}")
    agree = [o.valid == v for o, (v, _) in zip(ours, verdicts, strict=True)]
    conf = Counter(
        (("K+" if v else "K-") + ("/ours+" if o.valid else "/ours-"))
        for o, (v, _) in zip(ours, verdicts, strict=True)
    )
    pct = 100 * sum(agree) / len(agree)
    print(f"agreement: {sum(agree)}/{len(agree)} = {pct:.2f}%")
    print(
        "confusion (KaTeX/ours, + valid, - invalid): "
        + ", ".join(
            f"{k}: {conf.get(k, 0)}" for k in ("K+/ours+", "K-/ours-", "K+/ours-", "K-/ours+")
        )
    )
    for kind in ["original", *MUTATIONS]:
        idx = [i for i, (k, _) in enumerate(cases) if k == kind]
        if idx:
            ok = sum(agree[i] for i in idx)
            print(f"  {kind:9s} {ok}/{len(idx)} = {100 * ok / len(idx):.1f}%")
    if show:
        for i, a in enumerate(agree):
            if not a:
                print(f"  DISAGREE [{cases[i][0]}] {sources[i][:160]!r}")
                print(f"    KaTeX: {verdicts[i][1]}\n    ours:  {ours[i].errors}")
    return pct


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--show-disagreements", action="store_true")
    args = ap.parse_args()
    if not args.labels.is_file():
        print(f"{args.labels} not found: nothing to measure")
        return 1
    rows = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    formulas = [r["latex"] for r in rows]
    report(
        "im2latex formulas as labelled + mutations", build_cases(formulas), args.show_disagreements
    )
    stripped = [re.sub(r"\\label\s*\{[^{}]*\}", "", f) for f in formulas]
    report(
        "same with \\label{...} removed + mutations",
        build_cases(stripped, seed=1),
        args.show_disagreements,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
