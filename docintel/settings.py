"""One typed settings object: defaults, overridden by ``DOCINTEL_*`` variables or arguments."""

from __future__ import annotations

import functools
import os
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from docintel.grammar import DEFAULT_BACKEND, Backend


class Limits(BaseSettings):
    """Bounds that keep hostile or accidental inputs from exhausting the machine."""

    # Frozen: one instance is shared by every caller that reads the same environment.
    model_config = SettingsConfigDict(env_prefix="DOCINTEL_", extra="ignore", frozen=True)

    max_bytes: int = Field(200 * 1024 * 1024, gt=0, description="Largest input accepted, in bytes.")
    max_pages: int = Field(2000, gt=0, description="Most pages (PDF pages or image frames).")
    max_pixels: int = Field(
        100_000_000, gt=0, description="Most pixels in one image (decompression-bomb guard)."
    )
    max_total_pixels: int = Field(
        500_000_000,
        gt=0,
        description="Most pixels in all frames of one image file together (1000 frames of 1000 "
        "x 1000 exceed it); frames are decoded only when a page is rendered.",
    )
    fetch_timeout: float = Field(
        30.0, gt=0, description="Seconds allowed for one URL fetch, all of it (redirects too)."
    )
    fetch_max_bytes: int = Field(
        50 * 1024 * 1024, gt=0, description="Largest body a URL fetch may return, in bytes."
    )
    allow_private_urls: bool = Field(
        False, description="Allow URLs that resolve to private, loopback or link-local addresses."
    )


class Settings(Limits):
    """Everything configurable in docintel."""

    target_longest_side: int = Field(
        1024, ge=16, le=8192, description="Longest side of page images sent to the model (pixels)."
    )
    # ---- work per request (extract, transcribe, the service) ----
    max_work_pages: int = Field(
        200, gt=0, description="Most pages one extraction or transcription request works on."
    )
    max_work_pixels: int = Field(
        200 * 1024 * 1024,
        gt=0,
        description="Most page pixels (at target_longest_side) one request renders.",
    )
    max_work_regions: int = Field(
        256, gt=0, description="Most regions (formulas) one request transcribes."
    )
    image_cache_bytes: int = Field(
        1024 * 1024 * 1024, gt=0, description="Rendered page images kept, all documents."
    )
    document_cache_bytes: int = Field(
        256 * 1024 * 1024, gt=0, description="Rendered page images kept per document."
    )
    preprocess_digital: bool = Field(
        False, description="Also deskew/denoise born-digital PDF pages (normally left alone)."
    )

    # ---- engines ----
    engine: str = Field("auto", description="auto | vllm | server | transformers")
    model: str = Field(
        "mistralai/Pixtral-12B-2409", description="Model id or local weights directory."
    )
    server_url: str | None = Field(
        None, description="Base URL of a vLLM / OpenAI-compatible server (enables 'server')."
    )
    server_model: str | None = Field(None, description="Model name on the server (default: ask).")
    api_key: str | None = Field(None, description="API key for the server.")
    structured_backend: Backend = Field(
        DEFAULT_BACKEND,
        description="Structured-output (grammar) backend: guidance (llguidance, the default: "
        "compiles any schema in milliseconds) | xgrammar | outlines. For the server engine, the "
        "backend the server runs (it decides how far the grammar is loosened).",
    )
    grammar_timeout: float = Field(
        20.0, gt=0, description="Seconds a schema's grammar may take to compile before it fails."
    )
    device: str = Field(
        "auto",
        description="Where the transformers engine runs: auto (cuda when available) | cpu | "
        "cuda | cuda:N | mps.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights' dtype for the transformers engine (auto: as saved)."
    )
    cpu_scorer: str | None = Field(
        None,
        description="The CPU engine's candidate scorer file (`docintel train`); default: the "
        "one shipped in docintel/data/cpu_scorer.json.",
    )

    # ---- extraction ----
    max_attempts: int = Field(3, ge=1, le=10, description="Attempts per request, retries included.")
    max_tokens: int = Field(2048, ge=16, description="Token budget of a first attempt.")
    max_tokens_cap: int = Field(16384, ge=16, description="Largest budget after truncation.")
    pages_per_request: int = Field(8, ge=1, description="Most page images in one request.")
    image_tokens_per_request: int = Field(
        40_000, ge=1000, description="Most image tokens in one request (Pixtral: 128k context)."
    )

    # ---- HTTP service (docintel serve) ----
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Keys the service accepts (comma-separated in DOCINTEL_API_KEYS); "
        "none: no authentication.",
    )
    max_upload_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest request body the service reads, in bytes."
    )
    request_timeout: float = Field(120.0, gt=0, description="Seconds one request may take.")
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds a client may take to send a request's headers."
    )
    body_timeout: float = Field(
        60.0, gt=0, description="Seconds a client may take to send a request's body."
    )
    batch_window_ms: float = Field(
        10.0, ge=0, description="How long the service gathers requests into one engine batch."
    )
    max_batch: int = Field(32, ge=1, description="Most requests in one engine batch.")
    max_queue: int = Field(
        64, ge=1, description="Requests admitted at once; more get 429 with Retry-After."
    )
    allow_urls: bool = Field(False, description="Let service requests name inputs by URL.")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask: containers, taskset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with keyword overrides on top. Without overrides, the
    same (frozen) object while the ``DOCINTEL_*`` variables stay the same: reading them costs
    about 7 ms, and every ``load`` and ``extract`` call asks."""
    if overrides:
        return Settings(**overrides)  # type: ignore[arg-type]
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("DOCINTEL_")))
    return _from_environment(env)


@functools.lru_cache(maxsize=16)
def _from_environment(env: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()
