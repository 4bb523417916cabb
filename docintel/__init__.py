"""docintel: PDFs, scans, photos and diagrams into validated, typed data.

``import docintel`` stays light: pymupdf, OpenCV and model engines load when first needed.
"""

from docintel.checks.grounding import FieldSource
from docintel.checks.semantic import Ground, check
from docintel.document import Document, DocumentKind, Page, PageKind, Region, RegionKind, Word
from docintel.errors import (
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
from docintel.geometry import BBox
from docintel.ingest.load import load
from docintel.pipeline.extract import extract, extract_many, extract_regions
from docintel.render.tokens import image_tokens
from docintel.result import Attempt, Result
from docintel.settings import Settings, get_settings

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
