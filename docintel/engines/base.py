"""The one engine protocol: a batch of generation requests in, one output per request out.

A request carries everything an engine needs (system and user text, images, the output
schema, sampling settings); turning it into the backend's input and the schema into the
backend's constraint is the adapter's job. Adapters live one per module in this package, and
nothing outside it imports vllm, transformers, torch or openai.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL import Image
    from pydantic import BaseModel

    from docintel.document import Page, Region

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class Sampling:
    """Decoding settings for one request."""

    max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for the model: text, images, and the schema its answer must follow."""

    prompt: str
    schema: type[BaseModel]
    images: Sequence[Image.Image] = ()
    system: str | None = None
    sampling: Sampling = field(default_factory=Sampling)
    id: str = ""
    # The pages the images show, for engines that read words rather than pixels (the CPU
    # engine); ``region`` when the single image is a crop of one region of ``pages[0]``.
    pages: Sequence[Page] = ()
    region: Region | None = None
    # The job's earlier attempts: (answer, errors), oldest first. Models read them in the
    # prompt; engines that take feedback (``Capabilities.feedback``) read them here.
    history: Sequence[tuple[str, Sequence[str]]] = ()


@dataclass
class GenerationOutput:
    """What the engine produced for one request.

    ``finish_reason`` is ``"stop"`` for a complete answer, ``"length"`` when the token budget
    cut it, ``"error"`` when the engine failed on this request (``error`` says why; engine
    failures are returned, not raised, so one bad request does not sink its batch).
    ``retryable`` is false when asking again cannot help (the schema's grammar cannot be
    built): the retry loop then stops at once instead of spending its attempts.
    """

    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error: str | None = None
    retryable: bool = True


@dataclass(frozen=True)
class Capabilities:
    """What callers may rely on, declared by each engine (``capabilities`` class attribute).

    ``deterministic``: asking again gives the same answer, so the retry loop asks once and a
    failure is never worth retrying later. ``thread_safe``: ``generate`` may be called from
    several threads at once (otherwise callers serialise or micro-batch their calls).
    ``feedback``: a deterministic engine that reads the earlier attempts' errors
    (``GenerationRequest.history``) and answers differently when they name what was wrong,
    so the retry loop asks again; it answers ``retryable=False`` when it has nothing else.
    """

    deterministic: bool = False
    thread_safe: bool = False
    feedback: bool = False


MODEL = Capabilities()  # a sampled model in this process: neither


def capabilities(engine: object) -> Capabilities:
    """``engine``'s declared capabilities; an engine from elsewhere that declares none gets the
    safe defaults (not deterministic, not thread-safe)."""
    declared = getattr(engine, "capabilities", MODEL)
    return declared if isinstance(declared, Capabilities) else MODEL


@runtime_checkable
class Engine(Protocol):
    """A model that answers batches of requests under each request's schema."""

    name: str  # "vllm", "server", "transformers", ...
    model: str  # model id or weights directory
    capabilities: Capabilities

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        """Answer every request; the output list matches the request list in order."""
        ...

    def close(self) -> None:
        """Release the model (GPU memory, connections, subprocesses)."""
        ...
