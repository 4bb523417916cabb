"""VLLMEngine on the tiny random-weight Pixtral: real vLLM (CPU build), real constrained output."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model hub here: everything is local

from engine_schemas import (
    PROMPT,
    Doc,
    assert_catalog_decodes,
    assert_retry_after_failed_check,
    request,
    sample_page,
)

from docintel.engines._torch_compat import ensure_torchvision

ensure_torchvision()  # before anything imports torchvision through vllm
pytest.importorskip("vllm")

from PIL import Image  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from docintel.engines.base import GenerationRequest, Sampling  # noqa: E402
from docintel.engines.vllm import VLLMEngine  # noqa: E402

# Small dummy image for vLLM's startup profiling (the default 1024 px costs ~13 s on a CPU),
# eager mode (torch.compile of the model costs ~12 s at every start): tests only.
TEST_KWARGS = {
    "max_model_len": 4096,
    "enforce_eager": True,
    "limit_mm_per_prompt": {"image": {"count": 2, "width": 128, "height": 128}},
}


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    from docintel.testing.tiny_pixtral import build, default_path

    return build(default_path())


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return sample_page()


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One OpenMP thread while these tests run.

    On a small shared CI box, vLLM's two OpenMP threads spin at every barrier while another
    process holds one of the cores: decoding dropped from ~120 to ~9 tokens/s. (torch is loaded
    by then, so OMP_NUM_THREADS would come too late; set_num_threads still applies.)
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def engine(tiny_model: Path, one_thread: None) -> Iterator[VLLMEngine]:
    eng = VLLMEngine(str(tiny_model), **TEST_KWARGS)  # the default grammar backend
    assert eng.structured_backend == "guidance"
    print(f"VLLMEngine(guidance) started in {eng.startup_seconds:.1f} s")
    yield eng
    eng.close()


def test_batch_extracts_valid_json_in_order(engine: VLLMEngine, page: Image.Image) -> None:
    # Prompts of growing length: prompt_tokens must grow with the index if order is kept.
    requests = [request(page, seed=i, prompt=PROMPT + " Be precise." * i) for i in range(4)]
    outputs = engine.generate(requests)
    assert len(outputs) == 4
    for out in outputs:
        assert out.finish_reason == "stop", out
        doc = Doc.model_validate_json(out.text)
        assert len(doc.items) <= 3
        assert out.completion_tokens > 0
        assert out.seconds > 0
    # 128x96 image: 6 rows of 8 patches + one break/end token per row = 54 image tokens.
    assert outputs[0].prompt_tokens > 54
    tokens = [out.prompt_tokens for out in outputs]
    assert tokens == sorted(set(tokens)), tokens
    rate = sum(o.completion_tokens for o in outputs) / (sum(o.seconds for o in outputs) or 1)
    print(f"guidance batch of 4: {rate:.0f} completion tokens/s")


def test_seeded_runs_reproduce(engine: VLLMEngine, page: Image.Image) -> None:
    first = engine.generate([request(page, seed=7), request(page, seed=8)])
    second = engine.generate([request(page, seed=7), request(page, seed=8)])
    assert [o.text for o in first] == [o.text for o in second]
    assert all(o.finish_reason == "stop" for o in first + second)


def test_token_limit_reports_length(engine: VLLMEngine, page: Image.Image) -> None:
    (out,) = engine.generate([request(page, max_tokens=4)])
    assert out.finish_reason == "length"
    assert out.completion_tokens == 4
    assert out.error is None


def test_text_only_request(engine: VLLMEngine) -> None:
    req = GenerationRequest(prompt="Number AB-123, a receipt.", schema=Doc, system=None)
    (out,) = engine.generate([req])
    assert out.finish_reason == "stop"
    Doc.model_validate_json(out.text)


def test_failing_batch_returns_errors(engine: VLLMEngine, page: Image.Image) -> None:
    # Three images where the engine allows two: vLLM rejects the prompt; generate must not raise.
    too_many = GenerationRequest(prompt=PROMPT, schema=Doc, images=[page, page, page])
    outputs = engine.generate([request(page), too_many])
    assert [o.finish_reason for o in outputs] == ["error", "error"]
    assert all(o.error and o.text == "" for o in outputs)
    assert engine.generate([]) == []


def test_every_catalog_schema_decodes_under_the_default_backend(
    engine: VLLMEngine, page: Image.Image
) -> None:
    """The catalog (Invoice, Receipt, Table: lists of bounded strings) and a large user schema
    with nested lists, one batch, every answer valid (Outlines never compiled the first three)."""
    assert_catalog_decodes(engine, page)


def test_one_retry_after_a_failed_check(engine: VLLMEngine, page: Image.Image) -> None:
    assert_retry_after_failed_check(engine, page)


class Evil(BaseModel):
    """A pattern whose DFA has 2**22 states: Outlines cannot compile it in time."""

    code: str = Field(pattern=r"^(a|b)*a(a|b){22}$")


def test_outlines_backend_loosened_and_bounded(
    tiny_model: Path, page: Image.Image, engine: VLLMEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outlines compiles Invoice's loosened grammar (pydantic keeps the bounds; unbounded, random
    weights run to the budget, hence 64 tokens); a schema it cannot compile fails fast, named,
    once (cached), without sinking its batch-mates."""
    import time

    from docintel.engines import grammars
    from docintel.schemas import Invoice

    eng = VLLMEngine(
        str(tiny_model), structured_backend="outlines", grammar_timeout=5, **TEST_KWARGS
    )
    try:
        invoice = GenerationRequest(PROMPT, Invoice, [page], None, Sampling(64, 1.0, seed=1))
        started = time.perf_counter()
        good, bad = eng.generate([invoice, GenerationRequest(PROMPT, Evil, [page])])
        first = time.perf_counter() - started
        assert good.finish_reason in ("stop", "length"), good.error
        assert good.text.startswith('{"vendor"')
        assert bad.finish_reason == "error" and not bad.retryable
        assert "'Evil'" in (bad.error or "") and "'outlines'" in (bad.error or "")
        checks = []
        real_check = grammars._check
        monkeypatch.setattr(grammars, "_check", lambda *a: checks.append(a) or real_check(*a))
        (again,) = eng.generate([GenerationRequest(PROMPT, Evil, [page])])
        assert checks == [] and again.error == bad.error  # remembered, not compiled again
        print(f"outlines: Invoice + failed Evil {first:.1f} s (Evil bounded at 5 s)")
    finally:
        eng.close()
        grammars.forget()


def test_xgrammar_backend(tiny_model: Path, page: Image.Image, engine: VLLMEngine) -> None:
    # A second engine in the same process, with the xgrammar backend (whitespace disabled).
    eng = VLLMEngine(str(tiny_model), structured_backend="xgrammar", **TEST_KWARGS)
    try:
        outputs = eng.generate([request(page, seed=1), request(page, seed=2)])
        for out in outputs:
            assert out.finish_reason == "stop", out
            Doc.model_validate_json(out.text)
            assert "\n" not in out.text and ": " not in out.text  # no free whitespace
    finally:
        eng.close()
