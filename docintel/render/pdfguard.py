"""Guards around pymupdf for odd PDFs: its errors as typed ones, and drawing work measured first.

Errors: MuPDF errors reach Python as ``pymupdf.FileDataError``, ``pymupdf.mupdf.FzError*`` or
plain ``RuntimeError("code=7: ...")`` (an invalid /Count in the page tree), and can surface when
a page is read, rendered or laid out, long after ``load``. ``pdf_errors`` turns them into
``CorruptDocument`` (``InputTooLarge`` for MuPDF's limits, ``OutOfMemory``) that name the page.

Work: MuPDF runs a form XObject every time a content stream draws it (``/Fm0 Do``) and keeps
no result, so nested forms multiply. A 2.5 kB page of ten forms, each drawing the next ten
times, asks for 10^9 drawing operations: ``get_text`` at load never returns, and a thread
cannot interrupt it. Measured with pymupdf 2.0 (MuPDF 1.28.5): 10^6 draws took 4 s to extract
and 12 s to render, 10^7 took 30 s to extract. A Flate content stream can also inflate
~1000x (100 kB to 50 MB of path operators: 13 s to load, render and lay out). ``ContentWork``
adds up the decoded bytes a page draws, each form, tiling pattern, soft mask and Type 3 glyph
counted each time it is used, without running any of it, and stops once a budget is passed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from docintel.errors import CorruptDocument, DocintelError, InputTooLarge, OutOfMemory

if TYPE_CHECKING:
    import pymupdf

# MuPDF's error codes (fz_error_type) as pymupdf's C++ layer prints them: "code=7: ...".
_SYSTEM, _LIMIT = 2, 5  # FZ_ERROR_SYSTEM (allocation failed), FZ_ERROR_LIMIT
_CODE = re.compile(r"^code=(\d+):")

# Drawing one form costs MuPDF about 10 us beyond its bytes (a gstate, a clip, a group),
# about what 128 bytes of path operators cost; counted so that empty forms add up too.
_DRAW_COST = 128
# `/Name Do`, `/Name scn`, `/Name gs`: the operators that run another content stream.
_CALL = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*(Do|scn|SCN|gs)(?![^\s/\[\]()<>{}%])")
# Resource kinds whose entries run content, and the operators that run them.
_RUNS = {"XObject": (b"Do",), "Pattern": (b"scn", b"SCN"), "ExtGState": (b"gs",), "Font": ()}
_FONT = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+[-+\d.]+\s+Tf(?![^\s/\[\]()<>{}%])")
_STRING = re.compile(rb"\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>")
_CHUNK = 1 << 20
DAMAGED = "The PDF is damaged: re-export or re-save it (e.g. print it to PDF), or re-download it."


def mupdf_error(exc: BaseException) -> bool:
    """Whether ``exc`` came from MuPDF (and so says something about the file)."""
    import pymupdf

    if isinstance(exc, pymupdf.FileDataError | pymupdf.mupdf.FzErrorBase):
        return True
    return isinstance(exc, RuntimeError) and bool(_CODE.match(str(exc)))


def typed(exc: BaseException, what: str) -> DocintelError | None:
    """The typed error for a MuPDF failure (or MemoryError) while doing ``what``; else None.

    ``what`` names the document and step, e.g. "a.pdf: page 3 could not be rendered".
    """
    if isinstance(exc, DocintelError):
        return exc
    code = getattr(exc, "m_code", None)
    if code is None and (match := _CODE.match(str(exc))):
        code = int(match.group(1))
    if isinstance(exc, MemoryError) or (mupdf_error(exc) and code == _SYSTEM):
        return OutOfMemory(
            f"{what}: memory ran out ({brief(exc)}). Try again when fewer documents are in "
            "progress, or give this process more memory."
        )
    if mupdf_error(exc) and code == _LIMIT:
        return InputTooLarge(
            f"{what}: {brief(exc)}. It needs more memory than there is or MuPDF allows; "
            "re-export the PDF with simpler pages (flatten or rasterize them), or split it."
        )
    if mupdf_error(exc):
        return CorruptDocument(f"{what}: {brief(exc)}. {DAMAGED}")
    return None


@contextmanager
def pdf_errors(what: str) -> Iterator[None]:
    """Re-raise MuPDF errors and MemoryError inside the block as typed docintel errors."""
    try:
        yield
    except Exception as exc:
        error = typed(exc, what)
        if error is None or error is exc:
            raise
        raise error from exc


def brief(exc: BaseException) -> str:
    """MuPDF's message without its "code=N:" prefix, short, for an error message."""
    text = _CODE.sub("", str(exc)).strip().rstrip(".") or type(exc).__name__
    return text[:200]


class ContentWork:
    """Bytes of content a page draws, forms counted each time they are drawn (see module doc).

    One per document: a form's cost is measured once and reused by every page that draws it.
    """

    def __init__(self, pdf: pymupdf.Document) -> None:
        import pymupdf

        self._m: Any = pymupdf.mupdf
        self._doc = self._m.pdf_document_from_fz_document(pdf.this)
        self._cost: dict[int, int] = {}  # object number -> work of drawing it once

    def page(self, page: pymupdf.Page, limit: int) -> int:
        """Work of drawing ``page`` (its annotations' appearances too); over ``limit`` it stops
        early and returns some value above ``limit``."""
        m = self._m
        obj = m.pdf_page_from_fz_page(page.this).obj()
        resources = m.pdf_dict_get_inheritable(obj, m.pdf_new_name("Resources"))
        contents = m.pdf_dict_gets(obj, "Contents")
        work = self._stream(
            lambda: m.pdf_open_contents_stream(self._doc, contents), resources, limit
        )
        annots = m.pdf_dict_gets(obj, "Annots")
        for i in range(m.pdf_array_len(annots) if m.pdf_is_array(annots) else 0):
            if work > limit:
                break
            normal = m.pdf_dict_getp(m.pdf_array_get(annots, i), "AP/N")
            for stream in [normal] if m.pdf_is_stream(normal) else self._values(normal):
                work += self._once(stream, resources, limit - work)
        return work

    def _once(self, obj: Any, inherited: Any, left: int) -> int:
        """Work of running the content stream ``obj`` once (memoized by object number)."""
        m = self._m
        if not m.pdf_is_stream(obj):
            return 0
        num = m.pdf_to_num(obj)
        if num in self._cost:
            return self._cost[num]
        self._cost[num] = 0  # a form that draws itself: MuPDF refuses the recursion
        own = m.pdf_dict_gets(obj, "Resources")
        resources = own if m.pdf_is_dict(own) else inherited  # MuPDF's fallback, too
        work = self._stream(lambda: m.pdf_open_stream(obj), resources, left)
        if work <= left:
            self._cost[num] = work
        else:
            del self._cost[num]  # measured only partly
        return work

    def _stream(self, open_stream: Callable[[], Any], resources: Any, left: int) -> int:
        callees, fonts = self._callees(resources)
        size = self._size(open_stream, left + 1)
        if not (callees or fonts) or size > left:
            return size
        data = self._read(open_stream, size)
        work = size
        for (name, op), count in Counter(_CALL.findall(data)).items():
            target = callees.get((_name(name), op))
            if target is not None:
                work += count * (_DRAW_COST + self._once(target, resources, left - work))
            if work > left:
                return work
        # A Type 3 glyph runs its CharProc each time it is shown (text extraction caches none)
        selected = {_name(raw) for raw in _FONT.findall(data)} if fonts else set()
        if used := [fonts[n] for n in selected if n in fonts]:
            glyph = max(self._glyph(font, resources, left - work) for font in used)
            work += _glyphs(data) * (_DRAW_COST + glyph)
        return work

    def _glyph(self, font: Any, inherited: Any, left: int) -> int:
        """Work of the dearest glyph of a Type 3 font."""
        m = self._m
        own = m.pdf_dict_gets(font, "Resources")
        resources = own if m.pdf_is_dict(own) else inherited
        procs = self._values(m.pdf_dict_gets(font, "CharProcs"))
        return max((self._once(proc, resources, left) for proc in procs), default=0)

    def _callees(self, resources: Any) -> tuple[dict[tuple[str, bytes], Any], dict[str, Any]]:
        """What content can run from ``resources``: {(name, operator): content stream} for
        forms (Do), tiling patterns (scn, SCN) and soft masks (gs); {name: font} for Type 3."""
        m = self._m
        calls: dict[tuple[str, bytes], Any] = {}
        fonts: dict[str, Any] = {}
        if not m.pdf_is_dict(resources):
            return calls, fonts
        for key, ops in _RUNS.items():
            table = m.pdf_dict_gets(resources, key)
            for i in range(m.pdf_dict_len(table) if m.pdf_is_dict(table) else 0):
                value, name = m.pdf_dict_get_val(table, i), m.pdf_dict_get_key(table, i)
                if key == "XObject" and not _is(m, value, "Subtype", "Form"):
                    continue
                if key == "Pattern" and m.pdf_to_int(m.pdf_dict_gets(value, "PatternType")) != 1:
                    continue
                if key == "ExtGState":
                    value = m.pdf_dict_getp(value, "SMask/G")
                if key == "Font":
                    if _is(m, value, "Subtype", "Type3"):
                        fonts[m.pdf_to_name(name)] = value
                elif m.pdf_is_stream(value):
                    calls.update({(m.pdf_to_name(name), op): value for op in ops})
        return calls, fonts

    def _values(self, obj: Any) -> list[Any]:
        m = self._m
        count = m.pdf_dict_len(obj) if m.pdf_is_dict(obj) else 0
        return [m.pdf_dict_get_val(obj, i) for i in range(count)]

    def _size(self, open_stream: Callable[[], Any], cap: int) -> int:
        """Decoded length of the stream, reading at most ``cap`` bytes and keeping none.

        A stream that fails to decode counts up to where it failed: MuPDF draws that much.
        """
        size = 0
        try:
            stream = open_stream()
            while size < cap:
                n = self._m.fz_skip(stream, min(_CHUNK, cap - size))
                if n == 0:
                    break
                size += n
        except Exception:  # damaged filters end the stream here, as they do in MuPDF
            pass
        return size

    def _read(self, open_stream: Callable[[], Any], size: int) -> bytes:
        """The decoded stream, known to be ``size`` bytes (what decodes of it, if damaged)."""
        try:
            buffer, _ = self._m.fz_read_best(open_stream(), size, size + 1)
            return bytes(buffer.fz_buffer_extract())
        except Exception:  # see _size
            return b""


def _is(m: Any, obj: Any, key: str, name: str) -> bool:
    value = m.pdf_dict_gets(obj, key)
    return bool(m.pdf_is_name(value)) and m.pdf_to_name(value) == name


def _name(raw: bytes) -> str:
    """A content-stream name as MuPDF spells dictionary keys (#xx escapes decoded)."""
    raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda g: bytes([int(g.group(1), 16)]), raw)
    return raw.decode("utf-8", "replace")


def _glyphs(data: bytes) -> int:
    """How many glyphs a content stream can show at most: the bytes of its strings."""
    total = 0
    for string in _STRING.findall(data):
        total += len(string) - 2 if string[:1] == b"(" else (len(b"".join(string.split())) - 2) // 2
    return total
