"""Boxes in page coordinates.

One coordinate system everywhere: PDF points (1/72 inch), origin at the page's top-left corner,
y growing downwards (as pymupdf reports them). Image pages use their DPI (72 when unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BBox:
    """An axis-aligned box ``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1``."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    def intersection(self, other: BBox) -> BBox | None:
        box = BBox(
            max(self.x0, other.x0), max(self.y0, other.y0),
            min(self.x1, other.x1), min(self.y1, other.y1),
        )  # fmt: skip
        return box if box.x0 < box.x1 and box.y0 < box.y1 else None

    def union(self, other: BBox) -> BBox:
        return BBox(
            min(self.x0, other.x0), min(self.y0, other.y0),
            max(self.x1, other.x1), max(self.y1, other.y1),
        )  # fmt: skip

    def iou(self, other: BBox) -> float:
        inter = self.intersection(other)
        if inter is None:
            return 0.0
        return inter.area / (self.area + other.area - inter.area)

    def contains(self, other: BBox, tolerance: float = 0.0) -> bool:
        return (
            other.x0 >= self.x0 - tolerance
            and other.y0 >= self.y0 - tolerance
            and other.x1 <= self.x1 + tolerance
            and other.y1 <= self.y1 + tolerance
        )

    def scale(self, sx: float, sy: float | None = None) -> BBox:
        sy = sx if sy is None else sy
        return BBox(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy)

    def pad(self, d: float) -> BBox:
        return BBox(self.x0 - d, self.y0 - d, self.x1 + d, self.y1 + d)

    def clip(self, width: float, height: float) -> BBox:
        return BBox(
            min(max(self.x0, 0.0), width), min(max(self.y0, 0.0), height),
            min(max(self.x1, 0.0), width), min(max(self.y1, 0.0), height),
        )  # fmt: skip

    @classmethod
    def of(cls, box: tuple[float, float, float, float] | list[float]) -> BBox:
        x0, y0, x1, y1 = (float(v) for v in box)
        return cls(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def visual_lines(boxes: Sequence[tuple[float, float, float, float]]) -> list[list[int]]:
    """How words make lines, for every reader of the page (text layer, OCR, layout, the CPU
    engine): the indices of ``boxes`` (x0, y0, x1, y1) grouped into visual lines, top to
    bottom, each left to right. A box joins a line when its vertical centre lies within the
    line's extent and the line's middle within the box (a word a little lower than the one
    before it still joins; one a line lower does not); the last four lines are candidates."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][1] + boxes[i][3], boxes[i][0]))
    lines: list[list[int]] = []
    spans: list[tuple[float, float]] = []
    for i in order:
        _, y0, _, y1 = boxes[i]
        cy = (y0 + y1) / 2
        for k in range(len(lines) - 1, max(-1, len(lines) - 5), -1):
            top, bottom = spans[k]
            if top <= cy <= bottom and y0 <= (top + bottom) / 2 <= y1:
                lines[k].append(i)
                spans[k] = (min(top, y0), max(bottom, y1))
                break
        else:
            lines.append([i])
            spans.append((y0, y1))
    rank = sorted(range(len(lines)), key=lambda k: spans[k][0])
    return [sorted(lines[k], key=lambda i: boxes[i][0]) for k in rank]
