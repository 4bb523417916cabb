"""``get_engine``: one loaded engine per configuration, the settings reaching the engine, and
the result's overall confidence (the bugs issue 14 found in this corner)."""

from __future__ import annotations

from pathlib import Path

import pytest

import docintel
from docintel.engines import get_engine
from docintel.jobs.store import Store
from docintel.schemas import Invoice
from docintel.settings import get_settings


def test_each_configuration_gets_its_own_engine() -> None:
    base = dict(server_url="http://127.0.0.1:9", server_model="m")
    first = get_engine("server", get_settings(**base, api_key="key-1"))
    assert get_engine("server", get_settings(**base, api_key="key-1")) is first  # reused
    for change in (
        {"api_key": "key-2"},
        {"server_model": "other"},
        {"structured_backend": "xgrammar"},
        {"grammar_timeout": 5.0},
    ):
        other = get_engine("server", get_settings(**{**base, "api_key": "key-1", **change}))
        assert other is not first, change
    second = get_engine("server", get_settings(**base, api_key="key-2"))
    assert second._client.headers["authorization"] == "Bearer key-2"  # its own key


@pytest.fixture(scope="module")
def tiny_model() -> Path:
    from docintel.testing import tiny_pixtral

    return tiny_pixtral.build(tiny_pixtral.default_path())


def test_transformers_engine_gets_device_and_dtype(tiny_model: Path) -> None:
    """Not always the CPU: the settings choose (loading is lazy, so no GPU is needed here)."""
    settings = get_settings(model=str(tiny_model), device="cuda:1", dtype="bfloat16")
    engine = get_engine("transformers", settings)
    assert (engine.device, engine.dtype) == ("cuda:1", "bfloat16")
    auto = get_engine("transformers", get_settings(model=str(tiny_model)))
    assert auto.device == "cpu"  # auto: no CUDA on this machine


def test_result_confidence_is_the_mean_of_its_fields(fixtures: Path, tmp_path: Path) -> None:
    result = docintel.extract(fixtures / "invoice-1.pdf", Invoice, engine="cpu")
    fields = [src.confidence for src in result.provenance.values()]
    assert fields and result.confidence == sum(fields) / len(fields)
    assert result.to_dict()["confidence"] == round(result.confidence, 3)
    store = Store(tmp_path / "store.db")
    store.save_result("invoice-1.pdf", 1, result, "invoice@x")
    (row,) = store.results()
    assert row.confidence == result.confidence
