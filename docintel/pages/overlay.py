"""Drawing regions (and later, field provenance) onto page images so a person can check them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docintel.document import RegionKind

if TYPE_CHECKING:
    from PIL import Image

    from docintel.document import Page

COLORS: dict[RegionKind, tuple[int, int, int]] = {
    RegionKind.TEXT: (0, 114, 178),
    RegionKind.TABLE: (213, 94, 0),
    RegionKind.FIGURE: (0, 158, 115),
    RegionKind.FORMULA: (204, 121, 167),
    RegionKind.HANDWRITING: (230, 159, 0),
}


def draw_regions(page: Page, longest_side: int = 1400) -> Image.Image:
    """The page image with every region outlined and labelled by kind."""
    from PIL import ImageDraw

    image = page.image(longest_side).copy()
    draw = ImageDraw.Draw(image, "RGBA")
    for i, region in enumerate(page.regions):
        box = page.to_pixels(region.bbox, longest_side)
        color = COLORS[region.kind]
        draw.rectangle(box.as_tuple(), outline=(*color, 255), fill=(*color, 28), width=3)
        label = f"{i} {region.kind.value}"
        left, top, right, bottom = draw.textbbox((0, 0), label)
        y = max(0, box.y0 - (bottom - top) - 4)
        draw.rectangle((box.x0, y, box.x0 + right - left + 6, y + bottom - top + 4), fill=color)
        draw.text((box.x0 + 3, y + 1), label, fill=(255, 255, 255))
    return image
