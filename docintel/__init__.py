"""docintel: PDFs, scans, photos and diagrams into validated, typed data.

``import docintel`` stays light: pymupdf, OpenCV and model engines load when first needed.
"""

from .checks import check
from .document import Document, DocumentKind, Page, PageKind, Region, RegionKind, Word
from .errors import (
    BlockedURL,
    CorruptDocument,
    DocintelError,
    EmptyDocument,
    EncryptedDocument,
    EngineUnavailable,
    ExtractionFailed,
    FetchError,
    GrammarError,
    InputError,
    InputNotFound,
    InputTooLarge,
    InvalidJSONSchema,
    MissingDependency,
    OutOfMemory,
    OutputConflict,
    SchemaNotFound,
    StoreError,
    StoreUnavailable,
    StoreVersionMismatch,
    UnsupportedInput,
    UnsupportedPattern,
)
from .extract import extract, extract_many, extract_regions
from .geometry import BBox
from .grounding import FieldSource, Ground
from .ingest import load
from .result import Attempt, Result
from .settings import Settings, get_settings
from .tokens import image_tokens

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "BBox",
    "BlockedURL",
    "CorruptDocument",
    "DocintelError",
    "Document",
    "DocumentKind",
    "EmptyDocument",
    "EncryptedDocument",
    "EngineUnavailable",
    "ExtractionFailed",
    "FetchError",
    "FieldSource",
    "GrammarError",
    "Ground",
    "InputError",
    "InputNotFound",
    "InputTooLarge",
    "InvalidJSONSchema",
    "MissingDependency",
    "OutOfMemory",
    "OutputConflict",
    "Page",
    "PageKind",
    "Region",
    "RegionKind",
    "Result",
    "SchemaNotFound",
    "Settings",
    "StoreError",
    "StoreUnavailable",
    "StoreVersionMismatch",
    "UnsupportedInput",
    "UnsupportedPattern",
    "Word",
    "check",
    "extract",
    "extract_many",
    "extract_regions",
    "get_settings",
    "image_tokens",
    "load",
]
