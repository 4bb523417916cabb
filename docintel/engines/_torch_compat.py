"""Make PyPI's torchvision importable beside a CPU-only torch.

PyPI's torchvision is a CUDA build: beside ``torch+cpu`` its compiled ops do not load, yet
``torchvision/_meta_registrations.py`` still registers fake kernels for ``torchvision::nms``
and ``qnms``, and the import dies with "operator torchvision::nms does not exist". Defining the
two operator schemas first lets torchvision (and its image transforms, which vLLM's Pixtral
module and transformers' processors use) import. The ops themselves stay unavailable; nothing
on our path calls them. Must run in every process that imports torchvision, before it does.
"""

from __future__ import annotations

import sys
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version

_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


def ensure_torchvision() -> None:
    """Define the missing operator schemas when torchvision's compiled ops cannot load."""
    if "torchvision" in sys.modules:
        return
    import torch

    try:
        vision = version("torchvision")
    except PackageNotFoundError:
        return
    if torch.version.cuda is not None or vision.endswith("+cpu"):
        return  # torch and torchvision match: the real ops load
    for op in ("nms", "qnms"):
        with suppress(RuntimeError):  # already defined (real ops loaded, or called twice)
            torch.library.define(f"torchvision::{op}", _SCHEMA)
