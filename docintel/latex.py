"""LaTeX validity checks for extracted formulas, modelled on KaTeX's parser.

`check_latex` accepts what KaTeX accepts (``katex.renderToString(src, {throwOnError: true,
strict: "error"})``) and rejects the rest with messages a model can act on: unbalanced
braces, unknown control sequences (with a "did you mean" hint), broken environments,
``\\left`` without ``\\right``, missing arguments, double superscripts, stray ``&``...

It is pure Python: the control sequences, symbols, environments and delimiters KaTeX knows
are read from ``docintel/data/katex_macros.txt``, generated from KaTeX's own tables by
``tools/katex/gen_macros.js``.  ``bench/latex.py`` measures agreement with KaTeX itself.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

__all__ = ["LatexCheck", "check_latex", "to_mathml"]

_DATA = Path(__file__).parent / "data" / "katex_macros.txt"


@dataclass(frozen=True)
class LatexCheck:
    """Verdict on one formula: `valid`, and when not, what to fix."""

    valid: bool
    errors: list[str] = field(default_factory=list)


class _Cs(NamedTuple):
    flags: str  # m/t: math/text mode, a: allowed as bare argument, i: infix, p: primitive
    nargs: int
    nopt: int
    argtypes: tuple[str, ...]
    kind: str  # symbol | macro | implicit | KaTeX node type (op, genfrac, ...)


class _Tables(NamedTuple):
    cs: dict[str, _Cs]
    chars: dict[str, str]
    envs: dict[str, tuple[int, bool]]  # name -> (number of args, display mode only)
    delims: frozenset[str]
    names: tuple[str, ...]  # control words, for "did you mean"


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    cs: dict[str, _Cs] = {}
    chars: dict[str, str] = {}
    envs: dict[str, tuple[int, bool]] = {}
    delims: set[str] = set()
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if parts[0] == "cs":
            _, name, flags, nargs, nopt, argtypes, kind = parts
            types = tuple(argtypes.split(",")) if argtypes != "-" else ()
            cs[name] = _Cs(flags, int(nargs), int(nopt), types, kind)
        elif parts[0] == "sym":
            chars[parts[1]] = parts[2]
        elif parts[0] == "env":
            envs[parts[1]] = (int(parts[2]), "d" in parts[3])
        elif parts[0] == "delim":
            delims.add(parts[1])
    names = tuple(n for n in cs if re.fullmatch(r"\\[a-zA-Z]+", n))
    return _Tables(cs, chars, envs, frozenset(delims), names)


# KaTeX's lexer: whitespace, control space, control word (eats trailing spaces), control
# symbol, comment, or one character (with combining marks).
_TOKEN_RE = re.compile(
    r"(?P<ws>[ \r\n\t]+)"
    r"|(?P<cspace>\\(?:\n|[ \r\t]+\n?)[ \r\t]*)"
    r"|(?P<verb>\\verb\*?(?P<vd>[^a-zA-Z*\s]).*?(?P=vd))"
    r"|(?P<cw>\\[a-zA-Z@]+)[ \r\n\t]*"
    r"|(?P<csym>\\[^\ud800-\udfff])"
    r"|(?P<comment>%[^\n]*\n?)"
    r"|(?P<ch>[^\\][\u0300-\u036f]*)"
    r"|(?P<bad>\\)",
    re.DOTALL,
)

_END_OF_EXPR = frozenset({"}", "\\endgroup", "\\end", "\\right", "&"})
_SIZE_RE = re.compile(r"^[-+]? *(?:\d+(?:\.\d*)?|\.\d+) *([a-z]{2})$")
_SIZE_PREFIX_RE = re.compile(r"^[-+]? *(?:\d+(?:\.\d*)?|\.\d+) *([a-z]{2})")
_COLOR_RE = re.compile(r"^(#[a-f0-9]{3}|#?[a-f0-9]{6}|[a-z]+)$", re.IGNORECASE)
_UNITS = frozenset(
    {"pt", "mm", "cm", "in", "bp", "pc", "dd", "cc", "nd", "nc", "sp", "px", "em", "ex", "mu"}
)
_INLINE_ENV = {
    "align": "aligned",
    "align*": "aligned",
    "alignat": "alignedat",
    "gather": "gathered",
}
_MATRICES = frozenset({"pmatrix*", "bmatrix*", "Bmatrix*", "vmatrix*", "Vmatrix*", "matrix*"})
_ARRAY_ENVS = frozenset({"array", "darray"})
_DEF_CMDS = frozenset({"\\def", "\\gdef", "\\edef", "\\xdef", "\\global"})
_NEWCMD = frozenset({"\\newcommand", "\\renewcommand", "\\providecommand"})


class _Error(Exception):
    pass


def _tokenize(source: str) -> tuple[list[str], set[int]]:
    """KaTeX tokens (whitespace and comments dropped) and the indices of the tokens that
    whitespace precedes; raises `_Error`."""
    toks: list[str] = []
    spaced: set[int] = set()
    for m in _TOKEN_RE.finditer(source):
        kind = m.lastgroup
        if kind == "ws" or kind == "verb":
            if kind == "verb":
                toks.append("\\verb")
            else:
                spaced.add(len(toks))
            continue
        if kind == "comment":
            if not m.group().endswith("\n"):
                raise _Error(
                    "'%' comment runs to the end of the formula (add a newline or drop it)"
                )
            continue
        if kind == "bad":
            raise _Error("lone '\\' at the end of the formula")
        if kind == "cspace":
            toks.append("\\ ")
        elif kind == "cw":
            toks.append(m.group("cw"))
        else:
            toks.append(m.group())
    return toks, spaced


@lru_cache(maxsize=4096)
def _suggest(name: str, names: tuple[str, ...]) -> str:
    """A " (did you mean ...?)" hint for a misspelled name, or ""."""
    pool = [n for n in names if abs(len(n) - len(name)) <= 2]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _user_macros(toks: list[str]) -> dict[str, _Cs]:
    """Macros the formula defines itself with \\def / \\newcommand."""
    found: dict[str, _Cs] = {}
    for i, t in enumerate(toks[:-1]):
        name = ""
        if t in _DEF_CMDS and toks[i + 1].startswith("\\"):
            name = toks[i + 1]
        elif t in _NEWCMD:
            name = toks[i + 2] if toks[i + 1] == "{" and i + 2 < len(toks) else toks[i + 1]
        if name.startswith("\\"):
            found[name] = _Cs("amt", 0, 0, (), "macro")
    return found


def _static_checks(toks: list[str], tables: _Tables, known: dict[str, _Cs]) -> list[str]:
    """Whole-formula checks that can report several problems at once."""
    errors: list[str] = []
    depth = extra = 0
    for t in toks:
        if t == "{":
            depth += 1
        elif t == "}":
            if depth:
                depth -= 1
            else:
                extra += 1
    if depth:
        errors.append(f"unbalanced braces: {depth} '{{' not closed")
    if extra:
        errors.append(f"unbalanced braces: {extra} '}}' without a matching '{{'")

    unknown: list[str] = []
    for t in toks:
        if t.startswith("\\") and t not in known and t not in unknown:
            unknown.append(t)
    for t in unknown:
        errors.append(f"unknown control sequence {t}{_suggest(t, tables.names)}")

    stack: list[str] = []
    for i, t in enumerate(toks):
        if t not in ("\\begin", "\\end"):
            continue
        name = _env_name(toks, i + 1)
        if name is None:
            errors.append(f"{t} must be followed by an environment name in braces")
            continue
        if t == "\\begin":
            if name not in tables.envs:
                hint = _suggest(name, tuple(tables.envs))
                errors.append(f"unknown environment '{name}'{hint}")
            stack.append(name)
        elif not stack:
            errors.append(f"\\end{{{name}}} without a matching \\begin{{{name}}}")
        elif stack[-1] != name:
            errors.append(f"environment '{stack[-1]}' closed by \\end{{{name}}}")
            stack.pop()
        else:
            stack.pop()
    for name in reversed(stack):
        errors.append(f"environment '{name}' opened but not closed (add \\end{{{name}}})")
    return errors


def _env_name(toks: list[str], i: int) -> str | None:
    if i >= len(toks) or toks[i] != "{":
        return None
    out = []
    for t in toks[i + 1 :]:
        if t == "}":
            return "".join(out)
        if t == "{":
            return None
        out.append(t)
    return None


class _Parser:
    """A recursive-descent check that follows KaTeX's Parser closely enough for verdicts."""

    def __init__(
        self,
        toks: list[str],
        spaced: set[int],
        tables: _Tables,
        known: dict[str, _Cs],
        display: bool,
    ):
        self.toks = toks
        self.spaced = spaced
        self.n = len(toks)
        self.i = 0
        self.t = tables
        self.known = known
        self.display = display
        self.leftright = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < self.n else None

    def parse(self) -> None:
        self.expression("math", frozenset())
        tok = self.peek()
        if tok is None:
            return
        if tok == "}":
            raise _Error("unbalanced braces: '}' without a matching '{'")
        if tok == "&":
            raise _Error("'&' outside an environment (use it inside \\begin{array}...\\end{array})")
        if tok == "\\right":
            raise _Error("\\right without a matching \\left")
        if tok == "\\end":
            raise _Error("\\end without a matching \\begin")
        raise _Error(f"unexpected {tok}")

    def expression(self, mode: str, stops: frozenset[str]) -> None:
        infix = 0
        while True:
            tok = self.peek()
            if tok is None or tok in _END_OF_EXPR or tok in stops:
                return
            if mode == "math" and tok in ("\\limits", "\\nolimits"):
                raise _Error(f"{tok} must follow a math operator such as \\sum or \\int")
            info = self.known.get(tok)
            if info is not None and "i" in info.flags and info.kind == "infix":
                if mode[0] not in info.flags:
                    raise _Error(f"{tok} cannot be used in {mode} mode")
                infix += 1
                if infix > 1:
                    raise _Error(f"only one infix operator ({tok}) per group: add braces")
                self.i += 1
                if self.peek() in ("^", "_", "'"):
                    raise _Error(f"{tok} cannot take a superscript or subscript: add braces")
                continue
            self.atom(mode)

    def atom(self, mode: str) -> None:
        base = self.group(mode, None)
        if mode == "text":
            return
        sup = sub = False
        while True:
            tok = self.peek()
            if tok in ("\\limits", "\\nolimits"):
                info = self.known.get(base or "")
                if base is None or not (
                    base in ("op", "operatorname") or (info is not None and "o" in info.flags)
                ):
                    raise _Error(f"{tok} must follow a math operator such as \\sum or \\int")
                self.i += 1
            elif tok == "^" or tok == "_":
                if sup if tok == "^" else sub:
                    what = "superscript" if tok == "^" else "subscript"
                    raise _Error(f"double {what}: group it, e.g. x^{{a}}{tok}{{b}} -> {{x^{{a}}}}")
                self.i += 1
                if self.group(mode, "superscript" if tok == "^" else "subscript") is None:
                    raise _Error(f"expected a group after '{tok}'")
                if tok == "^":
                    sup = True
                else:
                    sub = True
            elif tok == "'":
                if sup:
                    raise _Error("double superscript: a prime after a superscript")
                self.i += 1
                while self.peek() == "'" and self.i not in self.spaced:
                    self.i += 1
                if self.peek() == "^" and self.i not in self.spaced:
                    self.i += 1
                    if self.group(mode, "superscript") is None:
                        raise _Error("expected a group after '^'")
                sup = True
            else:
                return

    def group(self, mode: str, arg: str | None) -> str | None:
        """Parse one group or atom nucleus; returns a kind string, or None if there is none."""
        tok = self.peek()
        if tok is None or tok in _END_OF_EXPR:
            return None
        if tok == "{" or tok == "\\begingroup":
            self.i += 1
            close = "}" if tok == "{" else "\\endgroup"
            self.expression(mode, frozenset())
            got = self.peek()
            if got != close:
                if got is None:
                    raise _Error("unbalanced braces: '{' not closed")
                raise _Error(f"expected '{close}' but found {got}")
            self.i += 1
            return "group"
        if tok in ("\\limits", "\\nolimits"):
            if mode == "text":
                raise _Error(f"{tok} inside text: move it out of \\text{{...}}")
            return None  # atom() reports it unless it follows an operator
        if mode == "math" and tok in ("'", "^", "_"):
            return None  # scripts with no base: atom() handles them
        if tok.startswith("\\") and len(tok) > 1:
            return self.control(tok, mode, arg)
        return self.char(tok, mode)

    def char(self, tok: str, mode: str) -> str:
        self.i += 1
        if tok == "$":
            if mode == "math":
                raise _Error("'$' inside math: drop the dollar signs")
            self.expression("math", frozenset({"$"}))
            if self.peek() != "$":
                raise _Error("'$' opened inside text but not closed")
            self.i += 1
            return "group"
        if tok in ("^", "_"):
            if mode == "text":
                raise _Error(f"'{tok}' inside text: move it out of \\text{{...}}")
            raise _Error(f"expected a group after '{tok}'")
        if tok == "\\ " or tok == "~":
            return "symbol"
        flags = self.t.chars.get(tok[0])
        if flags is None and mode == "text" and not tok.isascii():
            return "symbol"  # KaTeX renders accented and other scripts' letters in text
        if flags is None:
            if mode == "math" and not tok.isascii():
                raise _Error(f"unicode character '{tok}' in math: use a LaTeX command or \\text")
            if tok[0] in "#":
                raise _Error("'#' outside a macro definition: write \\#")
            if not tok.isascii():
                raise _Error(f"unsupported unicode character '{tok}'")
            return "symbol"
        if mode[0] not in flags:
            if mode == "math":
                raise _Error(f"text character '{tok}' in math: use a LaTeX command or \\text")
            raise _Error(f"character '{tok}' is not allowed in text mode")
        return "symbol"

    def control(self, tok: str, mode: str, arg: str | None) -> str:
        info = self.known.get(tok)
        if info is None:
            raise _Error(f"unknown control sequence {tok}{_suggest(tok, self.t.names)}")
        if tok == "\\right":
            raise _Error("\\right without a matching \\left")
        if tok == "\\end":
            raise _Error("\\end without a matching \\begin")
        self.i += 1
        if arg is not None and "a" not in info.flags:
            raise _Error(f"{tok} used as a {arg} without braces: write {{{tok}...}}")
        if mode == "text" and "t" not in info.flags:
            raise _Error(f"{tok} cannot be used in text mode (inside \\text{{...}})")
        if mode == "math" and "m" not in info.flags:
            raise _Error(f"{tok} cannot be used in math mode")
        if tok == "\\left":
            return self.left_right()
        if tok == "\\begin":
            return self.environment()
        if tok == "\\middle":
            if not self.leftright:
                raise _Error("\\middle without a preceding \\left")
            self.delimiter(tok)
            return "symbol"
        if info.kind == "delimsizing":
            self.delimiter(tok)
            return "symbol"
        if tok in ("\\hline", "\\hdashline"):
            raise _Error(f"{tok} is valid only at the start of a row of an array")
        if tok == "\\tag" and not self.display:
            raise _Error("\\tag works only in display equations")
        if tok in ("\\\\", "\\newline", "\\cr"):
            if tok == "\\\\" and self.peek() == "[":
                self.size_group(tok)
            return "symbol"
        if tok in _DEF_CMDS or tok in _NEWCMD:
            return self.skip_definition()
        if info.kind == "macro" and tok in ("\\hspace", "\\operatorname") and self.peek() == "*":
            self.i += 1
        got_opt = False
        for k in range(info.nopt):
            if self.peek() == "[":
                types = info.argtypes
                self.optional_arg(tok, mode, types[k] if k < len(types) else "-")
                got_opt = True
        for k in range(info.nargs):
            types = info.argtypes[info.nopt :]
            kind = types[k] if k < len(types) else "-"
            if kind == "-" and ("p" in info.flags or (info.kind == "sqrt" and not got_opt)):
                kind = "primitive"
            elif kind == "size" and info.kind == "macro":
                kind = "macro-size"
            self.argument(tok, mode, kind)
        return tok if info.kind == "macro" else info.kind

    def delimiter(self, cmd: str) -> None:
        tok = self.peek()
        if tok is None or tok not in self.t.delims:
            found = "nothing" if tok is None else f"'{tok}'"
            raise _Error(
                f"{cmd} must be followed by a delimiter such as ( [ \\{{ | . , got {found}"
            )
        self.i += 1

    def left_right(self) -> str:
        self.delimiter("\\left")
        self.leftright += 1
        self.expression("math", frozenset())
        self.leftright -= 1
        if self.peek() != "\\right":
            raise _Error("\\left without a matching \\right (add \\right. if needed)")
        self.i += 1
        self.delimiter("\\right")
        return "leftright"

    def raw_group(self, cmd: str) -> list[str]:
        """Tokens of a required `{...}` argument, unparsed."""
        start, end = self.raw_span(cmd)
        return self.toks[start:end]

    def raw_span(self, cmd: str) -> tuple[int, int]:
        """Token range inside a required `{...}` argument (or of a single-token one)."""
        if self.peek() != "{":
            tok = self.peek()
            if tok is None or tok in _END_OF_EXPR:
                raise _Error(f"missing argument for {cmd}")
            self.i += 1
            return self.i - 1, self.i
        depth = 0
        start = self.i
        while self.i < self.n:
            t = self.toks[self.i]
            self.i += 1
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if depth == 0:
                    return start + 1, self.i - 1
        raise _Error("unbalanced braces: '{' not closed")

    def text_of(self, start: int, end: int) -> str:
        """Source text of tokens[start:end], with the whitespace between them."""
        out = []
        for k in range(start, end + 1):
            if k in self.spaced and (k < end or self.toks[k] == "}"):
                out.append(" ")
            if k < end:
                out.append(self.toks[k])
        return "".join(out)

    def size_group(self, cmd: str) -> None:
        close = "]" if self.peek() == "[" else "}"
        self.i += 1
        start = self.i
        while self.peek() not in (close, None):
            self.i += 1
        if self.peek() is None:
            raise _Error(f"'{'[' if close == ']' else '{'}' opened after {cmd} but not closed")
        self.i += 1
        self.check_size(self.text_of(start, self.i - 1), cmd)

    def check_size(self, text: str, cmd: str) -> None:
        m = _SIZE_RE.match(text.strip())
        if not m or m.group(1) not in _UNITS:
            raise _Error(f"invalid size '{text}' for {cmd}: use a number and a unit, e.g. 4pt")

    def argument(self, cmd: str, mode: str, kind: str) -> None:
        if kind in ("url", "raw"):
            self.raw_group(cmd)
            return
        if kind == "color":
            text = self.text_of(*self.raw_span(cmd))
            if not _COLOR_RE.match(text):
                raise _Error(f"invalid color '{text}' for {cmd}: use a name or #rrggbb")
            return
        if kind == "size":
            self.check_size(self.text_of(*self.raw_span(cmd)), cmd)
            return
        if kind == "macro-size":  # \hspace{..} -> \hskip: a size, then anything
            text = self.text_of(*self.raw_span(cmd)).strip()
            m = _SIZE_PREFIX_RE.match(text)
            if not m or m.group(1) not in _UNITS:
                raise _Error(f"invalid size '{text}' for {cmd}: use a number and a unit, e.g. 4pt")
            return
        sub_mode = {"text": "text", "hbox": "text", "math": "math"}.get(kind, mode)
        tok = self.peek()
        if tok is None or tok in _END_OF_EXPR:
            raise _Error(f"missing argument for {cmd}: add {{...}}")
        if kind == "primitive":
            if self.group(sub_mode, f"argument to {cmd}") is None:
                raise _Error(f"missing argument for {cmd}: add {{...}}")
            return
        if tok == "{":
            self.group(sub_mode, None)
            return
        # A bare argument is one token, parsed on its own (\vec\mathbf x lacks an argument).
        sub = _Parser(self.toks[self.i : self.i + 1], set(), self.t, self.known, self.display)
        self.i += 1
        sub.expression(sub_mode, frozenset())
        if sub.peek() is not None:
            raise _Error(f"missing argument for {cmd}: add {{...}}")

    def optional_arg(self, cmd: str, mode: str, kind: str) -> None:
        self.i += 1  # '['
        start = self.i
        depth = 0
        while self.i < self.n:
            t = self.toks[self.i]
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
            elif t == "]" and depth == 0:
                break
            self.i += 1
        else:
            raise _Error(f"'[' opened after {cmd} but not closed")
        end = self.i
        self.i += 1
        if kind == "size":
            self.check_size("".join(self.toks[start:end]), cmd)
            return
        if kind in ("color", "url", "raw"):
            return
        sub = _Parser(self.toks[start:end], set(), self.t, self.known, self.display)
        sub.leftright = self.leftright
        sub.expression(mode, frozenset())
        if sub.peek() is not None:
            raise _Error(f"unexpected {sub.peek()} in the optional argument of {cmd}")

    def skip_definition(self) -> str:
        # \def\name#1{body} or \newcommand{\name}[n]{body}: skip to the end of the body.
        while self.peek() not in (None, "{") or (
            self.peek() == "{" and self.i + 1 < self.n and self.toks[self.i + 1].startswith("\\")
        ):
            if self.peek() == "{":
                self.raw_group("\\newcommand")
            else:
                self.i += 1
        self.raw_group("\\def")
        return "internal"

    def env_name(self, cmd: str) -> str:
        start, end = self.raw_span(cmd)
        if any(k in self.spaced for k in range(start, end + 1)):
            raise _Error(f"spaces in the environment name after {cmd}: write {cmd}{{name}}")
        return "".join(self.toks[start:end])

    def environment(self) -> str:
        name = self.env_name("\\begin")
        if name not in self.t.envs:
            raise _Error(f"unknown environment '{name}'{_suggest(name, tuple(self.t.envs))}")
        nargs, display_only = self.t.envs[name]
        if display_only and not self.display:
            alt = _INLINE_ENV.get(name)
            hint = f": use '{alt}'" if alt else ""
            raise _Error(f"environment '{name}' works only in display mode{hint}")
        max_cols = 0
        if name in _MATRICES and self.peek() == "[":
            self.optional_arg("\\begin", "math", "raw")
        if nargs:
            spec = self.raw_group("\\begin{" + name + "}")
            if name in _ARRAY_ENVS or name == "subarray":
                for c in spec:
                    if c not in ("l", "c", "r", "|", ":"):
                        raise _Error(f"unknown column alignment '{c}' in {{{name}}}: use l, c or r")
                max_cols = len(spec)
                if name == "subarray" and len(spec) != 1:
                    raise _Error("{subarray} can contain only one column")
            elif name.startswith("align"):
                if not "".join(spec).strip().isdigit():
                    raise _Error(
                        f"{{{name}}} needs a number of columns, e.g. \\begin{{{name}}}{{2}}"
                    )
                max_cols = 2 * int("".join(spec))
        if name == "split":
            max_cols = 2
        elif name in ("equation", "equation*"):
            max_cols = 1
        row_stops = frozenset({"\\\\", "\\cr"})
        self.hlines()
        cells = 1
        while True:
            self.expression("math", row_stops)
            tok = self.peek()
            if tok == "&":
                if max_cols and cells >= max_cols:
                    if name in _ARRAY_ENVS:
                        raise _Error(f"more '&' cells than columns declared in {{{name}}}")
                    raise _Error(f"too many '&' in a row of {{{name}}}")
                cells += 1
                self.i += 1
            elif tok in row_stops:
                self.i += 1
                if tok == "\\\\" and self.peek() == "[":
                    self.size_group("\\\\")
                self.hlines()
                cells = 1
            elif tok == "\\end":
                self.i += 1
                end = self.env_name("\\end")
                if end != name:
                    raise _Error(f"environment '{name}' closed by \\end{{{end}}}")
                return "environment"
            elif tok is None:
                raise _Error(f"environment '{name}' opened but not closed (add \\end{{{name}}})")
            elif tok == "}":
                raise _Error(f"'}}' inside environment '{name}' closes a group opened outside it")
            else:
                raise _Error(f"unexpected {tok} inside environment '{name}'")

    def hlines(self) -> None:
        while self.peek() in ("\\hline", "\\hdashline"):
            self.i += 1


def check_latex(source: str, *, display: bool = False) -> LatexCheck:
    """Check a formula the way KaTeX (throwOnError, strict "error") would.

    `display` selects KaTeX's display mode (it allows align/gather/equation and \\tag); the
    default matches ``katex.renderToString``'s default, inline.
    """
    if not source.strip():
        return LatexCheck(False, ["empty formula"])
    tables = _tables()
    try:
        toks, spaced = _tokenize(source)
    except _Error as exc:
        return LatexCheck(False, [str(exc)])
    known = tables.cs
    if any(t in _DEF_CMDS or t in _NEWCMD for t in toks):
        known = {**known, **_user_macros(toks)}
    errors = _static_checks(toks, tables, known)
    if errors:
        return LatexCheck(False, errors)
    try:
        _Parser(toks, spaced, tables, known, display).parse()
    except _Error as exc:
        return LatexCheck(False, [str(exc)])
    except RecursionError:
        return LatexCheck(False, ["formula nested too deeply"])
    return LatexCheck(True, [])


def to_mathml(source: str, display: bool = True) -> str | None:
    """MathML for `source` via the optional `latex2mathml` package, else None (missing/fails)."""
    try:
        from latex2mathml.converter import convert
    except ImportError:
        return None
    try:
        return convert(source, display="block" if display else "inline")
    except Exception:
        return None
