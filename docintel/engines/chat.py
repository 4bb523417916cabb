"""The OpenAI chat format shared by the vLLM engines (in-process and server).

Images travel as PNG data URLs (lossless, so the model sees exactly the page we rendered),
before the prompt text, as Pixtral's own encoder orders them.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from docintel.engines.base import FinishReason, GenerationRequest

if TYPE_CHECKING:
    from PIL import Image


def image_data_url(image: Image.Image) -> str:
    """A PNG data URL for one image (lossless, so the model sees exactly the page we have)."""
    buf = io.BytesIO()
    if image.mode not in ("RGB", "L", "RGBA"):
        image = image.convert("RGB")
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chat_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    """OpenAI-style chat messages for a request: optional system text, then images and prompt."""
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image_data_url(image)}}
        for image in request.images
    ]
    content.append({"type": "text", "text": request.prompt})
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": content})
    return messages


def map_finish_reason(reason: str | None) -> FinishReason:
    """vLLM's finish reason in our vocabulary.

    vLLM reports engine-side failures as ``"error"`` (or ``"abort"``) with empty text instead
    of raising; those, and an unfinished output (``None``), are errors here.
    """
    if reason in ("stop", "length"):
        return reason  # type: ignore[return-value]
    return "error"
