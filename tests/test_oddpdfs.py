"""Odd PDFs end in a result or a typed docintel error, within a bound, never an untyped one.

Two sets: the 32 broken or unusual files from pdf.js's test corpus in ../shared/data/oddpdfs
(third-party, read in place), and breakages generated here from a small PDF: truncations,
fuzzed bytes, a lying page tree, garbage content, encryption, and the shapes that make MuPDF
run for ever (forms drawing forms, Type 3 glyphs drawing forms, inflating content).

Each file runs in a worker process (load, first page image, regions, every page's words), so
a hang is a failure with a name instead of a stuck test run; C code cannot be interrupted.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import random
import re
import time
import traceback
import zlib
from collections.abc import Iterator
from multiprocessing.pool import Pool

import pymupdf
import pytest
from conftest import SHARED_DATA

import docintel
from docintel.errors import CorruptDocument, InputTooLarge
from docintel.ingest import load as ingest
from docintel.render.pdfguard import ContentWork

ODD = SHARED_DATA / "oddpdfs"
BOUND = 20.0  # seconds for one file: load, image, regions, words (a normal page takes < 1 s)


def outcome(name: str, data: bytes) -> tuple[str, str, float]:
    """(name, "ok" | error class | "UNTYPED ...", seconds), run in a worker."""
    import warnings

    from docintel.errors import DocintelError

    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "repaired while opening"
            doc = docintel.load(data, name=name)
            page = doc[0]
            page.image()
            _ = page.regions
            _ = [p.words for p in doc]
        result = "ok"
    except DocintelError as exc:
        result = type(exc).__name__
    except BaseException as exc:
        result = f"UNTYPED {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    return name, result, time.perf_counter() - start


@pytest.fixture(scope="module")
def workers() -> Iterator[Pool]:
    # spawn: forking a multi-threaded pytest process can deadlock the child
    pool = multiprocessing.get_context("spawn").Pool(2)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def run_all(pool: Pool, cases: dict[str, bytes]) -> dict[str, str]:
    """Every case through ``outcome``; fails naming the case that hangs, errs untyped or is slow."""
    pending = [(name, pool.apply_async(outcome, (name, data))) for name, data in cases.items()]
    results: dict[str, str] = {}
    for name, future in pending:
        try:
            _, result, seconds = future.get(timeout=BOUND + 10)  # queued behind <= 1 other
        except multiprocessing.TimeoutError:
            pool.terminate()
            pytest.fail(f"{name}: no result within {BOUND + 10:.0f} s (a hang)")
        assert not result.startswith("UNTYPED"), f"{name}: {result}"
        assert seconds < BOUND, f"{name}: {seconds:.1f} s"
        results[name] = result
    return results


# ---- pdf.js's odd PDFs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def odd_pdfs() -> dict[str, bytes]:
    if not ODD.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{ODD} is missing on CI")
        pytest.skip(f"{ODD} is not here (third-party data, see ../shared/data/README.md)")
    return {p.name: p.read_bytes() for p in sorted(ODD.glob("*.pdf"))}


def test_pdfjs_odd_pdfs_end_in_a_result_or_a_typed_error(
    workers: Pool, odd_pdfs: dict[str, bytes]
) -> None:
    assert len(odd_pdfs) == 32
    results = run_all(workers, odd_pdfs)
    assert results["bug1721218_reduced.pdf"] == "ok"  # reported as hanging in load
    # /Count 9999999999: MuPDF's "code=7: Invalid number of pages" was an untyped RuntimeError
    assert results["poppler-67295-0.pdf"] == "CorruptDocument"
    # /Pages that points nowhere (or at a page) is a damaged tree, not an empty document
    assert results["issue21436.pdf"] == results["issue18986.pdf"] == "CorruptDocument"


# ---- generated breakages --------------------------------------------------------------------


def small_pdf() -> bytes:
    """Two pages of text, a ruled box and an image, as pymupdf writes them."""
    from PIL import Image

    pdf = pymupdf.open()
    png = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(png, "PNG")
    for i in range(2):
        page = pdf.new_page()
        page.insert_text((72, 72), f"Page {i + 1}: invoice number 12345, total 99.50 EUR")
        page.draw_rect(pymupdf.Rect(72, 100, 300, 200))
        page.insert_image(pymupdf.Rect(72, 220, 200, 320), stream=png.getvalue())
    return pdf.tobytes()


def write_pdf(objects: dict[int, tuple[str, bytes | None]], root: int) -> bytes:
    """A PDF with a correct xref from {number: (dictionary or value, stream bytes or None)}."""
    out, offsets = bytearray(b"%PDF-1.7\n"), {}
    for num in sorted(objects):
        text, stream = objects[num]
        offsets[num] = len(out)
        out += f"{num} 0 obj\n{text}\n".encode("latin-1")
        if stream is not None:
            out += b"stream\n" + stream + b"\nendstream\n"
        out += b"endobj\n"
    xref, size = len(out), max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for num in range(1, size):
        entry = f"{offsets[num]:010d} 00000 n" if num in offsets else "0000000000 65535 f"
        out += f"{entry} \n".encode()
    out += f"trailer\n<</Size {size}/Root {root} 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def objects_of(data: bytes) -> tuple[dict[int, tuple[str, bytes | None]], int, int, int]:
    """(objects, catalog, page tree root, first page) of a PDF, ready to edit and rewrite."""
    pdf = pymupdf.open(stream=data)
    objects = {
        x: (
            pdf.xref_object(x, compressed=True),
            pdf.xref_stream_raw(x) if pdf.xref_is_stream(x) else None,
        )
        for x in range(1, pdf.xref_length())
    }
    catalog = pdf.pdf_catalog()
    pages = int(pdf.xref_get_key(catalog, "Pages")[1].split()[0])
    return objects, catalog, pages, pdf[0].xref


def set_key(text: str, key: str, value: str) -> str:
    """``text`` (a dictionary) with /key set to ``value``."""
    pattern = rf"/{key}(?=[\s/\[<(])\s*(\[[^\]]*\]|\d+ \d+ R|[^/>\s]+)"
    edited, n = re.subn(pattern, lambda _: f"/{key} {value}", text)
    return edited if n else f"{text[:-2]}/{key} {value}>>"


def edited(data: bytes, num: int, **keys: str) -> bytes:
    objects, catalog, _, _ = objects_of(data)
    text, stream = objects[num]
    for key, value in keys.items():
        text = set_key(text, key, value)
    objects[num] = (text, stream)
    return write_pdf(objects, catalog)


def with_contents(data: bytes, stream: bytes, extra: str = "") -> bytes:
    """``data`` with page 1's content stream replaced."""
    objects, catalog, _, _ = objects_of(data)
    contents = pymupdf.open(stream=data)[0].get_contents()[0]
    objects[contents] = (f"<</Length {len(stream)}{extra}>>", stream)
    return write_pdf(objects, catalog)


def one_page(
    content: bytes, resources: str, more: dict[int, tuple[str, bytes | None]], flate: bool = False
) -> bytes:
    """A one-page PDF (objects 1-4) drawing ``content``, with objects 5... in ``more``."""
    objects: dict[int, tuple[str, bytes | None]] = {
        1: ("<</Type/Catalog/Pages 2 0 R>>", None),
        2: ("<</Type/Pages/Kids[3 0 R]/Count 1>>", None),
        3: (
            f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
            f"/Resources<<{resources}>>>>",
            None,
        ),
        4: (f"<</Length {len(content)}{'/Filter/FlateDecode' if flate else ''}>>", content),
    }
    return write_pdf(objects | more, 1)


def form(content: bytes, resources: str = "") -> tuple[str, bytes]:
    head = f"<</Type/XObject/Subtype/Form/BBox[0 0 612 792]/Resources<<{resources}>>"
    return f"{head}/Length {len(content)}>>", content


def nested_forms(levels: int, fan: int = 10) -> bytes:
    """Form k draws form k-1 ``fan`` times: the page asks for fan**levels drawings."""
    more = {5: form(b"BT /H 12 Tf 10 10 Td (x) Tj ET 0 0 m 10 10 l S", HELVETICA)}
    for k in range(1, levels + 1):
        more[5 + k] = form(b"/F Do " * fan, f"/XObject<</F {4 + k} 0 R>>")
    return one_page(b"/F Do", f"/XObject<</F {5 + levels} 0 R>>", more)


def type3_forms(levels: int, fan: int = 10) -> bytes:
    """A Type 3 glyph that draws nested forms: each glyph shown runs all of them."""
    font = (
        "<</Type/Font/Subtype/Type3/FontBBox[0 0 1000 1000]/FontMatrix[0.001 0 0 0.001 0 0]"
        "/CharProcs<</a 6 0 R>>/Encoding<</Type/Encoding/Differences[97/a]>>/FirstChar 97"
        f"/LastChar 97/Widths[1000]/Resources<</XObject<</F {7 + levels} 0 R>>>>>>"
    )
    more: dict[int, tuple[str, bytes | None]] = {5: (font, None)}
    more[6] = ("<</Length 15>>", b"1000 0 d0 /F Do")
    more[7] = form(b"0 0 m 10 10 l S")
    for k in range(1, levels + 1):
        more[7 + k] = form(b"/F Do " * fan, f"/XObject<</F {6 + k} 0 R>>")
    return one_page(b"BT /T 12 Tf 72 700 Td (aaaa) Tj ET", "/Font<</T 5 0 R>>", more)


def inflating(megabytes: int) -> bytes:
    """A page whose ~100 kB Flate content stream inflates to ``megabytes`` of path operators."""
    packer, chunk = zlib.compressobj(9), b"0 0 m 1 1 l S\n" * 75_000  # ~1 MiB
    body = b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()
    return one_page(body, "", {}, flate=True)


HELVETICA = "/Font<</H<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>>>"


def breakages() -> tuple[dict[str, bytes], dict[str, str]]:
    """Generated cases, and the outcome expected where it is not just "typed or ok"."""
    plain = small_pdf()
    packed = pymupdf.open(stream=plain).tobytes(deflate=True, use_objstms=1, garbage=3)
    _, catalog, pages, page = objects_of(plain)
    cases: dict[str, bytes] = {}
    expect: dict[str, str] = {}
    for label, data in (("plain", plain), ("packed", packed)):
        for k in range(1, 12):
            cases[f"{label} truncated at {k}/12"] = data[: len(data) * k // 12]
        rng = random.Random(f"docintel {label}")
        for k in range(40):
            fuzzed = bytearray(data)
            for _ in range(rng.choice([1, 4, 16, 64])):
                fuzzed[rng.randrange(len(fuzzed))] = rng.randrange(256)
            cases[f"{label} fuzzed {k}"] = bytes(fuzzed)
    cases["no xref"] = plain[: plain.rfind(b"\nxref\n")] + plain[plain.rfind(b"\ntrailer") :]
    cases["no startxref"] = plain.replace(b"startxref", b"startxrex")
    for count in ["0", "1", "3", "-1", "2147483648", "9999999999", "1999", "(two)", "null"]:
        cases[f"/Count {count}"] = edited(plain, pages, Count=count)
    for count in ["-1", "2147483648", "9999999999", "1999", "0"]:
        expect[f"/Count {count}"] = "CorruptDocument"
    cases["empty page tree"] = edited(plain, pages, Kids="[]", Count="0")
    expect["empty page tree"] = "EmptyDocument"
    cases["empty /Kids, /Count 2"] = edited(plain, pages, Kids="[]")
    cases["/Kids cycle"] = edited(plain, pages, Kids=f"[{pages} 0 R]")
    cases["/Kids missing objects"] = edited(plain, pages, Kids="[998 0 R 999 0 R]")
    cases["/Pages null"] = edited(plain, catalog, Pages="null")
    cases["/Pages is a page"] = edited(plain, catalog, Pages=f"{page} 0 R")
    for name in ("empty /Kids, /Count 2", "/Kids cycle", "/Pages null", "/Pages is a page"):
        expect[name] = "CorruptDocument"
    cases["garbage /Contents"] = with_contents(plain, bytes(range(256)) * 20)
    cases["bad Flate /Contents"] = with_contents(plain, b"\x00garbage" * 10, "/Filter/FlateDecode")
    cases["unbalanced operators"] = with_contents(plain, b"Q Q ) ] >> BI /W 99999 ID x EI q" * 50)
    cases["missing /Contents"] = edited(plain, page, Contents="999 0 R")
    cases["/MediaBox garbage"] = edited(plain, page, MediaBox="[(a) 0 1 1]")
    cases["/UserUnit 75000"] = edited(plain, page, UserUnit="75000")
    expect["/UserUnit 75000"] = "InputTooLarge"
    pdf = pymupdf.open(stream=plain)
    cases["encrypted"] = pdf.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u")
    expect["encrypted"] = "EncryptedDocument"
    cases["zero bytes"] = b""
    expect["zero bytes"] = "EmptyDocument"
    cases["header only"] = b"%PDF-1.7\n"
    cases["10^3 nested form draws"] = nested_forms(3)
    expect["10^3 nested form draws"] = "ok"
    cases["10^9 nested form draws"] = nested_forms(9)  # 2.5 kB; MuPDF never returned
    cases["Type 3 glyphs drawing 10^8 forms"] = type3_forms(8)
    cases["content inflating to 80 MiB"] = inflating(80)
    for name in list(cases)[-3:]:
        expect[name] = "InputTooLarge"
    return cases, expect


def test_generated_breakages_end_in_a_result_or_a_typed_error(workers: Pool) -> None:
    cases, expect = breakages()
    start = time.perf_counter()
    results = run_all(workers, cases)
    assert {name: results[name] for name in expect} == expect
    assert time.perf_counter() - start < 60


# ---- the budgets, in this process -----------------------------------------------------------


def test_drawing_work_is_refused_before_anything_runs() -> None:
    start = time.perf_counter()
    with pytest.raises(InputTooLarge, match=r"page 1 draws over 64 MiB.*forms counted") as info:
        docintel.load(nested_forms(12))  # 10^12 drawings
    assert info.value.limit == 64 << 20 and info.value.actual > info.value.limit
    assert time.perf_counter() - start < 2


def test_document_budget_counts_every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    three = pymupdf.open()
    for _ in range(3):
        three.new_page().draw_rect(pymupdf.Rect(10, 10, 20, 20))
    opened = pymupdf.open(stream=three.tobytes())
    page = ContentWork(opened).page(opened[0], 1 << 30)  # the same for all three
    monkeypatch.setattr(ingest, "_MAX_DOC_WORK", 2 * page + 1)
    with pytest.raises(InputTooLarge, match="split it") as info:
        docintel.load(three.tobytes())
    assert info.value.limit == 2 * page + 1
    monkeypatch.setattr(ingest, "_MAX_DOC_WORK", 3 * page)
    assert len(docintel.load(three.tobytes())) == 3


def test_mupdf_errors_while_rendering_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = docintel.load(small_pdf(), name="a.pdf")

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("code=7: object out of range")

    monkeypatch.setattr(pymupdf.Page, "get_pixmap", fail)
    with pytest.raises(CorruptDocument, match=r"a.pdf: page 2 could not be rendered: object"):
        doc[1].image()
    monkeypatch.setattr(pymupdf.Page, "get_drawings", fail)
    with pytest.raises(CorruptDocument, match=r"a.pdf: page 1 could not be laid out"):
        _ = doc[0].regions


FILLER = b"0 0 m 1 1 l S\n" * 1000  # 14 kB of paths: one run of any route below


@pytest.mark.parametrize(
    ("content", "resources", "more"),
    [
        (b"/F Do /F Do /F Do", "/XObject<</F 5 0 R>>", {5: form(FILLER)}),
        (
            b"/Pattern cs /P scn 0 0 9 9 re f /P scn 0 0 9 9 re f /P#20Q scn 0 0 9 9 re f",
            "/Pattern<</P 5 0 R/P#20Q 5 0 R>>",
            {
                5: (
                    "<</PatternType 1/PaintType 1/TilingType 1/BBox[0 0 9 9]/XStep 9/YStep 9"
                    f"/Resources<<>>/Length {len(FILLER)}>>",
                    FILLER,
                )
            },
        ),
        (
            b"/G gs 0 0 9 9 re f /G gs /G gs",
            "/ExtGState<</G<</SMask<</S/Luminosity/G 5 0 R>>>>>>",
            {5: form(FILLER)},
        ),
        (
            b"BT /T 12 Tf (a) Tj <6161> Tj ET",
            "/Font<</T 5 0 R>>",
            {
                5: (
                    "<</Type/Font/Subtype/Type3/FontBBox[0 0 1 1]/FontMatrix[1 0 0 1 0 0]"
                    "/CharProcs<</a 6 0 R>>/Encoding<</Differences[97/a]>>/FirstChar 97"
                    "/LastChar 97/Widths[1]>>",
                    None,
                ),
                6: (f"<</Length {len(FILLER)}>>", FILLER),
            },
        ),
    ],
    ids=["form", "tiling pattern", "soft mask", "Type 3 glyph"],
)
def test_content_work_counts_each_run(content: bytes, resources: str, more: dict) -> None:
    pdf = pymupdf.open(stream=one_page(content, resources, more))
    assert 3 * len(FILLER) <= ContentWork(pdf).page(pdf[0], 1 << 30) < 4 * len(FILLER)


def test_content_work_counts_annotation_appearances() -> None:
    pdf = pymupdf.open(stream=one_page(b"", "", {}))
    annot = pdf[0].add_rect_annot(pymupdf.Rect(10, 10, 50, 50))
    appearance = pdf.xref_get_key(annot.xref, "AP/N")[1]
    pdf.update_stream(int(appearance.split()[0]), FILLER)
    reopened = pymupdf.open(stream=pdf.tobytes())
    assert ContentWork(reopened).page(reopened[0], 1 << 30) >= len(FILLER)
