"""The validation-and-retry loop, batch-first.

Every pending request of every document goes to the engine in one batch; each output is
checked (finish reason, JSON and schema, the schema's semantic checks, then any extra checks
the caller adds, such as grounding); the failures go back, together, as the next batch, with
what went wrong in their prompts. Truncated answers get a larger token budget. Attempts are
bounded and every one is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

from docintel.cancel import checkpoint
from docintel.checks.semantic import salvage, semantic_errors, validate
from docintel.engines.base import (
    Engine,
    GenerationOutput,
    GenerationRequest,
    Sampling,
    capabilities,
)
from docintel.pipeline.prompts import SYSTEM, user_prompt
from docintel.result import Attempt

if TYPE_CHECKING:
    from PIL import Image

    from docintel.document import Page, Region

# Extra checks on a validated value (grounding, ...): return error messages, empty when fine.
ExtraCheck = Callable[[BaseModel], list[str]]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, at which temperatures, with which token budgets."""

    max_attempts: int = 3
    temperatures: tuple[float, ...] = (0.0, 0.3, 0.6)  # attempt i uses [min(i, len - 1)]
    max_tokens: int = 2048
    max_tokens_cap: int = 16384
    seed: int | None = 0

    def temperature(self, attempt: int) -> float:
        return self.temperatures[min(attempt, len(self.temperatures) - 1)]


@dataclass
class Job:
    """One request to answer, across its attempts."""

    schema: type[BaseModel]
    images: Sequence[Image.Image]
    part: tuple[int, int] | None = None  # (i, n) when a document is split across requests
    checks: Sequence[ExtraCheck] = ()
    pages: Sequence[Page] = ()  # what the images show (engines that read words use them)
    region: Region | None = None
    attempts: list[Attempt] = field(default_factory=list)
    value: BaseModel | None = None  # accepted value, or the last candidate that validated
    partial: dict | None = None  # the last answer that did not validate, invalid values cleared
    missing: list[str] = field(default_factory=list)  # the paths cleared from ``partial``
    done: bool = False
    final: bool = False  # failed in a way another attempt cannot fix
    max_tokens: int = 0

    def request(self, policy: RetryPolicy, index: int) -> GenerationRequest:
        last = self.attempts[-1] if self.attempts else None
        prompt = user_prompt(
            self.schema,
            pages=len(self.images),
            part=self.part,
            previous=last.text if last else None,
            errors=last.errors if last else None,
        )
        n = len(self.attempts)
        seed = None if policy.seed is None else policy.seed + n
        sampling = Sampling(self.max_tokens, policy.temperature(n), seed=seed)
        history = tuple((a.text, tuple(a.errors)) for a in self.attempts)
        return GenerationRequest(
            prompt,
            self.schema,
            self.images,
            SYSTEM,
            sampling,
            str(index),
            self.pages,
            self.region,
            history,
        )

    def judge(self, out: GenerationOutput, request: GenerationRequest) -> Attempt:
        """Check one output, record the attempt, and decide what the next one needs."""
        errors: list[str] = []
        value: BaseModel | None = None
        if out.finish_reason == "error":
            errors.append(f"engine error: {out.error or 'no detail'}")
        elif out.finish_reason == "length":
            errors.append(
                f"the answer was cut off at {request.sampling.max_tokens} tokens: be concise"
            )
        else:
            value, errors = validate(out.text, self.schema)
            if value is None:
                partial, missing = salvage(out.text, self.schema)
                if partial is not None:
                    self.partial, self.missing = partial, missing
            if value is not None:
                self.value = value  # the latest candidate that parsed, even if checks fail
                errors = semantic_errors(value)
                for extra in self.checks:
                    errors.extend(extra(value))
        attempt = Attempt(
            number=len(self.attempts) + 1,
            text=out.text,
            finish_reason=out.finish_reason,
            errors=errors,
            prompt_tokens=out.prompt_tokens,
            completion_tokens=out.completion_tokens,
            seconds=out.seconds,
            max_tokens=request.sampling.max_tokens,
            temperature=request.sampling.temperature,
            part=self.part[0] if self.part else 0,
        )
        self.attempts.append(attempt)
        self.done = attempt.ok
        self.final = not out.retryable
        if out.finish_reason == "length":
            self.max_tokens = self.max_tokens * 2
        return attempt


def run(jobs: Sequence[Job], engine: Engine, policy: RetryPolicy) -> float:
    """Run ``jobs`` to completion or until attempts run out; return seconds in the engine."""
    for job in jobs:
        job.max_tokens = job.max_tokens or policy.max_tokens
    pending = [j for j in jobs if not (j.done or j.final)]
    spent = 0.0
    # Asking a deterministic engine again gives the same answer: one attempt, unless it reads
    # the feedback (the CPU path takes its next-best candidates for the fields an error names).
    caps = capabilities(engine)
    attempts = 1 if caps.deterministic and not caps.feedback else policy.max_attempts
    for _ in range(attempts):
        if not pending:
            break
        checkpoint()  # the caller gave up: no more attempts
        for job in pending:
            job.max_tokens = min(job.max_tokens, policy.max_tokens_cap)
        requests = [job.request(policy, i) for i, job in enumerate(pending)]
        start = time.perf_counter()
        outputs = engine.generate(requests)
        spent += time.perf_counter() - start
        if len(outputs) != len(requests):
            raise RuntimeError(
                f"engine {engine.name} returned {len(outputs)} outputs for {len(requests)} requests"
            )
        for job, request, out in zip(pending, requests, outputs, strict=True):
            job.judge(out, request)
        pending = [j for j in pending if not (j.done or j.final)]
    return spent
