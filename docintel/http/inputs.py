"""Reading a request: the body as received on the loop, parsed in a worker (CPU work), and the
document, pages and schema it names. Every way an input can be unusable is a 4xx."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from docintel.errors import SchemaNotFound, UnsupportedInput
from docintel.http.models import JSON_FIELDS, ExtractRequest, Options
from docintel.http.problems import ProblemError
from docintel.settings import Settings


@dataclass
class Received:
    """A request body as received: nothing parsed yet (parsing is CPU work: off the loop)."""

    json_body: bytes | None = None
    upload: bytes | None = None
    fields: dict[str, str] = dc_field(default_factory=dict)


async def receive_body(request: Request) -> Received:
    """Read the body (JSON) or the multipart parts; refuse other media types."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return Received(json_body=await request.body())
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ProblemError(422, "no-document", "the multipart body needs a 'file' part")
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        return Received(upload=await upload.read(), fields=fields)
    raise ProblemError(
        415,
        "unsupported-media-type",
        f"send application/json or multipart/form-data, not {ctype or 'no content type'}",
    )


def parse_input(
    received: Received, model: type[Options], settings: Settings
) -> tuple[Any, Options]:
    """The document (bytes, or a URL when allowed) and the options. Runs in the worker."""
    if received.json_body is None:
        try:
            options = model.model_validate(_form_values(received.fields))
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        return received.upload, options
    try:
        options = model.model_validate(parse_json(received.json_body, "the body"))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    if (options.document is None) == (options.url is None):
        raise ProblemError(422, "no-document", "give exactly one of 'document' and 'url'")
    if options.url is None:
        return _decode(options.document or ""), options
    if not settings.allow_urls:
        raise ProblemError(
            400,
            "urls-disabled",
            "this server does not fetch URLs: send the file itself (multipart or "
            "base64), or start the server with DOCINTEL_ALLOW_URLS=true",
        )
    if not options.url.strip()[:8].lower().startswith(("http://", "https://")):
        raise ProblemError(
            400,
            "blocked-url",
            "'url' must be an http:// or https:// URL; send a file itself as "
            "'document' (base64 or a data: URL) or as a multipart upload",
        )
    return options.url.strip(), options


def parse_json(raw: bytes | str, what: str, status: int = 400, slug: str = "invalid-json") -> Any:
    """Parse JSON from a client; every way it can be unusable is a 4xx, never a 500."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ProblemError(
            status, slug, f"{what} is not JSON we can read: it is nested too deeply"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError; ints over 4300 digits
        raise ProblemError(status, slug, f"{what} must be JSON: {exc}") from None


def _decode(document: str) -> bytes:
    from docintel.ingest.load import decode_text

    try:
        return decode_text(document)
    except UnsupportedInput as exc:
        raise ProblemError(422, "invalid-base64", f"'document': {exc}") from None


def _form_values(fields: dict[str, str]) -> dict[str, Any]:
    """Multipart fields are strings: decode the JSON-typed ones (pages, json_schema)."""
    return {
        key: parse_json(raw, f"field {key!r}", 422, "invalid-field") if key in JSON_FIELDS else raw
        for key, raw in fields.items()
    }


def load_document(source: Any, options: Options, settings: Settings) -> Any:
    from docintel.ingest.load import load

    return load(source, password=options.password, settings=settings)


def page_indices(options: Options, count: int) -> list[int] | None:
    if options.pages is None:
        return None
    bad = [p for p in options.pages if not 0 <= p < count]
    if bad:
        raise ProblemError(
            422,
            "page-out-of-range",
            f"pages {bad} do not exist: the document has {count} (0-based: 0..{count - 1})",
        )
    return list(dict.fromkeys(options.pages))


def schema_for(options: ExtractRequest) -> type[BaseModel]:
    if (options.schema_name is None) == (options.json_schema is None):
        raise ProblemError(
            422, "no-schema", "give exactly one of 'schema' (a catalog name) and 'json_schema'"
        )
    if options.json_schema is not None:
        from docintel.errors import InvalidJSONSchema

        try:
            return model_for(json.dumps(options.json_schema, sort_keys=True))
        except InvalidJSONSchema as exc:
            raise ProblemError(422, "invalid-json-schema", str(exc)) from None
    from docintel.schemas import CATALOG

    schema = CATALOG.get((options.schema_name or "").lower())
    if schema is None:
        raise SchemaNotFound(
            f"no catalog schema named {options.schema_name!r}: GET /v1/schemas lists them "
            f"({', '.join(CATALOG)})"
        )
    return schema


@functools.lru_cache(maxsize=256)
def model_for(canonical: str) -> type[BaseModel]:
    """One pydantic class per distinct JSON Schema (bounded): engines key their compiled
    grammars by the schema's digest, and the same schema sent again costs nothing."""
    from docintel.pipeline.jsonschema import model_from_json_schema

    return model_from_json_schema(json.loads(canonical))
