"""Property-based run of the service's OpenAPI spec (schemathesis) against a real server.

Every operation of the spec is fuzzed with schema-valid and schema-invalid requests (and the
methods it does not allow) through uvicorn on 127.0.0.1. No answer may be a 5xx, and every
answer must be one the spec documents: status code, content type, headers and body schema.

The engine answers instantly with the same formula for every request, so extraction with
another schema gives ``ok: false`` rather than a crash: the point is the HTTP layer, not the
model. Random bytes are almost never a readable document, so half the POST examples carry a
real formula PNG instead, and half the extraction examples a catalog schema or a small random
JSON Schema: that way the fuzzing reaches the engine and the 200 answers, not only the
validation errors (``test_reached_the_engine`` checks that it did). One variant runs with an
API key configured and sent, so the authenticated paths are fuzzed too, not only their 401s.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from docintel.http.app import create_app
from docintel.schemas import CATALOG
from docintel.settings import get_settings
from docintel.testing.engines import InstantEngine
from docintel.testing.server import running

ANSWER = '{"latex": "x", "display": true}'
API_KEY = "k"
MAX_EXAMPLES = 50  # per operation and variant: the whole file runs in about 15 s

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def formula_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 48), "white")
    ImageDraw.Draw(image).text((8, 16), "x^2 + y^2 = z^2", fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


PNG = formula_png()


def make_app(api_keys: str = "") -> Any:
    return create_app(get_settings(api_keys=api_keys), InstantEngine(ANSWER))


# The spec as the app builds it (the same for every variant); test_served_spec checks that
# the running server serves exactly this. (schemathesis.pytest.from_fixture would load it from
# the server at run time, but its lazy loader reads Node._nodeid, which pytest 9.2 removed.)
schema = schemathesis.openapi.from_dict(make_app().openapi())


@pytest.fixture(scope="module", params=["open", "api-key"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """A running server and the headers every request to it carries."""
    keyed = request.param == "api-key"
    with running(make_app(API_KEY if keyed else "")) as base:
        yield base, ({"X-API-Key": API_KEY} if keyed else {})


def test_served_spec(server: tuple[str, dict[str, str]]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/openapi.json").json() == make_app().openapi()


# ---- realistic bodies -------------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
_LEAF = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "object"])},
    optional={
        "enum": st.lists(_SCALARS, max_size=3),
        "pattern": st.sampled_from(["^[a-z]+$", "(", "a{2,}", ".*"]),
        "minLength": st.integers(-1, 3),
        "maxLength": st.integers(-1, 3),
        "minimum": st.integers(-3, 3),
        "maximum": st.integers(-3, 3),
        "multipleOf": st.sampled_from([0, 0.5, 2, -1]),
        "format": st.sampled_from(["date", "date-time", "email", "nope"]),
        "default": _SCALARS,
        "const": _SCALARS,
    },
)


def _nodes(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    names = st.text(min_size=0, max_size=6)
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.dictionaries(names, children, max_size=3)},
            optional={"required": st.lists(names, max_size=2)},
        ),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": children},
            optional={"minItems": st.integers(-1, 2), "maxItems": st.integers(-1, 2)},
        ),
        st.fixed_dictionaries({"anyOf": st.lists(children, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(children, max_size=2)}),
        st.fixed_dictionaries({"$ref": st.sampled_from(["#/$defs/a", "#/$defs/b", "#", "x"])}),
    )


# JSON-Schema-like objects: mostly supported keywords, with wrong values and bad refs mixed in.
JSON_SCHEMAS = st.fixed_dictionaries(
    {
        "type": st.just("object"),
        "properties": st.dictionaries(
            st.text(max_size=6), st.recursive(_LEAF, _nodes, max_leaves=6), max_size=4
        ),
    },
    optional={
        "$defs": st.dictionaries(st.sampled_from(["a", "b"]), _LEAF, max_size=2),
        "required": st.lists(st.text(max_size=6), max_size=3),
    },
)


def realistic(case: Any, data: st.DataObject) -> dict[str, Any]:
    """The case's body with a real formula image, and for extraction a usable schema."""
    multipart = case.media_type == "multipart/form-data"
    body = dict(case.body)
    if multipart:
        body["file"] = PNG
    elif case.path == "/v3/text":  # Mathpix's field: the image as a data: URL
        body["src"] = "data:image/png;base64," + base64.b64encode(PNG).decode()
        return body
    else:
        body.pop("url", None)
        body["document"] = base64.b64encode(PNG).decode()
    if case.path == "/v1/extract":
        body.pop("schema", None)
        body.pop("json_schema", None)
        if data.draw(st.booleans(), label="catalog schema"):
            body["schema"] = data.draw(st.sampled_from(sorted(CATALOG)), label="schema")
        else:
            json_schema = data.draw(JSON_SCHEMAS, label="json_schema")
            body["json_schema"] = json.dumps(json_schema) if multipart else json_schema
    return body


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(
    case: Any, data: st.DataObject, server: tuple[str, dict[str, str]]
) -> None:
    base, headers = server
    if (
        case.method == "POST"
        and isinstance(case.body, dict)
        and data.draw(st.booleans(), label="real document")
    ):
        case.body = realistic(case, data)
    response = case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=10)
    assert response.status_code < 500, response.text


def test_realistic_bodies_reach_the_engine(server: tuple[str, dict[str, str]]) -> None:
    """The bodies ``realistic`` gives the fuzzer get past validation and auth to the engine
    (200), as JSON and as multipart: so the fuzzing reaches the 200 answers, not only errors."""
    base, headers = server
    document = base64.b64encode(PNG).decode()
    small = {"type": "object", "properties": {"latex": {"type": "string"}}}
    bodies = [
        ("/v1/latex", {"document": document}),
        ("/v1/extract", {"document": document, "schema": "formula"}),
        ("/v1/extract", {"document": document, "json_schema": small}),
    ]
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for path, body in bodies:
            r = client.post(path, json=body)
            assert r.status_code == 200, (path, r.text)
            form = {k: json.dumps(v) if k == "json_schema" else v for k, v in body.items()}
            form.pop("document")
            r = client.post(path, data=form, files={"file": ("f.png", PNG, "image/png")})
            assert r.status_code == 200, (path, r.text)


# What the fuzzing has found, kept as fixed cases (the draws that found them change whenever
# the strategies do): JSON bodies that are not UTF-8, and an empty page list for extraction.
FOUND = {
    "latex-not-utf8": ("/v1/latex", b"P\xf8P\xf8\xf8"),
    "extract-not-utf8": ("/v1/extract", b"\xff"),
    "latex-lone-surrogate": (
        "/v1/latex",
        '{"document": "\udcff"}'.encode("utf-8", "surrogatepass"),
    ),
    "extract-no-pages": (
        "/v1/extract",
        json.dumps(
            {"document": base64.b64encode(PNG).decode(), "schema": "formula", "pages": []}
        ).encode(),
    ),
}


@pytest.mark.parametrize(("path", "content"), FOUND.values(), ids=FOUND.keys())
def test_found_by_fuzzing(server: tuple[str, dict[str, str]], path: str, content: bytes) -> None:
    base, headers = server
    response = httpx.post(
        f"{base}{path}",
        content=content,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.headers["content-type"] == "application/problem+json"
