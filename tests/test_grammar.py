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


def test_long_string_bounds_are_left_to_validation() -> None:
    """A {1,2000} regex takes Outlines minutes to compile; small bounds stay in the grammar."""
    from docintel.schemas import Formula

    latex = constraint_schema(Formula)["properties"]["latex"]
    assert "maxLength" not in latex and latex["minLength"] == 1

    class Short(BaseModel):
        code: str = Field(min_length=2, max_length=12)

    code = constraint_schema(Short)["properties"]["code"]
    assert (code["minLength"], code["maxLength"]) == (2, 12)
