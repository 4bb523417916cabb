"""A tiny random-weight model in the exact Pixtral 12B layout, built offline.

The directory it writes has the Hugging Face layout of ``mistral-community/pixtral-12b``
(``LlavaForConditionalGeneration`` with a Pixtral vision tower and a Mistral text model), so
both transformers and vLLM load it. The tokenizer is the real Pixtral one (Tekken, shipped
inside ``mistral-common``), so prompts, image placeholders and chat formatting match the
production model token for token; only the weights are random (about 17M parameters).
Under constrained decoding its output is still schema-valid, which makes the whole engine
path testable on a CPU with no model hub.

Usage: ``python -m docintel.testing.tiny_pixtral OUT_DIR [--seed N] [--overwrite]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from docintel.engines._torch_compat import ensure_torchvision

# Bump VERSION whenever the config, template or file layout changes: cached builds carry it in
# their stamp file, and a stamp with another value forces a rebuild.
VERSION = "tiny-pixtral-v2"
_STAMP = "docintel-tiny-pixtral.json"

IMAGE_TOKEN_ID = 10
IMAGE_BREAK_TOKEN_ID = 12
IMAGE_END_TOKEN_ID = 13
PATCH_SIZE = 16
LONGEST_EDGE = 1024
# Pixtral's normalisation (the CLIP statistics), as in mistral-common's ImageEncoder.
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]

# Pixtral 12B 2409 chat format (mistral-common's v3 Tekken instruct encoding): the system
# prompt goes in front of the *last* user message, images become one [IMG] placeholder each
# (the processor expands it into rows of [IMG] + [IMG_BREAK], the last break [IMG_END]).
# Like mistral-common, text chunks followed by a single image are encoded image first
# (its ``force_img_first`` compatibility rule), so ids match its encoder for that common case.
CHAT_TEMPLATE = """\
{%- if messages[0]["role"] == "system" -%}
    {%- if messages[0]["content"] is string -%}
        {%- set system_message = messages[0]["content"] -%}
    {%- else -%}
        {%- set system_message = messages[0]["content"] | selectattr("type", "equalto", "text") \
| map(attribute="text") | join("\\n\\n") -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{{- bos_token -}}
{%- for message in loop_messages -%}
    {%- if (message["role"] == "user") != (loop.index0 % 2 == 0) -%}
        {{- raise_exception("Conversation roles must alternate user/assistant/user/...") -}}
    {%- endif -%}
    {%- if message["role"] == "user" -%}
        {{- "[INST]" -}}
        {%- if loop.last and system_message is defined -%}
            {{- system_message + "\\n\\n" -}}
        {%- endif -%}
        {%- if message["content"] is string -%}
            {{- message["content"] -}}
        {%- else -%}
            {#- Loop over message["content"] itself: vLLM detects list-content templates so. -#}
            {%- set image_first = message["content"] | length >= 2 \
and message["content"][-1]["type"] in ["image", "image_url"] \
and (message["content"][:-1] | selectattr("type", "equalto", "text") | list | length) \
== message["content"] | length - 1 -%}
            {%- for chunk in message["content"] -%}
                {%- if image_first and loop.first -%}
                    {{- "[IMG]" -}}
                {%- endif -%}
                {%- if chunk["type"] == "text" -%}
                    {{- chunk["text"] -}}
                {%- elif chunk["type"] in ["image", "image_url"] -%}
                    {%- if not image_first -%}
                        {{- "[IMG]" -}}
                    {%- endif -%}
                {%- else -%}
                    {{- raise_exception("Unsupported content type: " + chunk["type"]) -}}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {{- "[/INST]" -}}
    {%- elif message["role"] == "assistant" -%}
        {%- if message["content"] is string -%}
            {{- message["content"] -}}
        {%- else -%}
            {{- message["content"] | selectattr("type", "equalto", "text") \
| map(attribute="text") | join("") -}}
        {%- endif -%}
        {{- eos_token -}}
    {%- else -%}
        {{- raise_exception("Only system, user and assistant roles are supported") -}}
    {%- endif -%}
{%- endfor -%}
"""


def default_path() -> Path:
    """Where tests keep the tiny model: under ``$DOCINTEL_CACHE``, else ``~/.cache/docintel``."""
    root = os.environ.get("DOCINTEL_CACHE") or Path.home() / ".cache" / "docintel"
    return Path(root) / VERSION


def tekken_path() -> Path:
    """The Pixtral 12B 2409 Tekken tokenizer file inside the mistral-common wheel."""
    import mistral_common

    return Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"


def model_config() -> Any:
    """The LlavaConfig of the tiny model: Pixtral's structure, tiny widths.

    Head dims are 32 because vLLM's CPU attention supports only 32, 64, 80, ...
    """
    ensure_torchvision()  # transformers' config modules import torchvision via image_utils
    from transformers import LlavaConfig, MistralConfig, PixtralVisionConfig

    vision = PixtralVisionConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_channels=3,
        image_size=LONGEST_EDGE,
        patch_size=PATCH_SIZE,
        hidden_act="silu",  # as in Pixtral 12B
    )
    text = MistralConfig(
        vocab_size=131072,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,  # grouped-query attention, as in the 12B (32 q heads, 8 kv)
        head_dim=32,
        max_position_embeddings=32768,
        rope_theta=1_000_000_000.0,
        sliding_window=None,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=11,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=IMAGE_TOKEN_ID,
        projector_hidden_act="gelu",
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        multimodal_projector_bias=True,
        image_seq_length=1,
        tie_word_embeddings=False,
    )
    config.architectures = ["LlavaForConditionalGeneration"]
    return config


def _build_processor() -> Any:
    """The Pixtral processor: real Tekken tokenizer, Pixtral image settings, Pixtral chat format."""
    ensure_torchvision()
    from transformers import PixtralImageProcessor, PixtralProcessor
    from transformers.integrations.mistral import convert_tekken_tokenizer

    tokenizer = convert_tekken_tokenizer(str(tekken_path()), chat_template=CHAT_TEMPLATE)
    tokenizer.padding_side = "left"  # decoder-only batches pad on the left
    image_processor = PixtralImageProcessor(
        patch_size={"height": PATCH_SIZE, "width": PATCH_SIZE},
        size={"longest_edge": LONGEST_EDGE},
        image_mean=IMAGE_MEAN,
        image_std=IMAGE_STD,
        do_convert_rgb=True,
    )
    return PixtralProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        spatial_merge_size=1,
        chat_template=CHAT_TEMPLATE,
        image_token="[IMG]",
        image_break_token="[IMG_BREAK]",
        image_end_token="[IMG_END]",
    )


def weights_digest(path: str | Path) -> str:
    """SHA-256 of the model's weights file (what a seeded build must reproduce)."""
    digest = hashlib.sha256()
    with open(Path(path) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_stamp(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / _STAMP).read_text())
    except (OSError, ValueError):
        return None


_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "processor_config.json",
    "preprocessor_config.json",
)


def is_built(path: str | Path, *, seed: int = 0) -> bool:
    """Whether ``path`` holds a complete build of this version with this seed."""
    path = Path(path)
    stamp = _read_stamp(path)
    return (
        stamp is not None
        and stamp.get("version") == VERSION
        and stamp.get("seed") == seed
        and all((path / name).is_file() for name in _FILES)
    )


def build(path: str | Path, *, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the tiny model to ``path`` and return it.

    Writes config.json, generation_config.json, model.safetensors, the tokenizer files with
    the chat template, and the processor/preprocessor configs. Idempotent: if ``path``
    already holds a complete build with the same seed, it is returned without rebuilding.
    The build goes to a temporary sibling directory first and is renamed into place, so an
    interrupted or concurrent build never leaves a half-written model behind.
    """
    path = Path(path)
    if not overwrite and is_built(path, seed=seed):
        return path

    ensure_torchvision()  # before transformers' processors import torchvision
    import torch
    from transformers import LlavaForConditionalGeneration

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the model is shared cache content
    try:
        torch.manual_seed(seed)
        model = LlavaForConditionalGeneration(model_config())
        model.generation_config.do_sample = False
        model.generation_config.pad_token_id = 11
        model.save_pretrained(tmp, safe_serialization=True)
        processor = _build_processor()
        processor.save_pretrained(tmp)
        # transformers 5 nests the image settings in processor_config.json; older loaders
        # (and vLLM's image-processor lookup on some versions) read preprocessor_config.json.
        processor.image_processor.save_pretrained(tmp)
        params = sum(p.numel() for p in model.parameters())
        for file in tmp.iterdir():
            file.chmod(0o644)  # safetensors writes owner-only files
        (tmp / _STAMP).write_text(
            json.dumps({"version": VERSION, "seed": seed, "parameters": params}, indent=2)
        )
        if path.exists():
            shutil.rmtree(path)
        try:
            tmp.rename(path)
        except OSError:
            # Another process finished the same build first: keep theirs if it is complete.
            if _read_stamp(path) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def main(argv: list[str] | None = None) -> None:
    """Command line: build the tiny model into OUT_DIR."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=None, help="default: cache dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    out = build(args.out_dir or default_path(), seed=args.seed, overwrite=args.overwrite)
    print(out)


if __name__ == "__main__":
    main()
