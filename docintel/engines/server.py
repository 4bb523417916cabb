"""Engine for a vLLM (or other OpenAI-compatible) server: scale-out behind ``vllm serve``.

Plain httpx rather than the openai client: httpx is already a core dependency, and owning the
request loop keeps retries explicit (connection errors, timeouts and 5xx are retried with
exponential backoff, 4xx never) instead of stacking on the client's own hidden retry policy.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx

from docintel.backoff import backoff
from docintel.engines import grammars
from docintel.engines.base import Capabilities, GenerationOutput, GenerationRequest
from docintel.engines.chat import chat_messages, map_finish_reason
from docintel.errors import GrammarError
from docintel.grammar import DEFAULT_BACKEND, Backend

StructuredField = Literal["response_format", "structured_outputs"]


class _ServerError(Exception):
    """A request the server answered with an error status (control flow inside this engine:
    callers get a ``GenerationOutput`` with ``finish_reason="error"``)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.status >= 500


class _RetriesExhausted(Exception):
    """Every attempt at a request failed with a retryable error."""


class ServerEngine:
    """Requests to an OpenAI-compatible chat-completions server, sent concurrently."""

    name = "server"
    capabilities = Capabilities(thread_safe=True)  # httpx clients are; the server batches

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 120,
        retries: int = 3,
        backoff: float = 0.5,
        structured: StructuredField = "response_format",
        structured_backend: Backend = DEFAULT_BACKEND,
        grammar_timeout: float = grammars.DEFAULT_TIMEOUT,
    ) -> None:
        """``structured_backend``: the grammar backend the server runs (``vllm serve
        --structured-outputs-config``); the schema is loosened for it and checked here first,
        so a schema it cannot compile fails at once instead of costing the server a timeout.
        """
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self._model = model
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.structured: StructuredField = structured
        self.structured_backend: Backend = structured_backend
        self.grammar_timeout = grammar_timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            # Connecting should be quick; reading a long generation may not be.
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=self.concurrency),
        )
        self._lock = threading.Lock()
        self.attempts = 0  # HTTP attempts made, retries included (for metrics and tests)

    @property
    def model(self) -> str:
        """The served model's name; asked from ``/v1/models`` when not given."""
        if self._model is None:
            response = self._client.get("/v1/models")
            response.raise_for_status()
            self._model = str(response.json()["data"][0]["id"])
        return self._model

    def ready(self, timeout: float = 180.0, interval: float = 0.5) -> bool:
        """Poll ``/health`` (vLLM) or ``/v1/models`` until the server answers or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            for path in ("/health", "/v1/models"):
                try:
                    if self._client.get(path, timeout=min(5.0, timeout)).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass  # not up yet
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        """The chat-completions payload for one request."""
        schema = grammars.constraint(
            request.schema, self.structured_backend, timeout=self.grammar_timeout
        ).schema
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(request),
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
        }
        if s.seed is not None:
            body["seed"] = s.seed
        if self.structured == "response_format":
            name = re.sub(r"[^A-Za-z0-9_-]", "_", request.schema.__name__)[:64] or "output"
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            }
        else:
            # vLLM's own field; the old ``guided_json`` is silently ignored since vLLM 0.33.
            body["structured_outputs"] = {"json": schema}
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries on connection errors, timeouts and 5xx; 4xx fail at once."""
        attempt = 0
        while True:
            with self._lock:
                self.attempts += 1
            try:
                response = self._client.post("/v1/chat/completions", json=body)
                if response.status_code >= 400:
                    raise _ServerError(response.status_code, response.text)
                return response.json()
            except (httpx.TransportError, _ServerError) as exc:
                if isinstance(exc, _ServerError) and not exc.retryable:
                    raise
                if attempt >= self.retries:
                    raise _RetriesExhausted(f"{attempt + 1} attempts, last: {exc!r}") from exc
                time.sleep(backoff(attempt, self.backoff))
                attempt += 1

    def _one(self, request: GenerationRequest) -> GenerationOutput:
        started = time.perf_counter()
        try:
            body = self._body(request)
        except GrammarError as exc:  # asking again cannot help
            return GenerationOutput("", "error", error=str(exc), retryable=False)
        try:
            data = self._post(body)
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            raw_reason = choice.get("finish_reason")
            reason = map_finish_reason(raw_reason)
            return GenerationOutput(
                text=(choice.get("message") or {}).get("content") or "",
                finish_reason=reason,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                seconds=time.perf_counter() - started,
                error=None
                if reason != "error"
                else f"finish_reason {choice.get('finish_reason')!r}",
            )
        except Exception as exc:  # returned, not raised: one request must not sink the batch
            return GenerationOutput(
                "",
                "error",
                seconds=time.perf_counter() - started,
                error=f"{type(exc).__name__}: {exc}",
            )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        """Send every request, at most ``concurrency`` at a time; outputs in request order."""
        if not requests:
            return []
        workers = min(self.concurrency, len(requests))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="docintel-server") as pool:
            return list(pool.map(self._one, requests))

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> ServerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
