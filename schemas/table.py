"""Table: caption, header rows, body rows, cells with spans; the grid must be rectangular."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from docintel.checks.semantic import check

from ._common import Text


class Cell(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text = Field(description="The cell's text; empty string for an empty cell.")
    colspan: int = Field(1, ge=1, le=20, description="Columns this cell covers (merged cells).")
    rowspan: int = Field(1, ge=1, le=50, description="Rows this cell covers (merged cells).")


Row = Annotated[list[Cell], Field(max_length=50)]


class Table(BaseModel):
    """A table, row by row. A merged cell appears once, in its top-left position."""

    model_config = ConfigDict(extra="forbid")
    caption: Text | None = Field(None, description="The table's caption or title, if any.")
    header_rows: list[Row] = Field(default_factory=list, max_length=5)
    body_rows: list[Row] = Field(max_length=200)

    @property
    def rows(self) -> list[Row]:
        return [*self.header_rows, *self.body_rows]

    @check
    def rectangular(self) -> list[str]:
        """Every row covers the same number of columns once spans are counted."""
        rows = self.rows
        occupied: dict[int, int] = {}  # row -> columns covered by rowspans from above
        widths = []
        for r, row in enumerate(rows):
            width = occupied.get(r, 0) + sum(c.colspan for c in row)
            widths.append(width)
            for cell in row:
                for below in range(r + 1, min(len(rows), r + cell.rowspan)):
                    occupied[below] = occupied.get(below, 0) + cell.colspan
        if len(set(widths)) > 1:
            return [f"rows cover different numbers of columns {widths}: the table must be "
                    "rectangular (count colspan/rowspan, add empty cells)"]  # fmt: skip
        return []
