"""Ingestion: every source type, every input kind, every error, without network."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import struct
import time
import zlib
from pathlib import Path

import pymupdf
import pytest
from conftest import image_bytes, send_bytes

import docintel
from docintel import DocumentKind, PageKind
from docintel.errors import (
    BlockedURL,
    CorruptDocument,
    DocintelError,
    EmptyDocument,
    EncryptedDocument,
    FetchError,
    InputNotFound,
    InputTooLarge,
    UnsupportedInput,
)

# ---- kinds ------------------------------------------------------------------------------------


def test_born_digital_pdf(fixtures: Path) -> None:
    data = (fixtures / "invoice-1.pdf").read_bytes()
    doc = docintel.load(fixtures / "invoice-1.pdf")
    assert doc.kind == DocumentKind.PDF_DIGITAL
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.name == "invoice-1.pdf"
    page = doc[0]
    assert page.kind == PageKind.DIGITAL and page.correction is None
    assert len(page.words) > 30
    assert "Invoice" in page.text or "INVOICE" in page.text
    assert all(page.bbox.contains(w.bbox, tolerance=1) for w in page.words)


def test_scanned_pdf(fixtures: Path) -> None:
    doc = docintel.load(fixtures / "invoice-1-scan.pdf")
    assert doc.kind == DocumentKind.PDF_SCANNED
    assert [p.kind for p in doc] == [PageKind.SCANNED] and doc[0].words == []


def test_mixed_pdf(fixtures: Path) -> None:
    doc = docintel.load(fixtures / "mixed.pdf")
    assert doc.kind == DocumentKind.PDF_MIXED
    assert [p.kind for p in doc] == [PageKind.DIGITAL, PageKind.SCANNED]


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tiff")],
)
def test_image_formats(fmt: str, kind: str) -> None:
    doc = docintel.load(image_bytes(fmt))
    assert doc.kind == DocumentKind(kind)
    assert len(doc) == 1 and doc[0].kind == PageKind.IMAGE
    assert doc[0].image().size == (768, 1024)


def test_multipage_tiff(fixtures: Path) -> None:
    doc = docintel.load(fixtures / "pages.tiff")
    assert doc.kind == DocumentKind.TIFF and len(doc) == 3
    sizes = {doc[i].image(256).size for i in range(3)}
    assert all(max(s) == 256 for s in sizes)


def test_exif_orientation_applied(fixtures: Path) -> None:
    from PIL import Image

    raw = Image.open(fixtures / "invoice-2-photo.jpg")
    assert raw.getexif().get(0x0112) == 6 and raw.width > raw.height  # stored sideways
    page = docintel.load(fixtures / "invoice-2-photo.jpg")[0]
    assert page.raw_height > page.raw_width  # upright after EXIF transpose


def test_kind_from_content_not_name(tmp_path: Path, fixtures: Path) -> None:
    liar = tmp_path / "looks-like.png"
    liar.write_bytes((fixtures / "invoice-1.pdf").read_bytes())
    assert docintel.load(liar).kind == DocumentKind.PDF_DIGITAL
    jpeg_as_pdf = tmp_path / "photo.pdf"
    jpeg_as_pdf.write_bytes(image_bytes("JPEG"))
    assert docintel.load(jpeg_as_pdf).kind == DocumentKind.JPEG


# ---- sources ----------------------------------------------------------------------------------


def test_every_source_type_gives_the_same_document(fixtures: Path) -> None:
    path = fixtures / "invoice-1.pdf"
    data = path.read_bytes()
    b64 = base64.b64encode(data).decode()
    sources: list[object] = [
        path,
        str(path),
        data,
        bytearray(data),
        memoryview(data),
        io.BytesIO(data),
        f"data:application/pdf;base64,{b64}",
        b64,
        "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76)),  # MIME-wrapped base64
        base64.urlsafe_b64encode(data).decode().rstrip("="),
    ]
    with path.open("rb") as fh:
        sources.append(fh)
        digests = {docintel.load(s).sha256 for s in sources}
    assert digests == {hashlib.sha256(data).hexdigest()}


def test_pil_image_source() -> None:
    from PIL import Image

    doc = docintel.load(Image.new("RGB", (300, 200), "white"))
    assert doc.kind == DocumentKind.PNG and doc[0].image(300).size == (300, 200)


def test_http_url(http_server, fixtures: Path) -> None:
    data = (fixtures / "invoice-1.pdf").read_bytes()
    base = http_server({"/inv.pdf": send_bytes(data, "application/pdf")})
    doc = docintel.load(f"{base}/inv.pdf", allow_private_urls=True)
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.name == "inv.pdf"


def test_http_redirect_followed(http_server, fixtures: Path) -> None:
    def redirect(req) -> None:
        req.send_response(302)
        req.send_header("Location", "/real.pdf")
        req.end_headers()

    data = (fixtures / "invoice-1.pdf").read_bytes()
    base = http_server({"/old": redirect, "/real.pdf": send_bytes(data)})
    assert docintel.load(f"{base}/old", allow_private_urls=True).name == "real.pdf"


# ---- errors -----------------------------------------------------------------------------------


def test_empty_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(EmptyDocument, match="empty"):
        docintel.load(empty)
    with pytest.raises(EmptyDocument):
        docintel.load(b"")


def test_pdf_without_pages() -> None:
    # pymupdf refuses to write a page-less PDF, so write the smallest one by hand
    body = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"  # noqa: E501
    with pytest.raises((EmptyDocument, CorruptDocument)):
        docintel.load(body)


def test_garbage_is_unsupported() -> None:
    with pytest.raises(UnsupportedInput, match="not a PDF, PNG"):
        docintel.load(b"hello, this is plain text and not a document at all")
    with pytest.raises(UnsupportedInput):
        docintel.load(b"GIF89a" + b"\x00" * 100)


def test_corrupt_pdf() -> None:
    with pytest.raises(CorruptDocument, match="not a readable PDF"):
        docintel.load(b"%PDF-1.7\n" + b"\x00\xff garbage " * 50)


def test_truncated_pdf(fixtures: Path) -> None:
    data = (fixtures / "invoice-1.pdf").read_bytes()
    with pytest.raises(CorruptDocument):
        docintel.load(data[:600])


def test_truncated_image() -> None:
    data = image_bytes("PNG")
    with pytest.raises(CorruptDocument, match=r"truncated|readable|decoded"):
        docintel.load(data[: len(data) // 2])
    with pytest.raises(CorruptDocument):
        docintel.load(image_bytes("JPEG")[:300])


def test_encrypted_pdf(fixtures: Path) -> None:
    path = fixtures / "encrypted.pdf"
    with pytest.raises(EncryptedDocument, match="password"):
        docintel.load(path)
    with pytest.raises(EncryptedDocument, match="wrong password"):
        docintel.load(path, password="nope")
    doc = docintel.load(path, password="secret")
    assert doc.kind == DocumentKind.PDF_DIGITAL and doc[0].words


def test_limits(fixtures: Path) -> None:
    with pytest.raises(InputTooLarge, match="max_bytes") as info:
        docintel.load(fixtures / "invoice-1.pdf", max_bytes=1000)
    assert info.value.limit == 1000
    with pytest.raises(InputTooLarge, match="max_pages"):
        docintel.load(fixtures / "mixed.pdf", max_pages=1)
    with pytest.raises(InputTooLarge, match="max_pages"):
        docintel.load(fixtures / "pages.tiff", max_pages=2)
    with pytest.raises(InputTooLarge, match="max_pixels"):
        docintel.load(image_bytes("PNG"), max_pixels=1000)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions: the decompression-bomb shape."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_before_decoding() -> None:
    start = time.perf_counter()
    with pytest.raises(InputTooLarge, match="decompression"):
        docintel.load(_png_header_only(60_000, 60_000))
    assert time.perf_counter() - start < 5  # refused from the header, never decoded


def test_wrong_python_types(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedInput, match="cannot load a int"):
        docintel.load(42)  # type: ignore[arg-type]
    text_file = tmp_path / "a.txt"
    text_file.write_text("hello")
    with text_file.open() as fh, pytest.raises(UnsupportedInput, match="binary mode"):
        docintel.load(fh)  # type: ignore[arg-type]
    with pytest.raises(InputNotFound, match="does not exist"):
        docintel.load(tmp_path / "missing.pdf")
    with pytest.raises(InputNotFound, match="does not exist"):
        docintel.load("missing.pdf")
    with pytest.raises(InputNotFound, match="directory"):
        docintel.load(tmp_path)
    with pytest.raises(UnsupportedInput, match="base64"):
        docintel.load("data:application/pdf;base64,@@@not-base64@@@")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.pdf",
        "http://localhost/x.pdf",
        "http://[::1]/x.pdf",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.pdf",
        "http://192.168.1.1/x.pdf",
        "http://0.0.0.0/x.pdf",
        "http://2130706433/x.pdf",  # 127.0.0.1 as an integer
        "http://[::ffff:127.0.0.1]/x.pdf",
        "file:///etc/passwd",
        "ftp://example.com/x.pdf",
        "gopher://example.com/x",
    ],
)
def test_hostile_urls_refused(url: str) -> None:
    with pytest.raises(BlockedURL):
        docintel.load(url)


def test_dns_name_resolving_to_private_address_is_refused(monkeypatch) -> None:
    def resolver(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(BlockedURL, match=r"non-public address 127\.0\.0\.1"):
        docintel.load("https://innocent.example.com/invoice.pdf")


def test_fetch_limits_and_failures(http_server) -> None:
    def slow(req) -> None:
        time.sleep(3)
        send_bytes(b"%PDF-1.4")(req)

    base = http_server({"/big": send_bytes(b"x" * 5000), "/slow": slow})
    with pytest.raises(InputTooLarge, match="fetch_max_bytes"):
        docintel.load(f"{base}/big", allow_private_urls=True, fetch_max_bytes=1000)
    with pytest.raises(FetchError, match="timed out"):
        docintel.load(f"{base}/slow", allow_private_urls=True, fetch_timeout=0.5)
    with pytest.raises(FetchError, match="HTTP 404"):
        docintel.load(f"{base}/missing", allow_private_urls=True)


def test_every_error_is_a_docintel_error() -> None:
    for exc in (EmptyDocument, CorruptDocument, EncryptedDocument, InputTooLarge, BlockedURL):
        assert issubclass(exc, DocintelError)


def test_repaired_pdf_warns_but_loads(fixtures: Path) -> None:
    data = (fixtures / "invoice-1.pdf").read_bytes()
    damaged = data.replace(b"startxref", b"startxrex")  # broken trailer: pymupdf repairs it
    with pytest.warns(UserWarning, match="repaired"):
        doc = docintel.load(damaged)
    assert doc[0].words


def test_password_is_not_needed_for_plain_pdf(fixtures: Path) -> None:
    assert docintel.load(fixtures / "invoice-1.pdf", password="unused")[0].words


def test_pymupdf_new_pdf_roundtrip() -> None:
    pdf = pymupdf.open()
    for i in range(3):
        pdf.new_page().insert_text((72, 72), f"page {i + 1} hello world text")
    doc = docintel.load(pdf.tobytes())
    assert len(doc) == 3 and doc[2].text.startswith("page 3")
