"""The tiny Pixtral builder: layout, loading, processor token layout, reproducible seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers reads it: nothing downloads

from docintel.engines._torch_compat import ensure_torchvision
from docintel.testing import tiny_pixtral

IMG, IMG_BREAK, IMG_END = 10, 12, 13


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The seed-0 tiny model, built once into the cache (a fresh machine builds it here)."""
    return tiny_pixtral.build(tiny_pixtral.default_path(), seed=0)


@pytest.fixture(scope="module")
def processor(tiny_model: Path) -> Any:
    ensure_torchvision()
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_model, local_files_only=True)


def _image(width: int, height: int) -> Any:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((4, 4, width // 2, height // 2), fill=(200, 30, 30))
    return image


def test_layout_is_pixtral_hf(tiny_model: Path) -> None:
    assert tiny_pixtral.is_built(tiny_model, seed=0)
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["architectures"] == ["LlavaForConditionalGeneration"]
    assert config["model_type"] == "llava"
    assert config["image_token_index"] == IMG
    assert config["vision_feature_select_strategy"] == "full"
    vision, text = config["vision_config"], config["text_config"]
    assert vision["model_type"] == "pixtral" and vision["patch_size"] == 16
    assert text["model_type"] == "mistral" and text["vocab_size"] == 131072
    # vLLM's CPU attention supports head sizes 32, 64, 80, ... only.
    assert vision["head_dim"] == 32 and text["head_dim"] == 32
    size = sum(f.stat().st_size for f in tiny_model.iterdir())
    assert size < 100 * 2**20


def test_build_is_idempotent(tiny_model: Path) -> None:
    before = (tiny_model / "model.safetensors").stat().st_mtime_ns
    start = time.perf_counter()
    assert tiny_pixtral.build(tiny_model, seed=0) == tiny_model
    assert time.perf_counter() - start < 1.0
    assert (tiny_model / "model.safetensors").stat().st_mtime_ns == before


def test_loads_and_generates_from_an_image(tiny_model: Path, processor: Any) -> None:
    import torch
    from transformers import LlavaForConditionalGeneration

    model = LlavaForConditionalGeneration.from_pretrained(tiny_model, local_files_only=True)
    params = sum(p.numel() for p in model.parameters())
    assert 15e6 < params < 20e6
    weights = model.get_input_embeddings().weight
    assert torch.isfinite(weights).all() and weights.std() > 0  # random, not degenerate
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=text, images=[_image(64, 48)], return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 4


def test_processor_expands_image_rows(processor: Any) -> None:
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == "<s>[INST][IMG]Hi[/INST]"
    ids = processor(text=text, images=[_image(64, 48)], return_tensors="pt")["input_ids"][0]
    ids = ids.tolist()
    start = ids.index(IMG)
    image_ids = ids[start : start + 15]  # 48/16 = 3 rows of 64/16 = 4 patches + 1 break
    row = [IMG] * 4
    assert image_ids == [*row, IMG_BREAK, *row, IMG_BREAK, *row, IMG_END]
    assert ids[:2] == [1, 3]  # <s> [INST]
    assert ids[start + 15 :].count(IMG) == 0


def test_chat_template_follows_pixtral_format(processor: Any) -> None:
    def render(messages: list[dict[str, Any]]) -> str:
        return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    text, image = {"type": "text", "text": "T"}, {"type": "image"}
    # System prompt before the last user turn only; assistant turns end with </s>.
    assert (
        render(
            [
                {"role": "system", "content": "S"},
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": [text, image]},
            ]
        )
        == "<s>[INST]a[/INST]b</s>[INST]S\n\n[IMG]T[/INST]"
    )
    # Other chunk orders are kept as given (mistral-common moves only a single trailing image).
    mixed = [{"role": "user", "content": [image, text, image]}]
    assert render(mixed) == "<s>[INST][IMG]T[IMG][/INST]"


@pytest.mark.parametrize("size", [(64, 48), (100, 70)])
def test_processor_matches_mistral_common(processor: Any, size: tuple[int, int]) -> None:
    """Same conversation, same ids and pixels as Pixtral's reference encoder."""
    import numpy as np
    from mistral_common.protocol.instruct.chunk import ImageChunk, TextChunk
    from mistral_common.protocol.instruct.messages import SystemMessage, UserMessage
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    image = _image(*size)
    reference = MistralTokenizer.v3(is_tekken=True, is_mm=True)  # pixtral-12b-2409's tokenizer
    expected = reference.encode_chat_completion(
        ChatCompletionRequest(
            messages=[
                SystemMessage(content="Extract fields."),
                UserMessage(content=[TextChunk(text="Invoice total?"), ImageChunk(image=image)]),
            ]
        )
    )
    # The order outlines sends: text first, then the image (the template puts it first).
    messages = [
        {"role": "system", "content": "Extract fields."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Invoice total?"}, {"type": "image"}],
        },
    ]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=text, images=[image], return_tensors="pt")
    assert inputs["input_ids"][0].tolist() == expected.tokens
    height, width = inputs["image_sizes"][0].tolist()
    pixels = inputs["pixel_values"][0].numpy()[:, :height, :width]
    assert pixels.shape == expected.images[0].shape
    diff = np.abs(pixels - expected.images[0])
    if size[0] % 16 == 0 and size[1] % 16 == 0:  # no resize: identical
        assert diff.max() < 1e-5
    else:  # torchvision's and OpenCV's bicubic differ at sharp edges only
        assert diff.mean() < 0.02


def test_seeded_builds_reproduce(tiny_model: Path, tmp_path: Path) -> None:
    """Same seed, same weights; another seed (built by the CLI) gives other weights."""
    again = tiny_pixtral.build(tmp_path / "seed0", seed=0)
    assert tiny_pixtral.weights_digest(again) == tiny_pixtral.weights_digest(tiny_model)
    out = tmp_path / "seed1"
    result = subprocess.run(
        [sys.executable, "-m", "docintel.testing.tiny_pixtral", str(out), "--seed", "1"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert tiny_pixtral.is_built(out, seed=1)
    assert tiny_pixtral.weights_digest(out) != tiny_pixtral.weights_digest(tiny_model)
