"""ImageCaption and ObjectCount, from Pixtral's general image use cases."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import check

from ._common import ShortText, Text

Box = Annotated[
    list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=4, max_length=4)
]


class ImageCaption(BaseModel):
    """What the image shows."""

    model_config = ConfigDict(extra="forbid")
    caption: Text = Field(description="One or two sentences describing the image.")
    tags: list[ShortText] = Field(default_factory=list, max_length=20)


class ObjectCount(BaseModel):
    """How many objects of one kind the image shows, and where."""

    model_config = ConfigDict(extra="forbid")
    label: ShortText = Field(description="The kind of object counted, e.g. 'pallet'.")
    count: int = Field(ge=0, description="How many there are; equals the number of boxes.")
    boxes: list[Box] = Field(
        default_factory=list,
        max_length=500,
        description="One [x0, y0, x1, y1] box per object, in pixels of the image.",
    )

    @check
    def count_equals_boxes(self) -> list[str]:
        errors = []
        if self.count != len(self.boxes):
            errors.append(f"count {self.count} differs from the {len(self.boxes)} boxes given")
        for i, b in enumerate(self.boxes):
            if len(b) != 4 or b[0] >= b[2] or b[1] >= b[3]:
                errors.append(f"boxes[{i}] {b} is not [x0, y0, x1, y1] with x0 < x1, y0 < y1")
        return errors
