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
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from .document import Document, DocumentKind, Page, PageKind, Word
from .errors import (
    BlockedURL,
    CorruptDocument,
    EmptyDocument,
    EncryptedDocument,
    InputNotFound,
    InputTooLarge,
    UnsupportedInput,
)
from .geometry import BBox
from .settings import Settings, get_settings

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
    label = name or "input"
    if not data:
        raise EmptyDocument(f"{label} is empty (0 bytes). Check that the file was fully written.")
    if len(data) > settings.max_bytes:
        raise InputTooLarge(
            f"{label} is {len(data)} bytes, over max_bytes={settings.max_bytes}. "
            "Split the document or raise DOCINTEL_MAX_BYTES.",
            limit=settings.max_bytes,
            actual=len(data),
        )
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
        from .fetch import fetch

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
    if size > settings.max_bytes:
        raise InputTooLarge(
            f"{path} is {size} bytes, over max_bytes={settings.max_bytes}. "
            "Split the document or raise DOCINTEL_MAX_BYTES.",
            limit=settings.max_bytes,
            actual=size,
        )
    return path.read_bytes()


def _data_url(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise UnsupportedInput("malformed data: URL (no comma); expected data:<type>;base64,<b64>")
    if header.lower().endswith(";base64"):
        return _b64(payload.encode("ascii", "ignore"))
    return unquote_to_bytes(payload)


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
    except Exception as exc:  # pymupdf raises FileDataError and plain RuntimeErrors alike
        raise CorruptDocument(
            f"{label} is not a readable PDF ({exc}). It may be truncated or damaged; "
            "re-export or re-download it."
        ) from exc
    if pdf.needs_pass:
        if password is None:
            pdf.close()
            raise EncryptedDocument(
                f"{label} is encrypted. Pass its password: docintel.load(..., password=...) "
                "or --password on the command line."
            )
        if not pdf.authenticate(password):
            pdf.close()
            raise EncryptedDocument(f"wrong password for {label}. Check the password and retry.")
    if pdf.page_count == 0:
        repaired = pdf.is_repaired
        pdf.close()
        if repaired:  # a truncated file "repairs" into zero pages
            raise CorruptDocument(
                f"{label} is damaged (no readable pages after repair); it is probably truncated. "
                "Re-export or re-download it."
            )
        raise EmptyDocument(f"{label} has no pages.")
    if pdf.page_count > settings.max_pages:
        count = pdf.page_count
        pdf.close()
        raise InputTooLarge(
            f"{label} has {count} pages, over max_pages={settings.max_pages}. "
            "Split it or raise DOCINTEL_MAX_PAGES.",
            limit=settings.max_pages,
            actual=count,
        )
    if pdf.is_repaired:
        warnings.warn(f"{label} was damaged and repaired while opening.", stacklevel=3)
    doc = Document(
        data, kind=DocumentKind.PDF_DIGITAL, sha256=sha256, name=name, settings=settings, pdf=pdf
    )
    try:
        doc.pages = [_pdf_page(doc, pdf[i], i) for i in range(pdf.page_count)]
    except Exception as exc:
        pdf.close()
        raise CorruptDocument(
            f"{label} opened but a page could not be read ({exc}). Re-export the PDF."
        ) from exc
    scanned = sum(p.kind == PageKind.SCANNED for p in doc.pages)
    if scanned == len(doc.pages):
        doc.kind = DocumentKind.PDF_SCANNED
    elif scanned:
        doc.kind = DocumentKind.PDF_MIXED
    return doc


def _pdf_page(doc: Document, page: pymupdf.Page, index: int) -> Page:
    rect = page.rect
    words = [
        Word(text=w[4], bbox=BBox.of(w[:4]), block=w[5], line=w[6])
        for w in page.get_text("words")  # content order; sort=True costs 8 ms/page in Python
        if w[4].strip()
    ]
    kind = PageKind.DIGITAL
    if len(words) < _MIN_WORDS and _image_coverage(page) > 0.5:
        kind, words = PageKind.SCANNED, []
    return Page(doc, index, kind, raw_width=rect.width, raw_height=rect.height, words=words)


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
    from PIL import Image, ImageOps, UnidentifiedImageError

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
    if count > settings.max_pages:
        raise InputTooLarge(
            f"{label} has {count} frames, over max_pages={settings.max_pages}.",
            limit=settings.max_pages,
            actual=count,
        )
    frames: list[Image.Image] = []
    for i in range(count):
        image.seek(i)
        if image.width * image.height > settings.max_pixels:  # checked before decoding
            raise _too_many_pixels(label, settings, image.width * image.height)
        try:
            frame = ImageOps.exif_transpose(image)  # photos: apply the camera's orientation
            frame.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise CorruptDocument(
                f"{label} could not be decoded (frame {i + 1}: {exc}). It may be truncated."
            ) from exc
        frame = frame.convert("RGB") if frame.mode not in ("RGB", "L") else frame.copy()
        frame.info["dpi"] = image.info.get("dpi")
        frames.append(frame)
    doc = Document(data, kind=kind, sha256=sha256, name=name, settings=settings, frames=frames)
    doc.pages = [_image_page(doc, f, i) for i, f in enumerate(frames)]
    return doc


def _image_page(doc: Document, frame: Image.Image, index: int) -> Page:
    from .document import _frame_dpi

    f = 72 / _frame_dpi(frame)
    return Page(doc, index, PageKind.IMAGE, raw_width=frame.width * f, raw_height=frame.height * f)


def _too_many_pixels(label: str, settings: Settings, pixels: int | None) -> InputTooLarge:
    size = f"{pixels} pixels" if pixels else "too many pixels"
    return InputTooLarge(
        f"{label} has {size}, over max_pixels={settings.max_pixels} (a decompression-bomb "
        "guard). Downscale the image or raise DOCINTEL_MAX_PIXELS.",
        limit=settings.max_pixels,
        actual=pixels,
    )
