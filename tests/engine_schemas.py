"""The schema and page every engine test extracts: nested list, enum, patterned string, bounds."""

from __future__ import annotations

import enum
from typing import Literal

from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field

from docintel.engines.base import GenerationRequest, Sampling

PROMPT = "Extract the document number, its kind and the line items as JSON."


class Kind(enum.Enum):
    invoice = "invoice"
    receipt = "receipt"
    delivery_note = "delivery_note"


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(max_length=12)
    qty: int = Field(ge=0, le=99)
    unit: Literal["pcs", "kg", "h"]


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    number: str = Field(pattern=r"^[A-Z]{2}-[0-9]{3}$")  # [0-9], not \d (Unicode digits)
    kind: Kind
    items: list[Item] = Field(max_length=3)


def sample_page() -> Image.Image:
    """A small page with an invoice number and two lines."""
    image = Image.new("RGB", (128, 96), "white")
    draw = ImageDraw.Draw(image)
    draw.text((4, 4), "INVOICE AB-123", fill="black")
    draw.text((4, 30), "Bolts  12 pcs", fill="black")
    draw.text((4, 50), "Labour  3 h", fill="black")
    return image


def request(
    page: Image.Image, *, seed: int = 0, max_tokens: int = 256, prompt: str = PROMPT
) -> GenerationRequest:
    """One sampled (temperature 1) request for ``Doc`` from ``page``."""
    return GenerationRequest(
        prompt=prompt,
        schema=Doc,
        images=[page],
        system="You read business documents.",
        sampling=Sampling(max_tokens=max_tokens, temperature=1.0, seed=seed),
    )
