"""In-process engine on Hugging Face transformers, constrained by Outlines.

The fallback engine: no server, no vLLM, any device torch has. Outlines 1.3 turns each
request's Pydantic schema into a logits processor that masks every token that would break
the schema, so the answer is schema-valid JSON whenever it ends on its own (a token budget
that cuts it is reported as ``finish_reason == "length"``).

Outlines' structured backend defaults here to llguidance, not Outlines' own outlines-core:
outlines-core ignores numeric bounds (``ge``/``le``: a random model wrote ``"qty": 745`` for
``le=99``), llguidance enforces them. llguidance allows free whitespace between JSON tokens
by default, which a weak model fills up to the token limit, so the schema goes with
``"x-guidance": {"whitespace_flexible": false}`` (compact JSON).

Requests run one at a time (a loop, not one padded batch): each request carries its own
sampling settings and seed, which ``model.generate`` cannot take per row, and unpadded
single runs give the same tokens for a request whether it comes alone or in a batch. On a
CPU the batch gain would be small anyway; vLLM is the engine for throughput.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from docintel.engines import grammars
from docintel.engines._torch_compat import ensure_torchvision
from docintel.engines.base import (
    Capabilities,
    FinishReason,
    GenerationOutput,
    GenerationRequest,
)
from docintel.errors import GrammarError
from docintel.grammar import Backend

# Outlines' name for each structured backend -> docintel's (grammar profiles, compile checks).
_PROFILE: dict[str, Backend] = {
    "llguidance": "guidance",
    "outlines_core": "outlines",
    "xgrammar": "xgrammar",
}
GENERATORS_KEPT = 64  # compiled generators kept per engine (least recently used dropped)

if TYPE_CHECKING:
    from PIL import Image
    from pydantic import BaseModel


class _TokenTap:
    """A transformers streamer that records the prompt length and every generated id.

    Outlines returns only decoded text; the streamer hook of ``generate`` is the public way
    to see the token ids (for exact counts and for telling EOS from a cut-off budget).
    """

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.ids: list[int] = []
        self._seen_prompt = False

    def put(self, value: Any) -> None:
        flat = [int(v) for v in value.reshape(-1).tolist()]
        if not self._seen_prompt:  # the first call carries the prompt
            self._seen_prompt = True
            self.prompt_tokens = len(flat)
        else:
            self.ids.extend(flat)

    def end(self) -> None:
        pass


class TransformersEngine:
    """Pixtral (or any transformers image-text model) with Outlines-constrained JSON output.

    The model loads lazily, on the first ``generate`` (or an explicit ``load()``), so that
    building an engine is cheap and configuration errors in other engines surface first.
    One Outlines generator is kept per constraint digest (so equal schemas built as new
    classes, as the HTTP API does per request, share one; bounded LRU), and one llguidance
    backend per engine (building it costs about 2 s; a schema's grammar then costs milliseconds).
    ``completion_tokens`` counts the final EOS token, as vLLM does.
    """

    name = "transformers"
    capabilities = Capabilities()  # sampled, and generate() is not reentrant

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "cpu",
        dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto",
        local_files_only: bool = True,
        seed: int | None = None,
        backend: Literal["llguidance", "outlines_core", "xgrammar"] = "llguidance",
    ) -> None:
        """``model``: a weights directory or hub id; ``seed``: used when a request has none;
        ``backend``: Outlines' structured-generation backend (see the module docstring).
        """
        self.model = str(model)
        self.device = device
        self.dtype = dtype
        self.local_files_only = local_files_only
        self.seed = seed
        self.backend = backend
        self._outlines_model: Any = None
        self._generators: OrderedDict[str, Any] = OrderedDict()
        self._llg_backend: Any = None
        self._lock = threading.Lock()  # generate() and the generator cache are not reentrant

    def load(self) -> None:
        """Load weights and processor now (idempotent)."""
        if self._outlines_model is not None:
            return
        # outlines-core masks logits with a torch.compile'd function; Dynamo makes the first
        # call 15-25 s on CPU and later calls no faster. Must be set before it compiles.
        os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
        ensure_torchvision()  # transformers' Pixtral processor imports torchvision
        import outlines
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        torch_dtype: Any = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        hf_model = AutoModelForImageTextToText.from_pretrained(
            self.model, dtype=torch_dtype, local_files_only=self.local_files_only
        )
        hf_model.to(self.device)
        hf_model.eval()
        processor = AutoProcessor.from_pretrained(
            self.model, local_files_only=self.local_files_only
        )
        self._outlines_model = outlines.from_transformers(hf_model, processor)

    def _generator(self, schema: type[BaseModel]) -> Any:
        checked = grammars.constraint(schema, _PROFILE[self.backend])  # raises GrammarError
        gen = self._generators.get(checked.digest)
        if gen is None:
            import outlines

            if self.backend == "llguidance":
                # Compact JSON: no free whitespace for a weak model to pad with.
                spec = {**checked.schema, "x-guidance": {"whitespace_flexible": False}}
                processor = self._llguidance().get_json_schema_logits_processor(json.dumps(spec))
                gen = outlines.Generator(self._outlines_model, processor=processor)
            else:
                from outlines.types import JsonSchema

                safe = JsonSchema(json.dumps(checked.schema))
                gen = outlines.Generator(self._outlines_model, safe, backend=self.backend)
            self._generators[checked.digest] = gen
            while len(self._generators) > GENERATORS_KEPT:
                self._generators.popitem(last=False)
        else:
            self._generators.move_to_end(checked.digest)
        return gen

    def _llguidance(self) -> Any:
        """One llguidance backend per engine: building its view of a 131k vocabulary costs
        about 2 s, and ``outlines.Generator(..., backend=...)`` would rebuild it per schema."""
        if self._llg_backend is None:
            from outlines.backends.llguidance import LLGuidanceBackend

            self._llg_backend = LLGuidanceBackend(self._outlines_model)
        return self._llg_backend

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationOutput]:
        """Answer each request in order; a failing request yields ``finish_reason="error"``."""
        with self._lock:
            return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerationRequest) -> GenerationOutput:
        start = time.perf_counter()
        try:
            self.load()
            return self._run(request, start)
        except GrammarError as exc:  # asking again cannot help
            return GenerationOutput("", "error", error=str(exc), retryable=False)
        except Exception as exc:  # one bad request must not sink the batch
            return GenerationOutput(
                text="",
                finish_reason="error",
                seconds=time.perf_counter() - start,
                error=f"{type(exc).__name__}: {exc}",
            )

    def _run(self, request: GenerationRequest, start: float) -> GenerationOutput:
        import torch
        from outlines.inputs import Chat

        sampling = request.sampling
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        if request.images:
            content: Any = [request.prompt, *(_outlines_image(im) for im in request.images)]
        else:
            content = request.prompt
        messages.append({"role": "user", "content": content})

        kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_tokens}
        if sampling.temperature <= 0:
            kwargs["do_sample"] = False
        else:
            # top_k=0: transformers would otherwise apply its default top_k=50, which the
            # request did not ask for (vLLM samples without it too).
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_k=0)
            if sampling.top_p < 1.0:  # top_p=1 is a no-op that still sorts 131k logits per token
                kwargs["top_p"] = sampling.top_p
        seed = sampling.seed if sampling.seed is not None else self.seed
        if seed is not None:
            torch.manual_seed(seed)  # per request, so a request's answer never depends on order
        tap = _TokenTap()
        generator = self._generator(request.schema)
        with torch.inference_mode():
            text = generator(Chat(messages), streamer=tap, **kwargs)

        hf_model = self._outlines_model.model
        eos = hf_model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        ended = bool(tap.ids) and tap.ids[-1] in eos_ids
        reason: FinishReason = (
            "length" if not ended and len(tap.ids) >= sampling.max_tokens else "stop"
        )
        return GenerationOutput(
            text=text,
            finish_reason=reason,
            prompt_tokens=tap.prompt_tokens,
            completion_tokens=len(tap.ids),
            seconds=time.perf_counter() - start,
        )

    def close(self) -> None:
        """Drop the model and the compiled generators."""
        with self._lock:
            self._generators.clear()
            self._llg_backend = None
            self._outlines_model = None


_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})


def _outlines_image(image: Image.Image) -> Any:
    """Wrap a PIL image for Outlines, which requires ``image.format`` to be set."""
    from outlines.inputs import Image as OutlinesImage
    from PIL import Image as PILImage

    if image.format is None:
        if image.mode not in _PNG_MODES:
            image = image.convert("RGB")  # e.g. CMYK: the processor makes it RGB anyway
        buf = io.BytesIO()
        image.save(buf, format="PNG")  # lossless: the model sees the same pixels
        buf.seek(0)
        image = PILImage.open(buf)
        image.load()
    return OutlinesImage(image)
