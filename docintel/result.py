"""What extraction returns: the typed value and everything that led to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from docintel.errors import ExtractionFailed

T = TypeVar("T", bound=BaseModel)


@dataclass
class Attempt:
    """One model call for one request, successful or not."""

    number: int  # 1-based
    text: str  # the raw model output
    finish_reason: str  # stop | length | error
    errors: list[str]  # why it was rejected; empty when accepted
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    max_tokens: int
    temperature: float
    part: int = 0  # which request of the document (multi-page documents may need several)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Result(Generic[T]):
    """The outcome of extracting ``schema`` from one document (or one region of it).

    ``value`` is the validated value when ``ok``; otherwise the last candidate that parsed,
    if any. ``errors`` are the last attempt's errors; ``attempts`` has every attempt.

    ``partial``: when no candidate validated (a required field could not be filled, a value
    broke its type), the fields that were filled and valid, as a plain dict nested like the
    schema, with ``provenance`` for them; ``missing`` names the paths left empty or invalid.
    """

    schema: type[T]
    value: T | None
    ok: bool
    attempts: list[Attempt] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    engine: str = ""
    model: str = ""
    document: str = ""  # sha256
    source: str | None = None  # file name, when known
    pages: list[int] = field(default_factory=list)  # 0-based pages the value came from
    region: Any = None  # the Region, for per-region extraction
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    # Per leaf value ("total", "line_items[2].amount"): page, box, source, match, confidence.
    provenance: dict[str, Any] = field(default_factory=dict)
    partial: dict[str, Any] | None = None  # filled fields of a value that did not validate
    missing: list[str] = field(default_factory=list)  # paths left empty or invalid

    @property
    def ungrounded(self) -> list[str]:
        """Paths of values found nowhere in the document (source "model" only)."""
        return [path for path, src in self.provenance.items() if src.page is None]

    @property
    def confidence(self) -> float | None:
        """The mean of the per-field confidences; None when no field has provenance."""
        values = [src.confidence for src in self.provenance.values()]
        return sum(values) / len(values) if values else None

    @property
    def prompt_tokens(self) -> int:
        return sum(a.prompt_tokens for a in self.attempts)

    @property
    def completion_tokens(self) -> int:
        return sum(a.completion_tokens for a in self.attempts)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())

    def raise_for_failure(self) -> Result[T]:
        """Return self when ok; raise ``ExtractionFailed`` (carrying this result) otherwise."""
        if not self.ok:
            last = "; ".join(self.errors[:3]) or "no attempt was made"
            raise ExtractionFailed(
                f"could not extract {self.schema.__name__} from {self.source or 'the document'} "
                f"in {len(self.attempts)} attempt(s): {last}",
                self,
            )
        return self

    def to_data(self) -> ResultData:
        """The serialised form (the one the HTTP API, the watcher's files and the store use)."""
        return ResultData(
            schema_name=self.schema.__name__,
            ok=self.ok,
            value=None if self.value is None else self.value.model_dump(mode="json"),
            partial=self.partial if self.value is None else None,
            missing=self.missing,
            errors=self.errors,
            engine=self.engine,
            model=self.model,
            document=self.document,
            source=self.source,
            pages=self.pages,
            confidence=None if self.confidence is None else round(self.confidence, 3),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            timings=self.timings,
            provenance={path: _source_data(src) for path, src in self.provenance.items()},
            attempts=[AttemptData(**asdict(a)) for a in self.attempts],
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: value, status, attempts, tokens, timings."""
        return self.to_data().model_dump(mode="json", by_alias=True)


# ---- the serialised form ---------------------------------------------------------------------


class FieldSourceData(BaseModel):
    """Where one value came from: page, box in page points, how it matched, how sure."""

    page: int | None
    bbox: list[float] | None = Field(description="[x0, y0, x1, y1] in page points")
    source: str
    match: str
    confidence: float


class AttemptData(BaseModel):
    """One model call, serialised (``Attempt``)."""

    number: int
    text: str
    finish_reason: str
    errors: list[str]
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    max_tokens: int
    temperature: float
    part: int = 0


class ResultData(BaseModel):
    """``Result`` serialised: the value, whether it validated, provenance and every attempt."""

    model_config = ConfigDict(protected_namespaces=(), populate_by_name=True)
    schema_name: str = Field(alias="schema")
    ok: bool
    value: dict[str, Any] | None
    partial: dict[str, Any] | None = Field(
        None,
        description="When no candidate validated: the fields that were filled (and valid), "
        "nested like the schema; their provenance is in provenance",
    )
    missing: list[str] = Field(
        default_factory=list, description="Paths left empty or invalid (required ones first)"
    )
    errors: list[str]
    engine: str
    model: str
    document: str
    source: str | None
    pages: list[int]
    confidence: float | None = Field(description="mean of the per-field confidences")
    prompt_tokens: int
    completion_tokens: int
    timings: dict[str, float]
    provenance: dict[str, FieldSourceData]
    attempts: list[AttemptData]


def _source_data(src: Any) -> FieldSourceData:
    return FieldSourceData(
        page=src.page,
        bbox=None if src.bbox is None else list(src.bbox.as_tuple()),
        source=src.source,
        match=src.match,
        confidence=round(src.confidence, 3),
    )
