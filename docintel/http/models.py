"""The HTTP API's request and response bodies (an extraction answers with ``ResultData``,
the one serialisation of a ``Result``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str | None = Field(
        None, description="The file as base64 or a data: URL (PDF, PNG, JPEG, TIFF, WebP, BMP)."
    )
    url: str | None = Field(
        None, description="An http(s) URL to fetch instead (only when the server allows URLs)."
    )
    pages: list[int] | None = Field(
        None, max_length=2000, description="0-based page indices (default: all)."
    )
    password: str | None = Field(None, description="Password of an encrypted PDF.")


class LatexRequest(Options):
    """A formula image (or a page of formulas) in a JSON body."""

    mathml: bool = Field(False, description="Also return MathML for valid formulas.")


class ExtractRequest(Options):
    """A document and the schema to extract, in a JSON body."""

    schema_name: str | None = Field(
        None, alias="schema", description="A catalog schema name (GET /v1/schemas)."
    )
    json_schema: dict[str, Any] | None = Field(
        None, description="A JSON Schema (an object) to extract instead of a catalog schema."
    )
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FormulaOut(BaseModel):
    latex: str | None
    display: bool | None
    valid: bool
    errors: list[str]
    confidence: float
    page: int
    box: list[float] | None = Field(description="[x0, y0, x1, y1] in page points; null: page.")
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    mathml: str | None = None


class LatexResponse(BaseModel):
    formulas: list[FormulaOut]
    engine: str
    model: str
    seconds: float


class SchemaInfo(BaseModel):
    name: str
    title: str
    description: str
    json_schema: dict[str, Any]


def _one_of(*options: tuple[str, str]) -> dict[str, Any]:
    """JSON Schema for "exactly one of these keys, with a non-null value"."""
    return {
        "oneOf": [{"required": [key], "properties": {key: {"type": kind}}} for key, kind in options]
    }


_DOCUMENT_OR_URL = _one_of(("document", "string"), ("url", "string"))


def body_schema(model: type[BaseModel], file_help: str) -> dict[str, Any]:
    """OpenAPI request body: the JSON model, or a multipart upload with the same options.

    Multipart fields keep their JSON types; ``pages`` and ``json_schema`` travel as JSON text
    (their part's content type is application/json), the rest as plain values.
    """
    json_schema = model.model_json_schema(by_alias=True)
    options = {k: v for k, v in json_schema["properties"].items() if k not in ("document", "url")}
    form: dict[str, Any] = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": file_help},
            **options,
        },
    }
    exclusive = [_DOCUMENT_OR_URL]
    if "schema" in options:
        exclusive_schema = _one_of(("schema", "string"), ("json_schema", "object"))
        exclusive.append(exclusive_schema)
        form.update(exclusive_schema)
    json_schema["allOf"] = exclusive
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema},
                "multipart/form-data": {
                    "schema": form,
                    "encoding": {
                        k: {"contentType": "application/json"} for k in JSON_FIELDS if k in options
                    },
                },
            },
        }
    }


JSON_FIELDS = ("pages", "json_schema")  # multipart fields that travel as JSON text
