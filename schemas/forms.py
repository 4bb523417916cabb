"""FormFields: key/value pairs and checkbox states of a filled-in form."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import check

from ._common import ShortText, Text


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: ShortText = Field(description="The field's printed label, without the colon.")
    value: Text | None = Field(None, description="What was filled in; null when left blank.")
    kind: Literal["text", "date", "number", "signature", "other"] = "text"


class Checkbox(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: ShortText = Field(description="The printed label next to the box.")
    checked: bool = Field(description="True when the box is ticked, crossed or filled.")


class FormFields(BaseModel):
    """The fields and checkboxes of a form, in reading order."""

    model_config = ConfigDict(extra="forbid")
    title: Text | None = Field(None, description="The form's title.")
    fields: list[FormField] = Field(default_factory=list, max_length=200)
    checkboxes: list[Checkbox] = Field(default_factory=list, max_length=200)

    @check
    def keys_unique(self) -> str | None:
        seen: set[str] = set()
        dupes = {f.key for f in self.fields if f.key in seen or seen.add(f.key)}  # type: ignore[func-returns-value]
        if dupes:
            return f"field keys repeat {sorted(dupes)}: give each field once, or qualify the key"
        return None
