"""The schema and page every engine test extracts: nested list, enum, patterned string, bounds."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

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


# ---- every catalog schema, and a large user schema, through an engine's default grammar ----


class Address(BaseModel):
    street: str = Field(max_length=40)
    city: str = Field(max_length=30)
    postcode: str | None = Field(None, pattern=r"^[0-9A-Z -]{3,10}$")


class Shipment(BaseModel):
    tracking: str = Field(max_length=20)
    parcels: list[list[float]] = Field(max_length=10, description="Parcel dimensions in cm.")
    to: Address


class Order(BaseModel):
    """A large user schema: lists of objects holding lists, bounded strings, a pattern."""

    number: str = Field(pattern=r"^[A-Z]{2}-[0-9]{4,8}$")
    customer: Address
    lines: list[Item] = Field(max_length=50)
    shipments: list[Shipment] = Field(max_length=10)
    notes: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)


def catalog_cases() -> dict[str, type[BaseModel]]:
    """Every catalog schema, plus ``Order``."""
    from docintel.schemas import CATALOG

    return {**CATALOG, "user:Order": Order}


def catalog_request(schema: type[BaseModel], page: Image.Image, seed: int = 1) -> GenerationRequest:
    """A sampled request as the retry loop would send it (budget 2048 tokens)."""
    return GenerationRequest(
        prompt=f"Extract the {schema.__name__} as JSON.",
        schema=schema,
        images=[page],
        system="You extract structured data from documents.",
        sampling=Sampling(max_tokens=2048, temperature=1.0, seed=seed),
    )


def assert_catalog_decodes(engine: object, page: Image.Image) -> None:
    """Every case decodes in one batch under the engine's default grammar and validates."""
    import time

    cases = catalog_cases()
    started = time.perf_counter()
    outputs = engine.generate([catalog_request(s, page) for s in cases.values()])  # type: ignore[attr-defined]
    print(f"{len(cases)} schemas in {time.perf_counter() - started:.1f} s")
    for (name, schema), out in zip(cases.items(), outputs, strict=True):
        assert out.finish_reason == "stop", (name, out.finish_reason, out.error)
        schema.model_validate_json(out.text)  # raises with the field when it does not


def assert_retry_after_failed_check(engine: object, page: Image.Image) -> None:
    """The retry loop: a check that rejects the first answer gets a second, valid one."""
    from docintel.pipeline.retry import Job, RetryPolicy, run
    from docintel.schemas import ImageCaption  # a catalog schema without checks of its own

    seen: list[BaseModel] = []

    def reject_first(value: BaseModel) -> list[str]:
        seen.append(value)
        return ["total must match the printed amount"] if len(seen) == 1 else []

    job = Job(schema=ImageCaption, images=[page], checks=[reject_first])
    policy = RetryPolicy(max_attempts=3, temperatures=(1.0,), max_tokens=2048, seed=1)
    run([job], engine, policy)  # type: ignore[arg-type]
    assert [a.ok for a in job.attempts] == [False, True], [a.errors for a in job.attempts]
    assert job.attempts[0].errors == ["total must match the printed amount"]
    assert isinstance(job.value, ImageCaption)
