"""Ingestion: anything a user has becomes a ``Document``, or a typed error that says what to do.

Accepted sources: a path, bytes, a binary file object, an ``http(s)://`` URL, a ``data:`` URL,
bare base64, or a PIL image. The kind comes from the content, never from the file name.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import threading
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from docintel.document import Document, DocumentKind, Page, PageKind, Word
from docintel.errors import (
    BlockedURL,
    CorruptDocument,
    DocintelError,
    EmptyDocument,
    EncryptedDocument,
    InputNotFound,
    InputTooLarge,
    UnsupportedInput,
)
from docintel.geometry import BBox
from docintel.ingest.budget import within
from docintel.pages.stages import STAGES
from docintel.render.pdfguard import DAMAGED, ContentWork, brief, pdf_errors, typed
from docintel.settings import Settings, get_settings

if TYPE_CHECKING:
    import pymupdf
    from PIL import Image

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

SUPPORTED = "PDF, PNG, JPEG, TIFF, WebP or BMP"
_IMAGE_MAGIC: list[tuple[bytes, DocumentKind]] = [
    (b"\x89PNG\r\n\x1a\n", DocumentKind.PNG),
    (b"\xff\xd8\xff", DocumentKind.JPEG),
    (b"II*\x00", DocumentKind.TIFF),
    (b"MM\x00*", DocumentKind.TIFF),
    (b"BM", DocumentKind.BMP),
]
_BASE64 = re.compile(rb"^[A-Za-z0-9+/_\-\s]+={0,2}\s*$")
# A page whose text layer has fewer words than this but is covered by an image is a scan.
_MIN_WORDS = 3
# Drawing work a PDF may ask for (decoded content bytes, forms counted each time they are
# drawn; see pdfguard). Measured on one core: 50 MB of path operators on one page took 2.5 s
# to load, 5.5 s to render and 6.5 s to lay out; load extracts text at ~25 MB/s, so a
# document at its limit loads in about 40 s.
_MAX_PAGE_WORK = 64 << 20
_MAX_DOC_WORK = 1 << 30
# PDF's largest page without UserUnit (200 inches). Layout draws 1 px/pt masks of the page.
_MAX_PAGE_SIDE = 14_400


def load(
    source: Source | Document | Image.Image,
    *,
    password: str | None = None,
    name: str | None = None,
    settings: Settings | None = None,
    **overrides: Any,
) -> Document:
    """Load ``source`` into a ``Document``.

    ``password`` opens encrypted PDFs. ``settings`` (or keyword overrides such as
    ``max_pages=50`` or ``target_longest_side=768``) set limits and rendering.
    """
    if isinstance(source, Document):
        return source
    settings = settings or get_settings()
    if overrides:
        settings = settings.model_copy(update=overrides)
    data, default_name = _read(source, settings)
    return from_bytes(data, password=password, name=name or default_name, settings=settings)


def from_bytes(
    data: bytes, *, password: str | None = None, name: str | None = None, settings: Settings
) -> Document:
    """Build a ``Document`` from raw bytes (the kind is sniffed from the content)."""
    if name is not None:  # a file name that is not UTF-8 (legal on Linux) stays printable
        name = os.fsencode(name).decode("utf-8", "backslashreplace")
    label = name or "input"
    if not data:
        raise EmptyDocument(f"{label} is empty (0 bytes). Check that the file was fully written.")
    within(len(data), "max_bytes", settings, f"{label} is {len(data)} bytes", "Split the document")
    kind = sniff(data)
    if kind is None:
        raise UnsupportedInput(
            f"{label} is not a {SUPPORTED} file (starts with {data[:8]!r}). "
            "Convert it to one of those formats."
        )
    sha256 = hashlib.sha256(data).hexdigest()
    if kind.is_pdf:
        return _open_pdf(data, sha256=sha256, name=name, password=password, settings=settings)
    return _open_image(data, kind, sha256=sha256, name=name, settings=settings)


def sniff(data: bytes) -> DocumentKind | None:
    """The document kind from its first bytes; PDFs come back as PDF_DIGITAL until opened."""
    if b"%PDF-" in data[:1024]:  # the spec tolerates leading junk before the header
        return DocumentKind.PDF_DIGITAL
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return DocumentKind.WEBP
    for magic, kind in _IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    return None


# ---- sources ------------------------------------------------------------------------------


def _read(source: Any, settings: Settings) -> tuple[bytes, str | None]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), None
    if isinstance(source, Path):
        return _read_path(source, settings), source.name
    if isinstance(source, str):
        return _read_str(source, settings)
    if isinstance(source, os.PathLike):
        path = Path(os.fspath(source))
        return _read_path(path, settings), path.name
    if _is_pil(source):
        buf = io.BytesIO()
        source.save(buf, format="PNG")
        return buf.getvalue(), None
    if hasattr(source, "read"):
        data = source.read(settings.max_bytes + 1)
        if isinstance(data, str):
            raise UnsupportedInput(
                "got a text-mode file object; open the file in binary mode: open(path, 'rb')."
            )
        name = getattr(source, "name", None)
        return bytes(data), Path(name).name if isinstance(name, str) else None
    raise UnsupportedInput(
        f"cannot load a {type(source).__name__}: pass a path, bytes, a binary file object, "
        "an http(s) or data: URL, base64 text, or a PIL image."
    )


def _read_str(text: str, settings: Settings) -> tuple[bytes, str | None]:
    head = text[:16].lower()
    if head.startswith(("http://", "https://")):
        from docintel.ingest.fetch import fetch

        data, final = fetch(text, settings)
        return data, Path(final.split("?")[0]).name or None
    if head.startswith("data:"):
        return _data_url(text), None
    if len(text) < 4096 and "\n" not in text:
        path = Path(text).expanduser()
        if path.exists():
            return _read_path(path, settings), path.name
    if len(text.strip()) >= 64 and _BASE64.match(text.encode("ascii", "ignore")):
        return _b64(text.encode("ascii")), None
    if "://" in text[:16]:
        raise BlockedURL(
            f"refusing URL scheme {text.split('://', 1)[0]!r}: only http(s) and data: URLs load."
        )
    return _read_path(Path(text).expanduser(), settings), Path(text).name


def decode_text(text: str) -> bytes:
    """A data: URL or base64 text to bytes. Never reads a path or fetches a URL: for text
    from untrusted callers (the HTTP API), where ``load(text)`` would do both."""
    text = text.strip()
    if text[:5].lower() == "data:":
        return _data_url(text)
    return _b64(text.encode("ascii", "ignore"))


def _read_path(path: Path, settings: Settings) -> bytes:
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise InputNotFound(f"{path} {what}. Pass the path of a document file.")
    size = path.stat().st_size
    within(size, "max_bytes", settings, f"{path} is {size} bytes", "Split the document")
    return path.read_bytes()


def _data_url(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise UnsupportedInput("malformed data: URL (no comma); expected data:<type>;base64,<b64>")
    if header.lower().endswith(";base64"):
        return _b64(payload.encode("ascii", "ignore"))
    return _unquote(payload)


def _unquote(payload: str, step: int = 1 << 16) -> bytes:
    """Percent-decode ``payload`` slice by slice.

    ``unquote_to_bytes`` splits its whole input at every "%" in one call: a 19 MB payload
    became 6 million pieces, 1.5 GB, and 1.6 s holding the GIL (the service's event loop
    frozen with it). Slices keep memory near the output's size and let other threads run.
    """
    out = bytearray()
    start, size = 0, len(payload)
    while start < size:
        end = min(size, start + step)
        if end < size:  # never cut an escape ("%4" | "1"): cut before a "%" in the last two
            cut = payload.rfind("%", end - 2, end)
            end = cut if cut != -1 else end
        out += unquote_to_bytes(payload[start:end])
        start = end
    return bytes(out)


def _b64(payload: bytes) -> bytes:
    compact = re.sub(rb"\s+", b"", payload)
    try:
        if b"-" in compact or b"_" in compact:
            return base64.urlsafe_b64decode(compact + b"=" * (-len(compact) % 4))
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnsupportedInput(
            f"invalid base64 data: {exc}. Send the file's bytes base64-encoded."
        ) from exc


def _is_pil(obj: object) -> bool:
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "save")


# ---- PDFs ---------------------------------------------------------------------------------


def _open_pdf(
    data: bytes, *, sha256: str, name: str | None, password: str | None, settings: Settings
) -> Document:
    import pymupdf

    label = name or "the PDF"
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # pymupdf raises FileDataError, FzError* and RuntimeErrors alike
        raise _damaged(exc, f"{label} is not a readable PDF") from exc
    try:
        doc = _pdf_document(
            pdf, data, sha256=sha256, name=name, password=password, settings=settings
        )
    except BaseException:
        pdf.close()
        raise
    scanned = sum(p.kind == PageKind.SCANNED for p in doc.pages)
    if scanned == len(doc.pages):
        doc.kind = DocumentKind.PDF_SCANNED
    elif scanned:
        doc.kind = DocumentKind.PDF_MIXED
    return doc


def _pdf_document(
    pdf: pymupdf.Document,
    data: bytes,
    *,
    sha256: str,
    name: str | None,
    password: str | None,
    settings: Settings,
) -> Document:
    label = name or "the PDF"
    with pdf_errors(f"{label} could not be decrypted"):
        if pdf.needs_pass:
            if password is None:
                raise EncryptedDocument(
                    f"{label} is encrypted. Pass its password: docintel.load(..., password=...) "
                    "or --password on the command line."
                )
            if not pdf.authenticate(password):
                raise EncryptedDocument(
                    f"wrong password for {label}. Check the password and retry."
                )
    count = _page_count(pdf, label)
    within(count, "max_pages", settings, f"{label} has {count} pages", "Split it")
    if pdf.is_repaired:
        warnings.warn(f"{label} was damaged and repaired while opening.", stacklevel=4)
    doc = Document(
        data,
        kind=DocumentKind.PDF_DIGITAL,
        sha256=sha256,
        name=name,
        settings=settings,
        stages=STAGES,
        pdf=pdf,
    )
    work, left = ContentWork(pdf), _MAX_DOC_WORK
    for i in range(count):
        page, cost = _pdf_page(doc, pdf, i, label, work, left)
        doc.pages.append(page)
        left -= cost
    return doc


def _page_count(pdf: pymupdf.Document, label: str) -> int:
    """The page count, validated: a /Count that lies or a page tree that is not there is
    ``CorruptDocument``; only a page tree that holds no pages is ``EmptyDocument``."""
    try:
        count = pdf.page_count
    except Exception as exc:  # MuPDF: "code=7: Invalid number of pages" (negative, overflowing)
        raise CorruptDocument(
            f"{label}: its page tree gives an invalid page count ({brief(exc)}). {DAMAGED}"
        ) from exc
    if count > 0:
        return count
    if pdf.is_repaired:  # a truncated file "repairs" into zero pages
        raise CorruptDocument(
            f"{label} is damaged (no readable pages after repair); it is probably truncated. "
            "Re-export or re-download it."
        )
    try:
        kids = pdf.xref_get_key(pdf.pdf_catalog(), "Pages/Kids")
    except Exception:  # no catalog at all
        kids = ("null", "null")
    if kids[0] == "array" and not kids[1].strip("[] \r\n\t"):
        raise EmptyDocument(f"{label} has no pages (its page tree is empty).")
    # pdf.js and some viewers rebuild such trees by scanning for page objects; MuPDF does not
    raise CorruptDocument(
        f"{label} has no readable pages: its page tree (the catalog's /Pages) is missing or "
        f"broken. {DAMAGED}"
    )


def _pdf_page(
    doc: Document, pdf: pymupdf.Document, index: int, label: str, work: ContentWork, left: int
) -> tuple[Page, int]:
    """Page ``index`` and its drawing work; refused before any of its content is run when the
    work is over the per-page or remaining per-document budget (see ``pdfguard``)."""
    what = f"{label}: page {index + 1}"
    try:
        pdf_page = pdf[index]
        rect = pdf_page.rect
    except Exception as exc:  # a broken page object, a page tree MuPDF cannot walk
        raise _damaged(exc, f"{what} could not be read") from exc
    if max(rect.width, rect.height) > _MAX_PAGE_SIDE:
        raise InputTooLarge(
            f"{what} is {rect.width:.0f} x {rect.height:.0f} points, over the largest page a "
            f"PDF can have without UserUnit scaling ({_MAX_PAGE_SIDE} points, 200 inches); its "
            "MediaBox or UserUnit is probably wrong. Re-export it at its real size.",
            limit=_MAX_PAGE_SIDE,
            actual=round(max(rect.width, rect.height)),
        )
    with pdf_errors(f"{what} could not be read"):
        cost = work.page(pdf_page, min(_MAX_PAGE_WORK, left))
    if cost > min(_MAX_PAGE_WORK, left):
        whole = cost > left and left < _MAX_PAGE_WORK  # the document's budget ran out first
        limit = _MAX_DOC_WORK if whole else _MAX_PAGE_WORK
        raise InputTooLarge(
            f"{label if whole else what} draws over {_amount(limit)} of page content (forms "
            "counted each time they are drawn): too much to read in bounded time, and the "
            "shape of a decompression bomb. Re-export it with simpler pages (flatten or "
            f"rasterize them){', or split it' if whole else ''}.",
            limit=limit,
            actual=_MAX_DOC_WORK - left + cost if whole else cost,
        )
    try:
        words = [
            Word(text=w[4], bbox=BBox.of(w[:4]), block=w[5], line=w[6])
            for w in pdf_page.get_text("words")  # content order; sort=True costs 8 ms/page
            if w[4].strip()
        ]
        kind = PageKind.DIGITAL
        if len(words) < _MIN_WORDS and _image_coverage(pdf_page) > 0.5:
            kind, words = PageKind.SCANNED, []
    except Exception as exc:
        raise _damaged(exc, f"{what} could not be read") from exc
    page = Page(doc, index, kind, raw_width=rect.width, raw_height=rect.height, words=words)
    return page, cost


def _amount(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size} bytes"


def _damaged(exc: BaseException, what: str) -> DocintelError:
    """MuPDF's error (or MemoryError) as a typed one; anything else from pymupdf while reading
    the file (IndexError, ValueError on a broken page) as ``CorruptDocument`` too."""
    return typed(exc, what) or CorruptDocument(f"{what}: {brief(exc)}. {DAMAGED}")


def _image_coverage(page: pymupdf.Page) -> float:
    """Share of the page area covered by its largest image."""
    area = page.rect.width * page.rect.height or 1.0
    best = 0.0
    for info in page.get_image_info():
        x0, y0, x1, y1 = info["bbox"]
        best = max(best, abs(x1 - x0) * abs(y1 - y0) / area)
    return best


# ---- images -------------------------------------------------------------------------------


def _open_image(
    data: bytes, kind: DocumentKind, *, sha256: str, name: str | None, settings: Settings
) -> Document:
    from PIL import Image, UnidentifiedImageError

    label = name or f"the {kind.value.upper()} image"
    try:
        with warnings.catch_warnings():
            # our own max_pixels check below is the limit; PIL's hard error stays as a backstop
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            count = getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptDocument(
            f"{label} is not a readable image ({exc}). It may be truncated or damaged."
        ) from exc
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(label, settings, None) from exc
    within(count, "max_pages", settings, f"{label} has {count} frames", "Split it")
    frames = ImageFrames(image, count, label, settings)
    doc = Document(
        data, kind=kind, sha256=sha256, name=name, settings=settings, stages=STAGES, frames=frames
    )
    doc.pages = [
        Page(doc, i, PageKind.IMAGE, raw_width=w * 72 / dpi, raw_height=h * 72 / dpi)
        for i, ((w, h), dpi) in enumerate(zip(frames.sizes, frames.dpis, strict=True))
    ]
    return doc


_TRANSPOSED = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height


class ImageFrames:
    """The frames of an image file, read from their headers at load, decoded when rendered.

    A 416 kB TIFF can hold 1000 frames of 1000 x 1000: decoding all of them to RGB at load
    took 19 minutes and 10 GB. Here loading reads each frame's header only (size, DPI, EXIF
    orientation), checks the per-frame and total pixel limits, and ``decode(i)`` decodes one
    frame when its page is rendered.
    """

    def __init__(self, image: Image.Image, count: int, label: str, settings: Settings) -> None:
        from docintel.document import _frame_dpi

        self._image, self._label = image, label
        self._lock = threading.Lock()  # one file object behind every frame
        self.sizes: list[tuple[int, int]] = []
        self.dpis: list[float] = []
        total = 0
        for i in range(count):
            try:
                image.seek(i)
                orientation = image.getexif().get(0x0112, 1)
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise CorruptDocument(
                    f"{label} could not be read (frame {i + 1}: {exc}). It may be truncated."
                ) from exc
            pixels = image.width * image.height
            if pixels > settings.max_pixels:  # checked before decoding
                raise _too_many_pixels(label, settings, pixels)
            total += pixels
            what = f"{label}: its first {i + 1} of {count} frames hold {total} pixels"
            within(total, "max_total_pixels", settings, what, "Split the file")
            size = (image.width, image.height)
            self.sizes.append(size[::-1] if orientation in _TRANSPOSED else size)
            self.dpis.append(_frame_dpi(image))

    def decode(self, index: int) -> Image.Image:
        """Frame ``index`` as RGB (or L), turned by its EXIF orientation."""
        from PIL import ImageOps

        with self._lock:
            try:
                self._image.seek(index)
                frame = ImageOps.exif_transpose(self._image)  # photos: the camera's orientation
                frame.load()
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise CorruptDocument(
                    f"{self._label} could not be decoded (frame {index + 1}: {exc}). "
                    "It may be truncated."
                ) from exc
            return frame.convert("RGB") if frame.mode not in ("RGB", "L") else frame.copy()


def _too_many_pixels(label: str, settings: Settings, pixels: int | None) -> InputTooLarge:
    size = f"{pixels} pixels" if pixels else "too many pixels"
    return InputTooLarge(
        f"{label} has {size}, over max_pixels={settings.max_pixels} (a decompression-bomb "
        "guard). Downscale the image or raise DOCINTEL_MAX_PIXELS.",
        limit=settings.max_pixels,
        actual=pixels,
    )
