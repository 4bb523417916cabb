"""Reading a Pydantic field's annotation: one walk, used by grounding and the CPU engine.

``Annotated[...]``, ``Optional``/``X | None`` and containers wrap what a field holds; these
helpers see through them the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

_LISTS = (list, tuple, set, frozenset)


def unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """The core type of an annotation, the metadata of every ``Annotated`` around it, and
    whether None is allowed. A union of several types is its own core."""
    meta: list[Any] = []
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            meta.extend(annotation.__metadata__)
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                return annotation, meta, optional
            annotation = args[0]
        else:
            return annotation, meta, optional


def is_list(annotation: Any) -> bool:
    """A list (or tuple, set) of something, maybe optional or annotated."""
    core = unwrap(annotation)[0]
    if get_origin(core) in (Union, UnionType):
        return any(is_list(a) for a in get_args(core))
    return get_origin(core) in _LISTS or (
        isinstance(get_origin(core), type) and issubclass(get_origin(core), list | tuple)
    )


def models_in(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """The models an annotation holds, and whether each sits in a list (``items[]``)."""
    core = unwrap(annotation)[0]
    origin = get_origin(core)
    if isinstance(core, type) and issubclass(core, BaseModel):
        yield core, False
    elif origin in (*_LISTS, Sequence) or (
        isinstance(origin, type) and issubclass(origin, list | tuple)
    ):
        for arg in get_args(core):
            for model, _ in models_in(arg):
                yield model, True
    elif origin in (Union, UnionType):
        for arg in get_args(core):
            yield from models_in(arg)


def marked(annotation: Any, metadata: Sequence[Any], marker: type) -> bool:
    """Whether an instance of ``marker`` (or the class itself) annotates the field: in its
    metadata or in an ``Annotated`` anywhere around or inside a union of its type."""
    core, meta = unwrap(annotation)[:2]
    if any(isinstance(m, marker) or m is marker for m in (*metadata, *meta)):
        return True
    if get_origin(core) in (Union, UnionType):
        return any(marked(a, (), marker) for a in get_args(core))
    return False
