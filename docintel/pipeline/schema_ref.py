"""Finding a schema class from what a user types: ``module:Class`` or ``file.py:Class``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from pydantic import BaseModel

from docintel.errors import SchemaNotFound


def resolve_schema(spec: str) -> type[BaseModel]:
    """A catalog name (``invoice``), ``package.module:Class`` or ``file.py:Class`` to the class."""
    target, sep, name = spec.rpartition(":")
    if not sep:
        from docintel.schemas import CATALOG

        if spec.lower() in CATALOG:
            return CATALOG[spec.lower()]
        raise SchemaNotFound(
            f"no schema named {spec!r}: use one of {', '.join(CATALOG)}, or module:Class, "
            "or path/to/file.py:Class."
        )
    if not target or not name:
        raise SchemaNotFound(f"schema {spec!r}: write it as module:Class or path/to/file.py:Class.")
    try:
        if target.endswith(".py"):
            path = Path(target).resolve()
            module_name = f"_docintel_user_{path.stem}"
            loader = importlib.util.spec_from_file_location(module_name, path)
            if loader is None or loader.loader is None or not path.is_file():
                raise SchemaNotFound(f"schema file {target} does not exist.")
            module = importlib.util.module_from_spec(loader)
            sys.modules[module_name] = module  # dataclasses and pydantic look modules up
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ImportError as exc:
        raise SchemaNotFound(f"cannot import {target!r} for schema {spec!r}: {exc}") from exc
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise SchemaNotFound(f"{spec!r} is not a Pydantic model class.")
    return cls
