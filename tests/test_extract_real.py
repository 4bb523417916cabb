"""extract() end to end on a real engine: the tiny random-weight Pixtral under transformers.

Random weights under a grammar still give schema-valid output, so the whole path (load,
render, prompt, constrained decoding, validation, Result) runs for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("transformers")
pytest.importorskip("outlines")

from engine_schemas import Doc

import docintel
from docintel.cli import app
from docintel.engines.transformers import TransformersEngine
from docintel.testing import tiny_pixtral


@pytest.fixture(scope="module")
def tiny() -> Path:
    return tiny_pixtral.build(tiny_pixtral.default_path())


@pytest.fixture(scope="module")
def engine(tiny: Path) -> TransformersEngine:
    return TransformersEngine(tiny, seed=0)


def test_extract_validates_on_a_real_engine(engine: TransformersEngine, fixtures: Path) -> None:
    settings = docintel.get_settings(max_tokens=300, target_longest_side=256)
    result = docintel.extract(fixtures / "invoice-1.pdf", Doc, engine=engine, settings=settings)
    assert result.ok and isinstance(result.value, Doc)
    assert result.engine == "transformers" and result.model == str(engine.model)
    assert result.attempts[0].finish_reason == "stop" and result.prompt_tokens > 200


def test_extract_many_is_one_batch_and_reproducible(engine: TransformersEngine, fixtures) -> None:
    settings = docintel.get_settings(max_tokens=300, target_longest_side=256)
    sources = [fixtures / "invoice-1.pdf", fixtures / "note-handwriting.png"]
    first = docintel.extract_many(sources, Doc, engine=engine, settings=settings)
    again = docintel.extract_many(sources, Doc, engine=engine, settings=settings)
    assert all(r.ok for r in first)
    assert [r.value for r in first] == [r.value for r in again]  # seeded


def test_truncation_on_a_real_engine_is_retried(engine: TransformersEngine, fixtures) -> None:
    settings = docintel.get_settings(max_tokens=16, max_tokens_cap=512, target_longest_side=256)
    result = docintel.extract(
        fixtures / "invoice-1.pdf", Doc, engine=engine, settings=settings, max_attempts=6,
        raise_on_failure=False,
    )  # fmt: skip
    assert result.attempts[0].finish_reason == "length"
    assert [a.max_tokens for a in result.attempts][:2] == [16, 32]
    assert result.ok


def test_cli_extract_json(tiny: Path, fixtures: Path, tmp_path: Path) -> None:
    schema_file = tmp_path / "myschema.py"
    schema_file.write_text(
        "from typing import Annotated\n"
        "from pydantic import BaseModel, Field\n"
        "class Note(BaseModel):\n"
        "    title: str = Field(max_length=20)\n"
        "    lines: list[Annotated[str, Field(max_length=20)]] = Field(max_length=2)\n"
    )
    runner = CliRunner(env={"COLUMNS": "160", "DOCINTEL_TARGET_LONGEST_SIDE": "256"})
    result = runner.invoke(
        app,
        [
            "extract", str(fixtures / "note-handwriting.png"), "--schema",
            f"{schema_file}:Note", "--engine", "transformers", "--model", str(tiny), "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["engine"] == "transformers" and "title" in data["value"]
