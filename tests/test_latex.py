"""docintel.latex: KaTeX-compatible validity checks (self-contained; node is optional)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from docintel.latex import LatexCheck, check_latex, to_mathml

VALID = [
    r"x",
    r"\frac{a}{b}",
    r"\alpha_1^r \gamma_1 + \dots + \alpha_N^r \gamma_N = 0\quad(r=1,...,R)\; ,",
    r"\eta = -\frac{1}{2} \ln \left(\frac{\cosh y}{\sqrt{1+\alpha^2}}\right)",
    r"{d\over ds}{1\over\Gamma(-s)}\bigg|_{s=0}=-1",
    r"{\cal L}=-{1\over 4}F_{\mu\nu}F^{\mu\nu}+{\bar\psi}(i\gamma^\mu D_\mu -m)\psi\,,",
    r"\mathrm{d}x \, \operatorname{tr}(A) \; \! ~ a \\ b",
    r"\left\{ Q^{i},Q^{j}\right\} = 0",
    r"\left. \frac{df}{dx} \right|_{x=0}",
    r"\left[ \frac{a}{b} \middle| c \right]",
    r"g^>_n(r,r')=E_n, \quad \hbox{for $r>r^{'}$.}",
    r"{\textstyle {1 \over 2}} \scriptstyle x",
    r"\hspace{1em} x \hspace{-12pt}",
    r"\text{if } x \in \mathbb{R}",
    r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}",
    r"\lim\limits_{x\to 0} f(x)",
    r"x' + y''^2",
    r"\sqrt[3]{x^2+y^2}",
    r"\color{red}{x} + \color{#00ff00}{y}",
    r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
    r"\begin{array}{cc} 0 & -i \\ i & 0 \end{array}",
    r"\begin{array}{|c|c|} a & b \\[4mm] \hline c & d \end{array}",
    r"\begin{aligned} a &= b \\ c &= d \end{aligned}",
    r"f(x) = \begin{cases} x & x > 0 \\ -x & \text{otherwise} \end{cases}",
    r"\left( \begin{array}{c} 1 \\ 2 \end{array} \right)",
]

INVALID = {
    # braces
    r"\frac{a}{b": "unbalanced braces: 1 '{' not closed",
    r"\frac{a}b}": "unbalanced braces: 1 '}' without a matching '{'",
    r"{{x}": "unbalanced braces",
    # unknown / misspelled control sequences
    r"\frcc{a}{b}": "unknown control sequence \\frcc (did you mean \\frac?)",
    r"\alpah + 1": "unknown control sequence \\alpah",
    r"x \label{eq:1}": "unknown control sequence \\label",
    r"a \mbox{and} b": "unknown control sequence \\mbox",
    # environments
    r"\begin{pmatrix} a & b": "environment 'pmatrix' opened but not closed",
    r"\begin{array}{cc} a & b": "environment 'array' opened but not closed",
    r"\begin{aligned} a &= b": "environment 'aligned' opened but not closed",
    r"\begin{cases} a & b": "environment 'cases' opened but not closed",
    r"\begin{pmatrix} a \end{bmatrix}": "environment 'pmatrix' closed by \\end{bmatrix}",
    r"\begin{cases} a \end{aligned}": "environment 'cases' closed by \\end{aligned}",
    r"a \end{pmatrix}": "\\end{pmatrix} without a matching \\begin{pmatrix}",
    r"\begin{foo} a \end{foo}": "unknown environment 'foo'",
    r"\begin{array}{c} a & b \end{array}": "more '&' cells than columns",
    r"\begin{array}{cp} a \end{array}": "unknown column alignment 'p'",
    r"\begin{align} a &= b \end{align}": "works only in display mode",
    # \left / \right
    r"\left( \frac{a}{b}": "\\left without a matching \\right",
    r"\frac{a}{b} \right)": "\\right without a matching \\left",
    r"\left x \right)": "\\left must be followed by a delimiter",
    r"a \middle| b": "\\middle without a preceding \\left",
    # structure
    r"": "empty formula",
    r"   ": "empty formula",
    r"x^a^b": "double superscript",
    r"x_a_b": "double subscript",
    r"x^": "expected a group after '^'",
    r"\frac{a}": "missing argument for \\frac",
    r"a & b": "'&' outside an environment",
    r"{a \over b \over c}": "only one infix operator",
    r"x^\hspace{1em}": "without braces",
    r"\text{\alpha}": "cannot be used in text mode",
    r"\text{a^b}": "inside text",
    r"a % comment": "comment",
    r"\tag{1} x": "display",
    r"\color{not a color}{x}": "invalid color",
}


@pytest.mark.parametrize("src", VALID)
def test_valid(src: str) -> None:
    res = check_latex(src)
    assert res == LatexCheck(True, []), res.errors


@pytest.mark.parametrize(("src", "message"), INVALID.items())
def test_invalid(src: str, message: str) -> None:
    res = check_latex(src)
    assert not res.valid
    assert res.errors, "an invalid formula must say why"
    assert any(message in e for e in res.errors), res.errors


def test_display_mode_allows_align_and_tag() -> None:
    assert check_latex(r"\begin{align} a &= b \end{align}", display=True).valid
    assert check_latex(r"x = 1 \tag{1}", display=True).valid


def test_several_problems_reported_together() -> None:
    res = check_latex(r"\frcc{a} + \begin{pmatrix} {x")
    assert not res.valid
    text = " | ".join(res.errors)
    assert "unbalanced braces" in text
    assert "\\frcc" in text
    assert "pmatrix" in text


def test_user_macros_are_known() -> None:
    assert check_latex(r"\def\foo{x} \foo + \foo").valid


def test_fast() -> None:
    formulas = VALID + list(INVALID)
    check_latex("x")
    t0 = time.perf_counter()
    for _ in range(5):
        for f in formulas:
            check_latex(f)
    per_ms = (time.perf_counter() - t0) * 1000 / (5 * len(formulas))
    assert per_ms < 5, f"{per_ms:.2f} ms per formula"  # ~0.1-0.3 ms; loose for slow CI


def test_to_mathml() -> None:
    pytest.importorskip("latex2mathml")
    out = to_mathml(r"\frac{a}{b}")
    assert out is not None and "<mfrac>" in out
    assert 'display="inline"' in (to_mathml("x", display=False) or "")


KATEX = Path(__file__).resolve().parent.parent / "tools" / "katex"


@pytest.mark.skipif(
    shutil.which("node") is None or not (KATEX / "node_modules" / "katex").is_dir(),
    reason="KaTeX not installed (needs node and `npm install --prefix tools/katex`)",
)
def test_agrees_with_katex() -> None:
    sources = [*VALID, *(s for s in INVALID if s.strip())]
    out = subprocess.run(
        ["node", str(KATEX / "check.js")],
        input="".join(json.dumps(s) + "\n" for s in sources),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    katex = [json.loads(line)["valid"] for line in out]
    ours = [check_latex(s).valid for s in sources]
    assert [s for s, k, o in zip(sources, katex, ours, strict=True) if k != o] == []
