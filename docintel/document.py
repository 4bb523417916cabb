"""What ingestion produces: a ``Document`` of ``Page``s with images, text layers and regions.

Everything is lazy: a page is rendered, corrected and laid out only when asked; page images
are kept in the process-wide, byte-bounded ``imagecache``, layouts and words on the page.
Coordinates are PDF points on the page as ``Page.image()`` shows it (for scans, after
orientation and deskew), origin top-left; ``Page.to_pixels``/``Page.to_points`` convert.
"""

from __future__ import annotations

import io
import itertools
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from docintel.errors import DocumentClosed
from docintel.geometry import BBox
from docintel.render import imagecache
from docintel.render.tokens import image_tokens
from docintel.settings import Settings

if TYPE_CHECKING:
    import pymupdf
    from PIL import Image

    from docintel.render.preprocess import Correction


_ids = itertools.count(1)  # cache owners: one per Document
_WORK_SIDE = 1600  # pixels: resolution at which orientation and skew are estimated


class DocumentKind(StrEnum):
    PDF_DIGITAL = "pdf_digital"  # every page has a text layer
    PDF_SCANNED = "pdf_scanned"  # image-only pages
    PDF_MIXED = "pdf_mixed"  # some of each
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    WEBP = "webp"
    BMP = "bmp"

    @property
    def is_pdf(self) -> bool:
        return self.value.startswith("pdf")


class PageKind(StrEnum):
    DIGITAL = "digital"  # a PDF page with a text layer: rendered as is
    SCANNED = "scanned"  # a PDF page that is only an image: preprocessed
    IMAGE = "image"  # a frame of an image file: preprocessed


class RegionKind(StrEnum):
    TEXT = "text"
    TABLE = "table"
    FIGURE = "figure"  # pictures, diagrams and charts
    FORMULA = "formula"
    HANDWRITING = "handwriting"


@dataclass(frozen=True, slots=True)
class Word:
    """One word of the page's text layer (or of OCR), with its box in page points."""

    text: str
    bbox: BBox
    block: int = 0
    line: int = 0


@dataclass(frozen=True, slots=True)
class Region:
    """A part of a page with one kind of content."""

    kind: RegionKind
    bbox: BBox
    page: int
    confidence: float = 1.0
    source: str = "text_layer"  # "text_layer" or "image": what the detection was based on
    text: str = ""


@dataclass
class Page:
    """One page: a PDF page or an image frame."""

    document: Document = field(repr=False)
    index: int
    kind: PageKind
    raw_width: float  # points, before orientation correction
    raw_height: float
    words: list[Word] = field(default_factory=list, repr=False)

    @property
    def preprocessed(self) -> bool:
        """Scans and photos are oriented, deskewed and cleaned; born-digital pages only if asked."""
        return self.kind != PageKind.DIGITAL or self.document.settings.preprocess_digital

    @cached_property
    def correction(self) -> Correction | None:
        """Orientation, skew and enhancement applied to this page (estimated on first use)."""
        if not self.preprocessed:
            return None
        from docintel.render.preprocess import correct

        with self.document._lock:
            probe = self.document._raw(self, _WORK_SIDE / max(self.raw_width, self.raw_height))
        return correct(probe)[1]

    @property
    def width(self) -> float:
        """Width in points of the page as ``image()`` shows it."""
        return self.raw_height if self._turned else self.raw_width

    @property
    def height(self) -> float:
        return self.raw_width if self._turned else self.raw_height

    @property
    def _turned(self) -> bool:
        return self.correction is not None and self.correction.rotation in (90, 270)

    @property
    def has_text_layer(self) -> bool:
        return bool(self.words)

    @cached_property
    def scan_side(self) -> int | None:
        """The page's longest side in pixels as it was scanned or photographed: the image's
        own size, or a scanned PDF page's largest image at its resolution. None when born digital.
        """
        if self.kind == PageKind.DIGITAL:
            return None
        frames = self.document._frames
        if frames is not None:
            return max(frames.sizes[self.index])
        pdf_page = self.pdf_page
        if pdf_page is None:
            return None
        per_point = 0.0  # pixels per point of the sharpest image drawn on the page
        with self.document._lock:
            images = pdf_page.get_image_info()
        for info in images:
            x0, y0, x1, y1 = info["bbox"]
            drawn = max(abs(x1 - x0), abs(y1 - y0))
            if drawn > 0:
                per_point = max(per_point, max(info["width"], info["height"]) / drawn)
        return round(per_point * max(self.raw_width, self.raw_height)) or None

    @property
    def pdf_page(self) -> pymupdf.Page | None:
        """The underlying pymupdf page (vector drawings, images, fonts), or None for images."""
        pdf = self.document._pdf
        return None if pdf is None else pdf[self.index]

    @property
    def text(self) -> str:
        """The text layer in reading order (blocks, lines), empty for scans and images."""
        lines: dict[tuple[int, int], list[str]] = {}
        for w in self.words:
            lines.setdefault((w.block, w.line), []).append(w.text)
        return "\n".join(" ".join(ws) for ws in lines.values())

    @property
    def bbox(self) -> BBox:
        return BBox(0.0, 0.0, self.width, self.height)

    # ---- coordinates -------------------------------------------------------------------
    def scale(self, longest_side: int | None = None) -> float:
        """Pixels per point of ``image(longest_side)``."""
        side = longest_side or self.document.settings.target_longest_side
        return side / max(self.width, self.height)

    def pixel_size(self, longest_side: int | None = None) -> tuple[int, int]:
        s = self.scale(longest_side)
        return max(1, round(self.width * s)), max(1, round(self.height * s))

    def to_pixels(self, box: BBox, longest_side: int | None = None) -> BBox:
        return box.scale(self.scale(longest_side))

    def to_points(self, box: BBox, longest_side: int | None = None) -> BBox:
        return box.scale(1 / self.scale(longest_side))

    # ---- images ------------------------------------------------------------------------
    def image(self, longest_side: int | None = None, *, enhanced: bool = True) -> Image.Image:
        """The page as an RGB image whose longest side is ``longest_side`` (default: settings).

        Scans and photos come oriented, deskewed and cleaned; born-digital pages as rendered.
        ``enhanced=False``: oriented and deskewed but not cleaned (what OCR reads).
        """
        side = longest_side or self.document.settings.target_longest_side
        return self.document._image(self, side, enhanced)

    def tokens(self, longest_side: int | None = None) -> int:
        """Pixtral prompt tokens for this page's image."""
        return image_tokens(*self.pixel_size(longest_side))

    def crop(
        self, box: BBox | Region, *, longest_side: int = 1024, padding: float = 6.0
    ) -> Image.Image:
        """The part of the page inside ``box`` (plus ``padding`` points), ``longest_side`` px long.

        A region sent alone is sharper than the whole page: the page is rendered at the scale
        that gives the crop its requested size (capped so the full render stays bounded).
        """
        from PIL import Image as PILImage

        bbox = (box.bbox if isinstance(box, Region) else box).pad(padding).clip(*self.size)
        if bbox.area == 0:
            raise ValueError(f"box {bbox} lies outside page {self.index} ({self.size})")
        want = longest_side / max(bbox.width, bbox.height)  # px per point for the crop
        if self.correction is None and self.document._pdf is not None:
            out = self.document._clip(self, bbox, want)  # a PDF page as is: render the box only
        else:
            page_side = min(round(want * max(self.width, self.height)), 8192)
            image = self.image(page_side)
            px = self.to_pixels(bbox, page_side)
            out = image.crop((round(px.x0), round(px.y0), round(px.x1), round(px.y1)))
        if max(out.size) != longest_side:
            f = longest_side / max(out.size)
            size = (max(1, round(out.width * f)), max(1, round(out.height * f)))
            out = out.resize(size, PILImage.Resampling.LANCZOS)
        return out

    @property
    def size(self) -> tuple[float, float]:
        return (self.width, self.height)

    # ---- layout ------------------------------------------------------------------------
    @cached_property
    def regions(self) -> list[Region]:
        """Text, table, figure, formula and handwriting regions, in reading order."""
        return self.document.stages.regions(self)

    @cached_property
    def ocr_words(self) -> list[Word]:
        """The text layer on born-digital pages, else OCR words (run once, then cached)."""
        if self.words or self.kind == PageKind.DIGITAL:
            return self.words
        return self.document.stages.ocr_words(self)

    def regions_of(self, kind: RegionKind | str) -> list[Region]:
        return [r for r in self.regions if r.kind == RegionKind(kind)]


class PageImages(Sequence["Image.Image"]):
    """Pages' images, rendered when an engine reads them, not when a request is planned.

    Planning a batch used to render every page of every document up front (4.5 MB a
    document, held until the batch ended); engines that read words (the CPU path) never
    needed them at all.
    """

    def __init__(self, pages: Sequence[Page], longest_side: int | None = None) -> None:
        self._pages, self._side = list(pages), longest_side

    def __len__(self) -> int:
        return len(self._pages)

    def __getitem__(self, index: int) -> Image.Image:  # type: ignore[override]
        if isinstance(index, slice):
            raise TypeError("PageImages does not slice")
        return self._pages[index].image(self._side)


class Stages(Protocol):
    """What a document runs on its pages on demand (``docintel.pages.stages.PageStages``)."""

    def regions(self, page: Page) -> list[Region]: ...

    def ocr_words(self, page: Page) -> list[Word]: ...


class Document:
    """A loaded document: its bytes, SHA-256, detected kind and pages. Use ``docintel.load``."""

    def __init__(
        self,
        data: bytes,
        *,
        kind: DocumentKind,
        sha256: str,
        name: str | None,
        settings: Settings,
        stages: Stages,
        pdf: pymupdf.Document | None = None,
        frames: Any = None,
    ) -> None:
        self.data = data
        self.kind = kind
        self.sha256 = sha256
        self.name = name
        self.settings = settings
        self.stages = stages  # layout and OCR, run on demand (docintel.pages.stages)
        self._pdf = pdf
        self._frames = frames  # ingest.ImageFrames: decodes one frame when it is rendered
        self._lock = threading.RLock()  # pymupdf documents are not thread-safe
        self.pages: list[Page] = []
        self._cache_id = next(_ids)
        self._images = imagecache.shared(settings.image_cache_bytes)
        # Images go with the document even when nobody calls close().
        self._release = weakref.finalize(self, self._images.drop, self._cache_id)

    def __repr__(self) -> str:
        return (
            f"Document(name={self.name!r}, kind={self.kind.value}, pages={len(self.pages)}, "
            f"sha256={self.sha256[:12]}…)"
        )

    def __len__(self) -> int:
        return len(self.pages)

    def __iter__(self) -> Iterator[Page]:
        return iter(self.pages)

    def __getitem__(self, index: int) -> Page:
        return self.pages[index]

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the PDF and every cached page image (pages cannot render afterwards)."""
        with self._lock:
            if self._pdf is not None:
                self._pdf.close()
                self._pdf = None
            self._frames = None
        self._release()

    # ---- rendering ----------------------------------------------------------------------
    def _image(self, page: Page, side: int, enhanced: bool = True) -> Image.Image:
        """``page`` at ``side`` px: from the shared cache, or rendered (and maybe kept)."""
        key: imagecache.Key = (self._cache_id, page.index, side)
        if not enhanced and page.correction is not None and page.correction.enhanced:
            key = (*key, "plain")
        image = self._images.get(key)
        if image is None:
            with self._lock:
                image = self._images.get(key) or self._render(page, side, enhanced)
            self._images.put(key, image, self.settings.document_cache_bytes)
        return image

    def keep_image(self, index: int, side: int, image: Image.Image) -> None:
        """Keep ``image`` as page ``index`` at ``side`` px, as if it had been rendered here.

        For pages rendered in another process (``docintel batch``'s preprocessing pool, Ray
        tasks), so the engine's process does not render them again.
        """
        self._images.put((self._cache_id, index, side), image, self.settings.document_cache_bytes)

    def _raw(self, page: Page, scale: float) -> Image.Image:
        """The page before correction, at ``scale`` pixels per point of the raw page."""
        from PIL import Image as PILImage

        from docintel.cancel import checkpoint

        checkpoint()  # rendering is the costly step: stop here when nobody waits any more
        if self._pdf is None:
            if self._frames is None:
                raise DocumentClosed(f"{self.name or 'the document'} is closed: load it again")
            frame = self._frames.decode(page.index)
            size = (max(1, round(page.raw_width * scale)), max(1, round(page.raw_height * scale)))
            return frame if size == frame.size else frame.resize(size, PILImage.Resampling.LANCZOS)
        import pymupdf

        from docintel.render.pdfguard import (
            pdf_errors,  # MuPDF's errors as CorruptDocument / InputTooLarge
        )

        with pdf_errors(f"{self.name or 'the PDF'}: page {page.index + 1} could not be rendered"):
            pix = self._pdf[page.index].get_pixmap(
                matrix=pymupdf.Matrix(scale, scale), colorspace=pymupdf.csRGB, alpha=False
            )
        return PILImage.frombytes("RGB", (pix.width, pix.height), pix.samples)

    def _clip(self, page: Page, box: BBox, scale: float) -> Image.Image:
        """The part of PDF page ``page`` inside ``box`` (points), at ``scale`` px per point:
        MuPDF renders that part alone, not the whole page at the crop's resolution."""
        import pymupdf
        from PIL import Image as PILImage

        from docintel.cancel import checkpoint
        from docintel.render.pdfguard import pdf_errors

        checkpoint()
        assert self._pdf is not None
        label = f"{self.name or 'the PDF'}: page {page.index + 1} could not be rendered"
        with self._lock, pdf_errors(label):
            pix = self._pdf[page.index].get_pixmap(
                matrix=pymupdf.Matrix(scale, scale),
                clip=pymupdf.Rect(*box.as_tuple()),
                colorspace=pymupdf.csRGB,
                alpha=False,
            )
        return PILImage.frombytes("RGB", (pix.width, pix.height), pix.samples)

    def _render(self, page: Page, longest_side: int, enhanced: bool = True) -> Image.Image:
        from PIL import Image as PILImage

        scale = page.scale(longest_side)
        raw = self._raw(page, scale)
        correction = page.correction
        if correction is None:
            image = raw
        else:
            from docintel.render.preprocess import apply

            if not enhanced:
                correction = replace(correction, enhanced=False)
            image = apply(raw, correction)
        image = image.convert("RGB")
        size = page.pixel_size(longest_side)
        if image.size != size:  # rounding after rotation: pin the size to the page's scale
            image = image.resize(size, PILImage.Resampling.LANCZOS)
        return image


def _frame_dpi(frame: Any) -> float:
    """An image's DPI when it declares a sane one, else 72 (one pixel per point)."""
    dpi = frame.info.get("dpi")
    try:
        x = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return 72.0
    return x if 50 <= x <= 2400 else 72.0


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
