"""Pixtral's image token accounting.

Pixtral scales an image down (never up) so that its longest side is at most 1024 px, cuts it
into 16x16 patches and emits one [IMG] token per patch plus one [IMG_BREAK] per row (the last
one becomes [IMG_END]): ``tokens = rows * (cols + 1)``. A 724x1024 page costs 3008 tokens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

PATCH_SIZE = 16
MAX_IMAGE_SIDE = 1024


def fitted_size(width: int, height: int, max_side: int = MAX_IMAGE_SIDE) -> tuple[int, int]:
    """The size Pixtral's processor gives an image: scaled down to ``max_side``, never up."""
    ratio = max(width / max_side, height / max_side)
    if ratio > 1:
        width, height = math.floor(width / ratio), math.floor(height / ratio)
    return max(1, width), max(1, height)


def image_tokens(
    width: int, height: int, *, max_side: int = MAX_IMAGE_SIDE, patch: int = PATCH_SIZE
) -> int:
    """Tokens one image of ``width`` x ``height`` pixels costs in a Pixtral prompt."""
    w, h = fitted_size(width, height, max_side)
    rows, cols = math.ceil(h / patch), math.ceil(w / patch)
    return rows * (cols + 1)


def request_tokens(
    image_sizes: Iterable[tuple[int, int]], text_tokens: int = 0, *, max_side: int = MAX_IMAGE_SIDE
) -> int:
    """Prompt tokens of one request: its text plus every image."""
    return text_tokens + sum(image_tokens(w, h, max_side=max_side) for w, h in image_sizes)
