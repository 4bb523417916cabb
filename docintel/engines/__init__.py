"""Engines: one protocol (``base.Engine``), one adapter module per backend.

``get_engine`` turns a name into a loaded engine (cached, since loading a model is costly);
``"auto"`` picks the server where one is configured, in-process vLLM where CUDA and the
weights are present, and otherwise the CPU path (text layer and OCR, no vision model).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

from docintel.engines.base import Engine, GenerationOutput, GenerationRequest, Sampling
from docintel.errors import EngineUnavailable
from docintel.settings import Settings, get_settings

__all__ = ["Engine", "GenerationOutput", "GenerationRequest", "Sampling", "get_engine"]

_ENGINES: dict[tuple[object, ...], Engine] = {}
_LOCK = threading.Lock()


def get_engine(engine: str | Engine | None = None, settings: Settings | None = None) -> Engine:
    """The engine named ``engine`` (or ``settings.engine``), loaded once and reused."""
    if engine is not None and not isinstance(engine, str):
        return engine
    settings = settings or get_settings()
    name = engine or settings.engine
    if name == "auto":
        name = _auto(settings)
    # Everything that makes two loaded engines differ: a second configuration must never get
    # the first one's engine (or its API key).
    key = (
        name,
        settings.model,
        settings.server_url,
        settings.server_model,
        settings.api_key,
        settings.structured_backend,
        settings.grammar_timeout,
        settings.device,
        settings.dtype,
    )
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _load(name, settings)
        return _ENGINES[key]


def _load(name: str, settings: Settings) -> Engine:
    if name == "vllm":
        from docintel.engines.vllm import VLLMEngine

        return VLLMEngine(
            settings.model,
            structured_backend=settings.structured_backend,
            grammar_timeout=settings.grammar_timeout,
        )
    if name == "server":
        if not settings.server_url:
            raise EngineUnavailable(
                "engine 'server' needs a server URL: set DOCINTEL_SERVER_URL=http://host:8000 "
                "(a `vllm serve` or any OpenAI-compatible endpoint)."
            )
        from docintel.engines.server import ServerEngine

        return ServerEngine(
            settings.server_url,
            settings.server_model,
            api_key=settings.api_key,
            structured_backend=settings.structured_backend,
            grammar_timeout=settings.grammar_timeout,
        )
    if name == "transformers":
        from docintel.engines.transformers import TransformersEngine

        return TransformersEngine(
            settings.model, device=_device(settings.device), dtype=settings.dtype
        )
    if name == "cpu":
        from docintel.engines.cpu import CPUEngine

        return CPUEngine(settings.cpu_scorer)
    raise EngineUnavailable(
        f"unknown engine {name!r}: use auto, vllm, server, transformers or cpu."
    )


def _auto(settings: Settings) -> str:
    if settings.server_url:
        return "server"
    if _cuda() and importlib.util.find_spec("vllm") and _weights_present(settings.model):
        return "vllm"
    # No vision model here: the CPU path fills what the text layer and OCR allow; its errors
    # name the setting that brings a vision model for what it cannot do.
    return "cpu"


def _device(device: str) -> str:
    """``auto``: the GPU when torch sees one, else the CPU."""
    return ("cuda" if _cuda() else "cpu") if device == "auto" else device


def _cuda() -> bool:
    if not importlib.util.find_spec("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _weights_present(model: str) -> bool:
    """A local directory, or a model id already in the Hugging Face cache."""
    if Path(model).expanduser().is_dir():
        return True
    hub = Path(
        os.environ.get("HF_HUB_CACHE")
        or Path(os.environ.get("HF_HOME", "~/.cache/huggingface")) / "hub"
    )
    return (hub.expanduser() / f"models--{model.replace('/', '--')}").is_dir()
