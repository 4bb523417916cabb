"""docintel.checks.latex: KaTeX itself (in-process, mini-racer) as the judge of LaTeX validity."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import SHARED_DATA

from docintel.checks import latex
from docintel.checks.latex import MAX_LENGTH, LatexCheck, check_latex, to_mathml

KATEX_TESTS = SHARED_DATA / "latex" / "katex-tests.jsonl"

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
    r"\text{if } x \in \mathbb{R}",
    r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}",
    r"\sqrt[3]{x^2+y^2}",
    r"\color{red}{x} + \color{#00ff00}{y}",
    r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
    r"\begin{array}{|c|c|} a & b \\[4mm] \hline c & d \end{array}",
    r"f(x) = \begin{cases} x & x > 0 \\ -x & \text{otherwise} \end{cases}",
    r"\def\foo{x} \foo + \foo",
    r"",  # KaTeX renders nothing, without complaint
]

# KaTeX's own message, then the hint docintel adds where a model can act on one.
INVALID = {
    r"\frac{a}{b": "Unexpected end of input in a macro argument, expected '}' at the end",
    r"{{x}": "Expected '}', got 'EOF' at the end of the formula",
    r"\frcc{a}{b}": "Undefined control sequence: \\frcc at position 1 (did you mean \\frac?)",
    r"\alpah + 1": "Undefined control sequence: \\alpah at position 1 (did you mean \\alpha?)",
    r"x \label{eq:1}": "Undefined control sequence: \\label at position 3",
    r"\text{\alpha}": "\\alpha works only in math mode",
    r"\ae": "\\ae works only in text mode: put it in \\text{...}",
    r"\begin{pmatrx} a \end{pmatrx}": "No such environment: pmatrx at position 7 (did you mean "
    "pmatrix?)",
    r"\begin{pmatrix} a & b": "Expected & or \\\\ or \\cr or \\end at the end",
    r"\begin{pmatrix} a \end{bmatrix}": "Mismatch: \\begin{pmatrix} matched by \\end{bmatrix}",
    r"\begin{array}{c} a & b \end{array}": "Too few columns specified",
    r"\begin{align} a &= b \end{align}": "{align} can be used only in display mode.",
    r"\left( \frac{a}{b}": "Expected '\\right', got 'EOF'",
    r"\left x \right)": "Invalid delimiter 'x' after '\\left' at position 7",
    r"x^a^b": "Double superscript at position 4",
    r"a & b": "Expected 'EOF', got '&' at position 3",
    r"a % comment": "% comment has no terminating newline",
    r"\tag{1} x": "\\tag works only in display equations",
    r"\color{not a color}{x}": "Invalid color: 'not a color'",
    r"\def\a{\a}\a": "Too many expansions",  # KaTeX's own bound on macro expansion
    "{" * 3000 + "}" * 3000: "nested too deeply",
}


@pytest.mark.parametrize("src", VALID)
def test_valid(src: str) -> None:
    assert check_latex(src) == LatexCheck(True, [])


@pytest.mark.parametrize(("src", "message"), INVALID.items(), ids=lambda s: s[:40])
def test_invalid(src: str, message: str) -> None:
    res = check_latex(src)
    assert not res.valid
    assert len(res.errors) == 1 and message in res.errors[0], res.errors


def test_display_mode_allows_align_and_tag() -> None:
    assert check_latex(r"\begin{align} a &= b \end{align}", display=True).valid
    assert check_latex(r"x = 1 \tag{1}", display=True).valid


def test_bounded_length() -> None:
    res = check_latex("x" * (MAX_LENGTH + 1))
    assert not res.valid and "over 20000" in res.errors[0]
    assert to_mathml("x" * (MAX_LENGTH + 1)) is None


def test_a_call_over_the_time_limit_is_invalid_and_its_context_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_latex("x")
    monkeypatch.setattr(latex, "TIMEOUT", 1e-4)
    res = check_latex(r"\sum_{i=1}^{n} \frac{a_i}{b_i} " * 300)
    assert not res.valid and "took over" in res.errors[0]
    monkeypatch.undo()
    assert check_latex(r"\frac{a}{b}").valid  # a fresh context


def test_threads_share_a_bounded_pool() -> None:
    formulas = [*VALID, *INVALID] * 4
    expected = [check_latex(f) for f in formulas]
    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(check_latex, formulas)) == expected
    assert latex._pool()._made <= latex._pool().size


def test_called_from_a_running_event_loop() -> None:
    async def main() -> LatexCheck:
        return check_latex(r"\fracc{a}{b}")

    assert "did you mean \\frac?" in asyncio.run(main()).errors[0]


def test_fast() -> None:
    formulas = [f for f in [*VALID, *INVALID] if len(f) < 100]
    check_latex("x")
    t0 = time.perf_counter()
    for _ in range(5):
        for f in formulas:
            check_latex(f)
    per_ms = (time.perf_counter() - t0) * 1000 / (5 * len(formulas))
    assert per_ms < 10, f"{per_ms:.2f} ms per formula"  # ~0.5-1 ms here; loose for slow CI


def test_to_mathml() -> None:
    out = to_mathml(r"\frac{a}{b}")
    assert out is not None and out.startswith("<math") and "<mfrac>" in out
    assert 'display="block"' in out
    assert 'display="block"' not in (to_mathml("x", display=False) or "")
    assert to_mathml(r"\frcc{a}") is None


def test_agrees_with_katex_on_its_own_test_strings() -> None:
    """Every string of KaTeX's test files (../shared/data/latex): the same verdict as KaTeX
    0.16.22 run by node, and for the rejected ones the same message."""
    if not KATEX_TESTS.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{KATEX_TESTS} is missing on CI")
        pytest.skip(f"{KATEX_TESTS} is not here (third-party data, see ../shared/data/README.md)")
    rows = [json.loads(line) for line in KATEX_TESTS.read_text().splitlines() if line.strip()]
    assert len(rows) == 1011
    verdicts, messages = [], []
    for row in rows:
        ours = check_latex(row["latex"])
        if ours.valid != row["katex_valid"]:
            verdicts.append((row["latex"], row["katex_error"], ours.errors))
        elif not ours.valid:
            raw = re.split(r" at position \d+| at the end of the formula| \(", ours.errors[0])[0]
            if not row["katex_error"].startswith(f"KaTeX parse error: {raw}"):
                messages.append((row["latex"], row["katex_error"], ours.errors))
    assert verdicts == []  # 1011/1011 = 100%
    assert messages == []
