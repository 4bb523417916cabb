"""TransformersEngine end to end on the tiny Pixtral: real weights, real Outlines, no mocks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it: nothing downloads

from engine_schemas import (
    Doc,
    Kind,
    assert_catalog_decodes,
    assert_retry_after_failed_check,
    sample_page,
)

from docintel.engines.base import Engine, GenerationRequest, Sampling
from docintel.engines.transformers import TransformersEngine
from docintel.testing import tiny_pixtral


class Flag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paid: bool


@pytest.fixture(scope="module")
def engine() -> Iterator[TransformersEngine]:
    path = tiny_pixtral.build(tiny_pixtral.default_path(), seed=0)  # once; cached afterwards
    eng = TransformersEngine(path, seed=0)
    eng.load()
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def page() -> Any:
    return sample_page()


def _request(page: Any, *, seed: int = 0, temperature: float = 0.0, max_tokens: int = 400,
             schema: type[BaseModel] = Doc, rid: str = "") -> GenerationRequest:  # fmt: skip
    return GenerationRequest(
        prompt="Extract the document as JSON.",
        schema=schema,
        images=[page],
        system="You extract structured data from documents.",
        sampling=Sampling(max_tokens=max_tokens, temperature=temperature, seed=seed),
        id=rid,
    )


def test_is_an_engine(engine: TransformersEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.name == "transformers"
    assert Path(engine.model) == tiny_pixtral.default_path()


def test_extracts_schema_from_image(engine: TransformersEngine, page: Any) -> None:
    (out,) = engine.generate([_request(page)])
    assert out.finish_reason == "stop", out
    doc = Doc.model_validate_json(out.text)
    assert isinstance(doc.kind, Kind)
    # 128x96 image = 6 rows x (8 + 1) image tokens, plus the text around it.
    assert out.prompt_tokens > 54
    assert 0 < out.completion_tokens < 400
    assert out.seconds > 0 and out.error is None


def test_sampled_batch_is_valid_in_order_and_nested(engine: TransformersEngine, page: Any) -> None:
    requests = [
        _request(page, seed=1, temperature=1.0, rid="a"),
        _request(page, seed=2, temperature=1.0, schema=Flag, rid="b"),
        _request(page, seed=3, temperature=1.0, rid="c"),
    ]
    outs = engine.generate(requests)
    assert len(outs) == 3
    assert all(o.finish_reason == "stop" for o in outs), outs
    # Each output follows its own request's schema: the order is kept.
    first, flag, last = Doc.model_validate_json(outs[0].text), outs[1].text, outs[2].text
    Flag.model_validate_json(flag)
    docs = [first, Doc.model_validate_json(last)]
    # Sampling reaches the nested list; bounds (qty <= 99, name <= 12) hold there too.
    assert any(doc.items for doc in docs), [o.text for o in outs]


def test_same_seed_same_text(engine: TransformersEngine, page: Any) -> None:
    request = _request(page, seed=7, temperature=1.0)
    (first,) = engine.generate([request])
    # Another request before it in the batch must not shift its random stream.
    _, second = engine.generate([_request(page, seed=8, temperature=1.0), request])
    assert first.text == second.text
    assert first.completion_tokens == second.completion_tokens


def test_token_budget_gives_length(engine: TransformersEngine, page: Any) -> None:
    (out,) = engine.generate([_request(page, max_tokens=5)])
    assert out.finish_reason == "length"
    assert out.completion_tokens == 5
    assert out.text.startswith("{")


def test_failing_request_does_not_sink_batch(engine: TransformersEngine, page: Any) -> None:
    bad = GenerationRequest(prompt="x", schema=Flag, images=["not an image"])  # type: ignore[list-item]
    outs = engine.generate([bad, _request(page, schema=Flag)])
    assert outs[0].finish_reason == "error" and outs[0].error
    assert outs[1].finish_reason == "stop"
    Flag.model_validate_json(outs[1].text)


def test_every_catalog_schema_decodes(engine: TransformersEngine, page: Any) -> None:
    """Outlines' llguidance constraint for every catalog schema and a large user schema."""
    assert_catalog_decodes(engine, page)
    assert_retry_after_failed_check(engine, page)


def test_generators_are_shared_by_equal_schemas(engine: TransformersEngine) -> None:
    """Two classes with the same JSON schema (the HTTP API builds one per request) share one
    compiled generator; the cache stays bounded."""
    from pydantic import create_model

    from docintel.engines.transformers import GENERATORS_KEPT

    first = create_model("Paid", __config__=ConfigDict(extra="forbid"), paid=(bool, ...))
    second = create_model("Paid", __config__=ConfigDict(extra="forbid"), paid=(bool, ...))
    assert first is not second
    assert engine._generator(first) is engine._generator(second)
    assert len(engine._generators) <= GENERATORS_KEPT
