"""docintel: PDFs, scans, photos and diagrams into validated, typed data.

``import docintel`` stays light: pymupdf, OpenCV and model engines load when first needed.
"""

from .document import Document, DocumentKind, Page, PageKind, Region, RegionKind, Word
from .errors import (
    BlockedURL,
    CorruptDocument,
    DocintelError,
    EmptyDocument,
    EncryptedDocument,
    FetchError,
    InputError,
    InputNotFound,
    InputTooLarge,
    UnsupportedInput,
)
from .geometry import BBox
from .ingest import load
from .settings import Settings, get_settings
from .tokens import image_tokens

__version__ = "0.1.0"

__all__ = [
    "BBox",
    "BlockedURL",
    "CorruptDocument",
    "DocintelError",
    "Document",
    "DocumentKind",
    "EmptyDocument",
    "EncryptedDocument",
    "FetchError",
    "InputError",
    "InputNotFound",
    "InputTooLarge",
    "Page",
    "PageKind",
    "Region",
    "RegionKind",
    "Settings",
    "UnsupportedInput",
    "Word",
    "get_settings",
    "image_tokens",
    "load",
]
