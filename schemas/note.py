"""HandwrittenNote: the lines of a handwritten page, in reading order."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import check

from ._common import Text


class HandwrittenNote(BaseModel):
    """A handwritten note transcribed line by line, top to bottom."""

    model_config = ConfigDict(extra="forbid")
    title: Text | None = Field(None, description="A heading, if the note has one.")
    lines: list[Text] = Field(
        min_length=1, max_length=200, description="Each written line, in reading order."
    )

    @check
    def no_blank_lines(self) -> str | None:
        blanks = [i for i, line in enumerate(self.lines) if not line.strip()]
        if blanks:
            return f"lines {blanks} are blank: transcribe written lines only"
        return None
