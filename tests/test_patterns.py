"""Schema patterns run in linear time: no regular-expression denial of service.

``^(a+)+$`` against "aaa...a!" backtracks exponentially in Python's ``re`` (10 s for 27 a's
through the CPU engine, 42 s for one search of 30, the service frozen meanwhile: ``re`` holds
the GIL). Here it goes through the unit matcher, the real CPU engine on a generated PDF, and a
real server on 127.0.0.1; patterns the linear-time engine cannot run are refused with a typed
error naming the pattern and why.
"""

from __future__ import annotations

import base64
import contextlib
import io
import pickle
import re
import threading
import time
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

import docintel
from docintel.engines.cpu import CPUEngine
from docintel.engines.cpu.schema import field_spec
from docintel.http.app import create_app
from docintel.pipeline.jsonschema import (
    MAX_PATTERN_SECONDS,
    InvalidJSONSchema,
    model_from_json_schema,
)
from docintel.schemas import CATALOG
from docintel.settings import get_settings
from docintel.testing.server import running
from docintel.text.patterns import Pattern, UnsupportedPattern, compile_pattern

EVIL = r"^(a+)+$"
HOSTILE = "a" * 30 + "!"  # Python's re: over a minute here, and ~1.7x per extra "a"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "pattern": EVIL},
        "marker": {"type": "string", "pattern": EVIL},
    },
}
GENEROUS = 10.0  # seconds: catches the 10-100 s regression, not a benchmark


def _pdf() -> bytes:
    """One page: a hostile line under "Label", a matching one under "Marker"."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for y, text in ((60, "Acme Parts AG"), (120, f"Label: {HOSTILE}"), (140, "Marker: aaaa")):
        page.insert_text((50, y), text, fontsize=10)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return _pdf()


# ---- (a) the matcher --------------------------------------------------------------------------


def test_evil_pattern_is_linear_in_the_cpu_paths_matcher() -> None:
    model = model_from_json_schema(SCHEMA)
    spec = field_spec("label", "label", model.model_fields["label"])
    assert isinstance(spec.pattern, Pattern)  # what fill() matches page text with
    start = time.perf_counter()
    assert not spec.pattern.search("a" * 30 + "!")
    assert not spec.pattern.search("a" * 100_000 + "!")
    elapsed = time.perf_counter() - start
    print(f"^(a+)+$ on 30 and 100000 a's: {elapsed * 1000:.2f} ms")
    assert elapsed < 0.5
    assert spec.pattern.search("aaaa")


def test_validation_uses_the_linear_engine() -> None:
    model = model_from_json_schema(SCHEMA)
    for schema in [model, *CATALOG.values()]:
        assert schema.model_config.get("regex_engine", "rust-regex") == "rust-regex", schema
    start = time.perf_counter()
    with pytest.raises(ValidationError, match="should match pattern"):
        model.model_validate({"label": "a" * 100_000 + "!"})
    assert time.perf_counter() - start < 0.5


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


def test_catalog_patterns_match_as_before() -> None:
    patterns = {p for schema in CATALOG.values() for p in _patterns(schema.model_json_schema())}
    assert patterns  # dates, times, currency codes
    # No text ending in a newline: Python's "$" matches before one, Rust's (pydantic's) does
    # not, and the filler only matches stripped phrases.
    samples = [
        "2024-03-14", "2024-3-14", " 2024-03-14", "on 2024-03-14", "12:30", "12:30:15", "1230",
        "EUR", "eur", "EURO", "", "٢٠٢٤-٠٣-١٤", "INV-0042",
    ]  # fmt: skip
    for pattern in patterns:
        linear = compile_pattern(pattern)
        for text in samples:
            assert linear.search(text) == bool(re.search(pattern, text)), (pattern, text)


def test_compiled_python_patterns_keep_their_flags() -> None:
    assert compile_pattern(re.compile(r"^inv-\d+$", re.IGNORECASE)).search("INV-42")
    assert not compile_pattern(re.compile(r"^inv-\d+$")).search("INV-42")
    with pytest.raises(UnsupportedPattern, match=r"re\.ASCII"):
        compile_pattern(re.compile(r"\d", re.ASCII))


# ---- (b) the real CPU engine ------------------------------------------------------------------


def test_cpu_engine_on_a_hostile_line(pdf: bytes) -> None:
    model = model_from_json_schema(SCHEMA)
    start = time.perf_counter()
    result = docintel.extract(pdf, model, engine=CPUEngine(), raise_on_failure=False)
    elapsed = time.perf_counter() - start
    print(f"CPU engine on {HOSTILE!r}: {elapsed:.3f} s")
    assert elapsed < GENEROUS
    assert result.ok, result.errors
    assert result.value is not None
    assert result.value.label is None  # type: ignore[attr-defined]  # no match: left empty
    assert result.value.marker == "aaaa"  # type: ignore[attr-defined]  # the pattern still applies


def test_cpu_engine_refuses_a_backtracking_only_pattern(pdf: bytes) -> None:
    from pydantic import ConfigDict, Field

    class Backref(BaseModel):
        # python-re lets pydantic build it; the CPU filler still never backtracks
        model_config = ConfigDict(regex_engine="python-re")
        label: str | None = Field(None, pattern=r"^(a+)\1$")

    result = docintel.extract(pdf, Backref, engine=CPUEngine(), raise_on_failure=False)
    assert not result.ok
    message = " ".join(result.errors)
    assert r"'^(a+)\\1$'" in message and "backreferences are not supported" in message


# ---- (c) a real server ------------------------------------------------------------------------


def test_server_stays_responsive(pdf: bytes) -> None:
    app = create_app(get_settings(api_keys=[], allow_urls=False), CPUEngine())
    body = {"document": base64.b64encode(pdf).decode(), "json_schema": SCHEMA}
    with running(app) as base:
        answers: list[httpx.Response] = []

        def post() -> None:
            with httpx.Client(base_url=base, timeout=120, trust_env=False) as c:
                answers.append(c.post("/v1/extract", json=body))

        posts = [threading.Thread(target=post) for _ in range(4)]
        with httpx.Client(base_url=base, timeout=30, trust_env=False) as probe:
            probe.get("/healthz")  # connected before the work starts
            start = time.perf_counter()
            for t in posts:
                t.start()
            latencies = []
            while any(t.is_alive() for t in posts) or len(latencies) < 3:
                t0 = time.perf_counter()
                assert probe.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - t0)
                assert time.perf_counter() - start < GENEROUS, "extract requests hang"
            for t in posts:
                t.join(GENEROUS)
        print(
            f"4 extracts in {time.perf_counter() - start:.3f} s; "
            f"/healthz slowest {max(latencies) * 1000:.1f} ms of {len(latencies)}"
        )
        assert max(latencies) < 0.1
        assert len(answers) == 4
        for r in answers:
            assert r.status_code < 500, r.text
            assert r.status_code == 200 and r.json()["value"] == {"label": None, "marker": "aaaa"}


# ---- (d) what the linear engine cannot run ----------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"^(a+)\1$", "backreferences are not supported"),
        (r"^(?=.*\d)[a-z0-9]+$", "look-around"),
        (r"(?<!x)a", "look-around"),
    ],
)
def test_backtracking_only_patterns_are_refused(pattern: str, why: str) -> None:
    with pytest.raises(UnsupportedPattern) as info:
        compile_pattern(pattern)
    assert info.value.pattern == pattern and why in info.value.reason
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.pattern, str(again)) == (pattern, str(info.value))
    assert isinstance(info.value, docintel.DocintelError) and isinstance(info.value, ValueError)

    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": pattern}}}
    with pytest.raises(InvalidJSONSchema) as converted:
        model_from_json_schema(schema)
    assert converted.value.path == "/properties/code/pattern"
    assert repr(pattern) in str(converted.value) and why in str(converted.value)
    assert "without them" in str(converted.value)  # what to do


def test_backtracking_only_pattern_is_a_422_over_http() -> None:
    app = create_app(get_settings(api_keys=[], allow_urls=False), CPUEngine())
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": r"(a)\1"}}}
    body = {"document": base64.b64encode(_pdf()).decode(), "json_schema": schema}
    with running(app) as base, httpx.Client(base_url=base, trust_env=False) as c:
        r = c.post("/v1/extract", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"] == "urn:docintel:problem:invalid-json-schema"
    detail = problem["detail"]
    assert "/properties/code/pattern" in detail and r"'(a)\\1'" in detail
    assert "backreferences are not supported" in detail


def test_slow_to_compile_patterns_are_bounded() -> None:
    # ~30 ms each to compile (Unicode \w repeated), and pydantic compiles each one again
    props = {f"p{i}": {"type": "string", "pattern": rf"\w{{95}}{i}"} for i in range(200)}
    start = time.perf_counter()
    with pytest.raises(InvalidJSONSchema, match="to compile") as info:
        model_from_json_schema({"type": "object", "properties": props})
    elapsed = time.perf_counter() - start
    print(f"refused after {elapsed:.2f} s: {info.value}")
    assert elapsed < MAX_PATTERN_SECONDS + GENEROUS
    # The same pattern again and again costs one compilation where pydantic-core caches it
    # (2.42+) and is refused like the above where it does not: quick either way.
    same = {f"p{i}": {"type": "string", "pattern": r"\w{95}"} for i in range(200)}
    start = time.perf_counter()
    with contextlib.suppress(InvalidJSONSchema):
        model_from_json_schema({"type": "object", "properties": same})
    assert time.perf_counter() - start < MAX_PATTERN_SECONDS + GENEROUS
