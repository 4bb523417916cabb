"""The validation-and-retry loop and the extract API, around a scripted engine.

The engine here is a fake on purpose: these tests pin down the loop's logic (what each retry
prompt says, how batches are formed, budgets, merging). The real engines run the same API in
tests/test_engine_*.py and tests/test_extract_real.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

import docintel
from docintel import ExtractionFailed, check
from docintel.engines import GenerationOutput, GenerationRequest
from docintel.errors import EngineUnavailable
from docintel.settings import Settings


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=40)
    amount: float


class Bill(BaseModel):
    """A bill with lines and a total."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(pattern=r"^[A-Z]{2}-[0-9]{3}$", description="Bill number")
    lines: list[Line] = Field(default_factory=list, max_length=10)
    total: float

    @check
    def total_is_sum_of_lines(self) -> str | None:
        if self.lines and abs(sum(li.amount for li in self.lines) - self.total) > 0.01:
            return f"total {self.total} differs from the sum of the lines"
        return None


GOOD = json.dumps({"number": "AB-123", "lines": [{"description": "x", "amount": 2}], "total": 2})
WRONG_TOTAL = GOOD.replace('"total": 2', '"total": 5')

Reply = Callable[[GenerationRequest, int], GenerationOutput]


@dataclass
class ScriptedEngine:
    """Answers by a function of (request, how many times this request id was seen)."""

    reply: Reply
    name: str = "scripted"
    model: str = "script"
    batches: list[list[GenerationRequest]] = field(default_factory=list)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        self.batches.append(list(requests))
        return [self.reply(r, len(self.batches)) for r in requests]

    def close(self) -> None:
        pass


def stop(text: str) -> GenerationOutput:
    return GenerationOutput(text, "stop", prompt_tokens=100, completion_tokens=20, seconds=0.01)


@pytest.fixture
def invoice(fixtures: Path) -> Path:
    return fixtures / "invoice-1.pdf"


def test_semantic_failure_is_fed_back_and_both_attempts_recorded(invoice: Path) -> None:
    engine = ScriptedEngine(lambda r, n: stop(WRONG_TOTAL if n == 1 else GOOD))
    result = docintel.extract(invoice, Bill, engine=engine)
    assert result.ok and result.value == Bill.model_validate_json(GOOD)
    assert [a.ok for a in result.attempts] == [False, True]
    assert "differs from the sum" in result.attempts[0].errors[0]
    first, second = engine.batches[0][0].prompt, engine.batches[1][0].prompt
    assert "rejected" not in first
    assert "total 5.0 differs from the sum of the lines" in second and WRONG_TOTAL in second
    assert result.attempts[1].temperature > result.attempts[0].temperature
    assert result.prompt_tokens == 200 and result.completion_tokens == 40
    assert result.engine == "scripted" and result.document and result.pages == [0]


def test_schema_failure_names_the_field(invoice: Path) -> None:
    bad = GOOD.replace("AB-123", "nope")
    engine = ScriptedEngine(lambda r, n: stop(bad if n == 1 else GOOD))
    result = docintel.extract(invoice, Bill, engine=engine)
    assert result.ok and result.attempts[0].errors[0].startswith("number: String should match")
    assert "number: String should match" in engine.batches[1][0].prompt


def test_truncation_retried_with_a_larger_budget(invoice: Path) -> None:
    def reply(r: GenerationRequest, n: int) -> GenerationOutput:
        if r.sampling.max_tokens < 400:
            return GenerationOutput(GOOD[:10], "length", completion_tokens=r.sampling.max_tokens)
        return stop(GOOD)

    engine = ScriptedEngine(reply)
    settings = Settings(max_tokens=100, max_tokens_cap=1000)
    result = docintel.extract(invoice, Bill, engine=engine, settings=settings, max_attempts=4)
    budgets = [a.max_tokens for a in result.attempts]
    assert result.ok and budgets == [100, 200, 400]
    assert "cut off at 100 tokens" in result.attempts[0].errors[0]


def test_engine_error_is_a_failure_not_data(invoice: Path) -> None:
    def reply(r: GenerationRequest, n: int) -> GenerationOutput:
        return GenerationOutput("", "error", error="KV cache full") if n == 1 else stop(GOOD)

    result = docintel.extract(invoice, Bill, engine=ScriptedEngine(reply))
    assert result.ok and result.attempts[0].errors == ["engine error: KV cache full"]


def test_batch_of_n_with_k_failures_sends_one_retry_batch_of_k(fixtures: Path) -> None:
    sources = [fixtures / "invoice-1.pdf", fixtures / "invoice-2.pdf", fixtures / "formulas.pdf"]
    sources += [fixtures / "diagram.pdf", fixtures / "mixed.pdf"]  # 5 documents, 6 pages
    failing = {1, 3}  # request ids (positions) that fail the first time

    def reply(r: GenerationRequest, n: int) -> GenerationOutput:
        return stop(WRONG_TOTAL if n == 1 and int(r.id) in failing else GOOD)

    engine = ScriptedEngine(reply)
    results = docintel.extract_many(sources, Bill, engine=engine)
    assert [len(b) for b in engine.batches] == [5, 2]  # one first batch, one retry batch of k
    assert all(r.ok for r in results)
    assert [len(r.attempts) for r in results] == [1, 2, 1, 2, 1]
    assert all("rejected" in r.prompt for r in engine.batches[1])


def test_attempts_run_out_raise_with_every_attempt(invoice: Path) -> None:
    engine = ScriptedEngine(lambda r, n: stop(WRONG_TOTAL))
    with pytest.raises(ExtractionFailed, match="in 3 attempt") as info:
        docintel.extract(invoice, Bill, engine=engine)
    failed = info.value.result
    assert not failed.ok and len(failed.attempts) == 3 and len(engine.batches) == 3
    assert info.value.last_candidate == WRONG_TOTAL
    assert failed.value is not None and failed.value.total == 5  # the last candidate, typed
    assert "differs from the sum" in info.value.errors[0]
    quiet = docintel.extract(invoice, Bill, engine=engine, raise_on_failure=False, max_attempts=2)
    assert not quiet.ok and len(quiet.attempts) == 2


def test_long_document_split_by_page_budget_and_merged(fixtures: Path, tmp_path: Path) -> None:
    import pymupdf

    pdf = pymupdf.open()
    for i in range(5):
        pdf.new_page().insert_text((72, 72), f"page {i + 1} of a long bill with many lines")
    path = tmp_path / "long.pdf"
    pdf.save(path)

    def reply(r: GenerationRequest, n: int) -> GenerationOutput:
        part = len(r.images)
        lines = [{"description": f"{part} pages", "amount": 1}]
        return stop(json.dumps({"number": "AB-123", "lines": lines, "total": 1}))

    engine = ScriptedEngine(reply)
    settings = Settings(pages_per_request=2)
    result = docintel.extract(path, Bill, engine=engine, settings=settings, raise_on_failure=False)
    assert [len(r.images) for r in engine.batches[0]] == [2, 2, 1]  # one batch, 3 parts
    assert "part 2 of 3" in engine.batches[0][1].prompt
    assert [li.description for li in result.value.lines] == ["2 pages", "2 pages", "1 pages"]
    # merged lines sum to 3 but the first part's total (1) wins: the merged value fails
    # the semantic check, and the result says so instead of pretending
    assert not result.ok and "differs from the sum" in result.errors[0]
    assert result.pages == [0, 1, 2, 3, 4]


def test_pages_argument_limits_the_request(fixtures: Path) -> None:
    engine = ScriptedEngine(lambda r, n: stop(GOOD))
    result = docintel.extract(fixtures / "mixed.pdf", Bill, engine=engine, pages=[1])
    assert result.pages == [1] and len(engine.batches[0][0].images) == 1
    with pytest.raises(IndexError, match="outside"):
        docintel.extract(fixtures / "mixed.pdf", Bill, engine=engine, pages=[7])


def test_extract_many_keeps_going_past_bad_input(fixtures: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 40)
    engine = ScriptedEngine(lambda r, n: stop(GOOD))
    results = docintel.extract_many([fixtures / "invoice-1.pdf", corrupt], Bill, engine=engine)
    assert results[0].ok and not results[1].ok
    assert results[1].errors[0].startswith("CorruptDocument") and results[1].attempts == []


def test_extract_regions_sends_one_crop_per_region(fixtures: Path) -> None:
    class Formula(BaseModel):
        latex: str = Field(max_length=200)

    engine = ScriptedEngine(lambda r, n: stop('{"latex": "x^2"}'))
    results = docintel.extract_regions(fixtures / "formulas.pdf", Formula, "formula", engine=engine)
    doc = docintel.load(fixtures / "formulas.pdf")
    regions = doc[0].regions_of("formula")
    assert len(results) == len(regions) >= 4 and len(engine.batches) == 1
    assert [r.region for r in results] == regions
    assert all(max(req.images[0].size) == 1024 for req in engine.batches[0])


def test_extra_checks_join_the_loop(invoice: Path) -> None:
    seen: list[str] = []

    def grounded(value: BaseModel) -> list[str]:
        seen.append(value.number)  # type: ignore[attr-defined]
        return [] if len(seen) > 1 else ["number AB-123 not found on the page"]

    engine = ScriptedEngine(lambda r, n: stop(GOOD))
    result = docintel.extract(invoice, Bill, engine=engine, checks=[grounded])
    assert result.ok and len(result.attempts) == 2
    assert "not found on the page" in engine.batches[1][0].prompt


def test_auto_without_any_model_falls_back_to_the_cpu_path(invoice: Path, monkeypatch) -> None:
    from docintel.schemas import Formula

    monkeypatch.delenv("DOCINTEL_SERVER_URL", raising=False)
    settings = Settings(model="/nonexistent/weights")
    result = docintel.extract(invoice, Bill, settings=settings, raise_on_failure=False)
    # deterministic: asked again only while it has other candidates for the fields named
    assert result.engine == "cpu" and len(result.attempts) <= settings.max_attempts
    formula = docintel.extract(invoice, Formula, settings=settings, raise_on_failure=False)
    assert not formula.ok and "needs a vision model" in formula.errors[0]
    assert "DOCINTEL_SERVER_URL" in formula.errors[0]


def test_unknown_engine_name_is_a_clear_error(invoice: Path) -> None:
    with pytest.raises(EngineUnavailable, match="use auto, vllm, server, transformers or cpu"):
        docintel.extract(invoice, Bill, engine="gpt")


def test_result_to_dict_is_json(invoice: Path) -> None:
    result = docintel.extract(invoice, Bill, engine=ScriptedEngine(lambda r, n: stop(GOOD)))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["value"]["number"] == "AB-123" and data["attempts"][0]["finish_reason"] == "stop"
    assert set(data["timings"]) == {"load", "render", "generate"}
