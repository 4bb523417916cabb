"""The grammar-safety rewrites of schemas before constrained decoding."""

from __future__ import annotations

from pydantic import BaseModel, Field

from docintel.grammar import constraint_schema


class Item(BaseModel):
    qty: int = Field(ge=0, le=99)
    big: int = Field(ge=0, le=10**6)
    name: str = Field(max_length=10)


class Doc(BaseModel):
    items: list[Item]
    extra: dict[str, int] = Field(default_factory=dict)


def test_objects_forbid_extra_keys_and_small_int_ranges_become_enums() -> None:
    schema = constraint_schema(Doc)
    item = schema["$defs"]["Item"]
    assert schema["additionalProperties"] is False and item["additionalProperties"] is False
    assert item["properties"]["qty"]["enum"] == list(range(100))
    assert "enum" not in item["properties"]["big"]  # too many values: left to validation
    # a free-form mapping keeps its declared additionalProperties
    assert schema["properties"]["extra"]["additionalProperties"] == {"type": "integer"}


def test_the_rewritten_schema_accepts_what_the_model_accepts() -> None:
    import json

    import jsonschema

    value = Doc(items=[Item(qty=3, big=500_000, name="x")], extra={"a": 1})
    jsonschema.validate(json.loads(value.model_dump_json()), constraint_schema(Doc))


def test_counted_repeats_are_loosened_only_for_the_backend_that_needs_it() -> None:
    """Outlines determinises counted repeats up front (Invoice: minutes, gigabytes); llguidance
    compiles them lazily, so under it every bound stays in the grammar."""
    from docintel.schemas import Formula, Invoice

    latex = constraint_schema(Formula, "guidance")["properties"]["latex"]
    assert (latex["minLength"], latex["maxLength"]) == (1, 2000)
    assert "maxLength" not in constraint_schema(Formula, "xgrammar")["properties"]["latex"]
    outlines = constraint_schema(Invoice, "outlines")
    assert "maxItems" not in outlines["properties"]["line_items"]
    assert "maxLength" not in outlines["$defs"]["Party"]["properties"]["name"]["anyOf"][0]
    guidance = constraint_schema(Invoice, "guidance")
    assert guidance["properties"]["line_items"]["maxItems"] == 100

    class Short(BaseModel):
        code: str = Field(min_length=2, max_length=12)
        tags: list[str] = Field(max_length=3)

    for backend in ("guidance", "xgrammar", "outlines"):
        props = constraint_schema(Short, backend)["properties"]  # type: ignore[arg-type]
        assert (props["code"]["minLength"], props["code"]["maxLength"]) == (2, 12)
        assert props["tags"]["maxItems"] == 3
