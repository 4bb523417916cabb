"""Pydantic models built from request JSON Schemas: round trips, odd names, hostile input."""

from __future__ import annotations

import contextlib
import copy
import datetime
import enum
import json
import pickle
import time
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docintel.grammar import constraint_schema
from docintel.pipeline.jsonschema import (
    MAX_DEPTH,
    MAX_ENUM_VALUES,
    MAX_PROPERTIES,
    InvalidJSONSchema,
    model_from_json_schema,
)
from docintel.schemas import CATALOG

INVOICE_SCHEMA: dict[str, Any] = {
    "title": "Invoice",
    "description": "A supplier invoice.",
    "type": "object",
    "properties": {
        "invoice_number": {
            "type": "string",
            "pattern": "^INV-[0-9]{4}$",
            "description": "The invoice number as printed.",
        },
        "issue_date": {"type": "string", "format": "date"},
        "due_date": {"type": ["string", "null"], "format": "date"},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
        "vendor": {"$ref": "#/$defs/Party", "description": "Who issued the invoice."},
        "customer": {"anyOf": [{"$ref": "#/$defs/Party"}, {"type": "null"}]},
        "lines": {
            "type": "array",
            "items": {"$ref": "#/$defs/Line"},
            "minItems": 1,
            "maxItems": 3,
        },
        "total": {"type": "number", "minimum": 0},
        "paid": {"type": "boolean", "default": False},
        "notes": {"type": "string", "maxLength": 20},
    },
    "required": ["invoice_number", "issue_date", "currency", "vendor", "lines", "total"],
    "$defs": {
        "Party": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "tax_id": {"type": "string"},
            },
            "required": ["name"],
        },
        "Line": {
            "type": "object",
            "properties": {
                "description": {"type": "string"},
                "quantity": {"type": "integer", "exclusiveMinimum": 0, "maximum": 1000},
                "amount": {"type": "number"},
            },
            "required": ["description", "amount"],
        },
    },
}

GOOD_INVOICE: dict[str, Any] = {
    "invoice_number": "INV-0042",
    "issue_date": "2024-03-01",
    "due_date": None,
    "currency": "EUR",
    "vendor": {"name": "ACME GmbH", "tax_id": "DE123"},
    "lines": [{"description": "Widgets", "quantity": 3, "amount": 29.97}],
    "total": 29.97,
}


def _with(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with ``path`` set to ``value`` (or deleted for ``...``)."""
    out = copy.deepcopy(data)
    target = out
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def _nested(depth: int) -> dict[str, Any]:
    """An object schema whose innermost subschema sits ``depth`` levels below the top."""
    node: dict[str, Any] = {"type": "string"}
    for _ in range(depth - 1):
        node = {"type": "object", "properties": {"a": node}}
    return {"type": "object", "properties": {"a": node}}


def _rejected(schema: Any) -> InvalidJSONSchema:
    with pytest.raises(InvalidJSONSchema) as info:
        model_from_json_schema(schema)
    return info.value


# -- round trips -------------------------------------------------------------------------------


def test_invoice_schema_builds_a_model_that_validates_good_data() -> None:
    Invoice = model_from_json_schema(INVOICE_SCHEMA, name="Invoice")
    invoice = Invoice.model_validate(GOOD_INVOICE)
    assert invoice.issue_date == datetime.date(2024, 3, 1)  # type: ignore[attr-defined]
    assert invoice.vendor.name == "ACME GmbH"  # type: ignore[attr-defined]
    assert invoice.lines[0].quantity == 3  # type: ignore[attr-defined]
    assert invoice.customer is None and invoice.notes is None  # type: ignore[attr-defined]
    assert invoice.paid is False  # type: ignore[attr-defined]  # the schema's default
    dumped = invoice.model_dump(mode="json", exclude_unset=True)
    assert dumped == GOOD_INVOICE
    # the same through JSON text, as the extraction pipeline validates it
    assert Invoice.model_validate_json(json.dumps(GOOD_INVOICE)) == invoice


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("currency",), "YEN", ("currency",)),
        (("invoice_number",), "42", ("invoice_number",)),
        (("issue_date",), "first of March", ("issue_date",)),
        (("total",), -1, ("total",)),
        (("total",), ..., ("total",)),
        (("lines",), [], ("lines",)),
        (("lines",), [GOOD_INVOICE["lines"][0]] * 4, ("lines",)),
        (("lines", 0, "quantity"), 0, ("lines", 0, "quantity")),
        (("lines", 0, "amount"), "a lot", ("lines", 0, "amount")),
        (("vendor", "name"), "", ("vendor", "name")),
        (("vendor", "iban"), "DE00", ("vendor", "iban")),
        (("surprise",), 1, ("surprise",)),
        (("notes",), "x" * 21, ("notes",)),
    ],
)
def test_invoice_model_rejects_bad_data_naming_the_field(
    path: tuple[Any, ...], value: Any, loc: tuple[Any, ...]
) -> None:
    Invoice = model_from_json_schema(INVOICE_SCHEMA, name="Invoice")
    with pytest.raises(ValidationError) as info:
        Invoice.model_validate(_with(GOOD_INVOICE, path, value))
    assert loc in [error["loc"] for error in info.value.errors()]


def test_built_models_json_schema_keeps_types_required_enums_bounds_and_descriptions() -> None:
    schema = model_from_json_schema(INVOICE_SCHEMA, name="Invoice").model_json_schema()
    props = schema["properties"]
    assert schema["title"] == "Invoice" and schema["description"] == "A supplier invoice."
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(INVOICE_SCHEMA["required"])
    assert props["invoice_number"] == {
        "type": "string",
        "pattern": "^INV-[0-9]{4}$",
        "description": "The invoice number as printed.",
        "title": "Invoice Number",
    }
    assert props["issue_date"]["format"] == "date"
    assert props["currency"]["enum"] == ["EUR", "USD", "GBP"]
    assert props["total"]["minimum"] == 0
    assert props["paid"]["default"] is False
    assert props["vendor"] == {"$ref": "#/$defs/Party", "description": "Who issued the invoice."}
    assert {"type": "null"} in props["customer"]["anyOf"]
    lines = props["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 3)
    assert lines["items"] == {"$ref": "#/$defs/Line"}
    line = schema["$defs"]["Line"]
    assert line["additionalProperties"] is False
    assert line["required"] == ["description", "amount"]
    quantity = line["properties"]["quantity"]["anyOf"][0]
    assert quantity == {"type": "integer", "exclusiveMinimum": 0, "maximum": 1000}
    assert schema["$defs"]["Party"]["properties"]["name"]["minLength"] == 1
    # and the grammar rewrite the engines apply still works on it
    assert (
        constraint_schema(model_from_json_schema(INVOICE_SCHEMA))["additionalProperties"] is False
    )


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    street: str = Field(max_length=40, description="Street and number.")
    postcode: str | None = Field(None, pattern=r"^[0-9]{5}$")


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    order_id: int = Field(ge=1, le=10**6)
    placed: datetime.date
    updated: datetime.datetime | None = None
    color: Color = Color.RED
    status: Literal["open", "closed"]
    priority: Literal[1, 2, 3] | None = None
    ratio: Annotated[float, Field(gt=0, lt=1)] = 0.5
    ship_to: Address
    bill_to: Address | None = None
    tags: list[Annotated[str, Field(min_length=1)]] = Field(default=[], max_length=3)
    net_amount: float = Field(alias="net amount")
    flag: bool = False


ORDER = {
    "order_id": 7,
    "placed": "2024-05-06",
    "status": "open",
    "ship_to": {"street": "Main St 1"},
    "net amount": 10.5,
}


@pytest.mark.parametrize(
    "data",
    [
        ORDER,
        {**ORDER, "color": "green", "priority": 2, "tags": ["a", "b"], "flag": True},
        {**ORDER, "updated": "2024-05-06T10:00:00Z", "bill_to": {"street": "x", "postcode": None}},
        {**ORDER, "ship_to": {"street": "Main St 1", "postcode": "12345"}, "ratio": 0.25},
        {**ORDER, "order_id": 0},
        {**ORDER, "placed": "yesterday"},
        {**ORDER, "color": "blue"},
        {**ORDER, "status": "pending"},
        {**ORDER, "priority": 4},
        {**ORDER, "ratio": 1},
        {**ORDER, "ship_to": {"street": "y" * 41}},
        {**ORDER, "ship_to": {"street": "x", "postcode": "1234"}},
        {**ORDER, "ship_to": {"street": "x", "country": "DE"}},
        {**ORDER, "tags": ["a", "b", "c", "d"]},
        {**ORDER, "tags": [""]},
        {**ORDER, "unknown": 1},
        {k: v for k, v in ORDER.items() if k != "net amount"},
    ],
)
def test_model_from_a_pydantic_schema_validates_the_same_data(data: dict[str, Any]) -> None:
    Built = model_from_json_schema(Order.model_json_schema(), name="Order")

    def outcome(model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(data).model_dump(mode="json", by_alias=True)
        except ValidationError as exc:
            return sorted(str(error["loc"]) for error in exc.errors())

    assert outcome(Built) == outcome(Order)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_catalog_schema_survives_the_round_trip(name: str) -> None:
    # Clients will send copies of the catalog's schemas; the rebuild must be a fixed point.
    built = model_from_json_schema(CATALOG[name].model_json_schema(), name=name)
    again = model_from_json_schema(built.model_json_schema(), name=name)
    assert again.model_json_schema() == built.model_json_schema()


# -- individual keywords -----------------------------------------------------------------------


def test_optional_nullable_union_enum_and_const_forms() -> None:
    Model = model_from_json_schema(
        {
            "type": "object",
            "properties": {
                "maybe": {"type": ["integer", "null"]},
                "either": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]},
                "mixed": {"enum": ["a", 1, 2.5, True, None]},
                "fixed": {"const": "v1"},
                "when": {"type": "string", "format": "date-time"},
                "anything": {},
                "count": {"type": "integer", "default": 3},
                "old_style": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            },
            "required": ["maybe", "either", "mixed", "fixed"],
        }
    )
    good = Model.model_validate({"maybe": None, "either": "ab", "mixed": 2.5, "fixed": "v1"})
    assert good.count == 3 and good.when is None  # type: ignore[attr-defined]
    assert Model.model_validate(
        {"maybe": 5, "either": 7, "mixed": None, "fixed": "v1", "when": "2024-01-02T03:04:05Z"}
    ).when == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)  # type: ignore[attr-defined]
    for bad in (
        {"either": "abc"},
        {"mixed": "b"},
        {"fixed": "v2"},
        {"maybe": "x"},
        {"old_style": 0},
        {"count": None},
    ):
        with pytest.raises(ValidationError):
            Model.model_validate({"maybe": 1, "either": 1, "mixed": "a", "fixed": "v1", **bad})
    # required-but-nullable stays required
    with pytest.raises(ValidationError, match="maybe"):
        Model.model_validate({"either": 1, "mixed": "a", "fixed": "v1"})
    schema = Model.model_json_schema()
    assert schema["properties"]["mixed"]["enum"] == ["a", 1, 2.5, True, None]
    assert schema["properties"]["fixed"]["const"] == "v1"
    assert schema["properties"]["count"]["default"] == 3


def test_odd_property_names_keep_their_names_on_the_outside() -> None:
    odd = ["model_config", "schema", "json", "copy", "dict", "123abc", "with space", "with_space"]
    odd += ["", "_private", "class", "model_dump", "a/b~c", "ünïcode", "x" * 100]
    Model = model_from_json_schema(
        {
            "type": "object",
            "properties": {key: {"type": "integer", "description": key} for key in odd},
            "required": odd[:4],
        }
    )
    names = list(Model.model_fields)
    assert len(set(names)) == len(odd) and all(n.isidentifier() for n in names)
    assert "with_space" in names  # a key that is already a fine name keeps it
    schema = Model.model_json_schema(by_alias=True)
    assert list(schema["properties"]) == odd
    assert schema["required"] == odd[:4]
    assert schema["properties"]["with space"]["description"] == "with space"
    data = {key: i for i, key in enumerate(odd)}
    value = Model.model_validate(data)
    assert value.model_dump(by_alias=True) == data
    assert Model.model_validate_json(json.dumps(data)).model_dump(by_alias=True) == data
    assert Model.model_validate({"model_config_": 1, "schema_": 2, "json_": 3, "copy_": 4})
    with pytest.raises(ValidationError) as info:
        Model.model_validate({**data, "schema": "not a number"})
    assert [e["loc"] for e in info.value.errors()] == [("schema",)]
    # the class itself is intact
    assert Model.model_config["extra"] == "forbid" and callable(Model.model_json_schema)


def test_definitions_and_a_top_level_ref_are_accepted() -> None:
    Model = model_from_json_schema(
        {
            "$ref": "#/definitions/Doc",
            "definitions": {
                "Doc": {
                    "type": "object",
                    "properties": {"part": {"allOf": [{"$ref": "#/definitions/Part"}]}},
                    "required": ["part"],
                },
                "Part": {"type": "object", "properties": {"n": {"type": "integer"}}},
            },
        },
        name="Doc",
    )
    assert Model.__name__ == "Doc"
    assert Model.model_validate({"part": {"n": 1}}).part.n == 1  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        Model.model_validate({"part": {"n": 1, "m": 2}})


def test_a_shared_definition_is_built_once() -> None:
    # A reference used many times must not multiply the work (or the generated classes).
    schema = {
        "type": "object",
        "properties": {f"p{i}": {"$ref": "#/$defs/Party"} for i in range(50)},
        "$defs": {"Party": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    Model = model_from_json_schema(schema)
    assert {Model.model_fields[f"p{i}"].annotation for i in range(50)} == {
        Model.model_fields["p0"].annotation
    }
    assert list(Model.model_json_schema()["$defs"]) == ["Party"]


def test_limits_themselves_are_allowed() -> None:
    model_from_json_schema(_nested(MAX_DEPTH))
    model_from_json_schema(
        {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(2000)}}
    )
    model_from_json_schema(
        {"type": "object", "properties": {"e": {"enum": list(range(MAX_ENUM_VALUES))}}}
    )


# -- rejections --------------------------------------------------------------------------------


def _dag_bomb() -> dict[str, Any]:
    # The same dict twice at every level: 2**30 nodes within the depth limit.
    node: dict[str, Any] = {"type": "string"}
    for _ in range(30):
        node = {"anyOf": [node, node]}
    return {"type": "object", "properties": {"a": node}}


def _self_referencing() -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    schema["properties"]["me"] = schema
    return schema


OBJ = "object"
REJECTIONS: list[tuple[str, Any, str, str]] = [
    ("top-level array", {"type": "array", "items": {}}, "/ (top level)", "object schema"),
    ("top-level list", [{"type": "object"}], "/ (top level)", "object schema"),
    ("top-level anyOf", {"anyOf": [{"type": OBJ}]}, "/ (top level)", "object schema"),
    ("depth bomb", _nested(MAX_DEPTH + 1), "/properties/a" * (MAX_DEPTH + 1), "deeper than"),
    ("dag bomb", _dag_bomb(), "/properties/a/anyOf/", "subschemas"),
    ("self-referencing dict", _self_referencing(), "/properties/me/properties/me", "deeper"),
    (
        "too many properties",
        {"type": OBJ, "properties": {f"p{i}": {} for i in range(MAX_PROPERTIES + 1)}},
        "/ (top level)",
        f"more than {MAX_PROPERTIES} properties",
    ),
    (
        "too many properties in total",
        {
            "type": OBJ,
            "properties": {
                f"o{i}": {"type": OBJ, "properties": {f"p{j}": {} for j in range(100)}}
                for i in range(20)
            },
        },
        "/properties/o19",
        "properties in the whole schema",
    ),
    (
        "cyclic $ref",
        {
            "type": OBJ,
            "properties": {"root": {"$ref": "#/$defs/A"}},
            "$defs": {
                "A": {"type": OBJ, "properties": {"b": {"$ref": "#/$defs/B"}}},
                "B": {"type": "array", "items": {"$ref": "#/$defs/A"}},
            },
        },
        "/$defs/B/items/$ref",
        "cyclic $ref (#/$defs/A -> #/$defs/B -> #/$defs/A)",
    ),
    (
        "self $ref",
        {"type": OBJ, "properties": {"a": {"$ref": "#"}}},
        "/properties/a/$ref",
        "only '#/$defs/<name>'",
    ),
    (
        "remote $ref",
        {"type": OBJ, "properties": {"a": {"$ref": "https://example.com/s.json"}}},
        "/properties/a/$ref",
        "unsupported $ref",
    ),
    (
        "dangling $ref",
        {"type": OBJ, "properties": {"a": {"$ref": "#/$defs/Nope"}}},
        "/properties/a/$ref",
        "does not resolve",
    ),
    (
        "bad pattern",
        {"type": OBJ, "properties": {"code": {"type": "string", "pattern": "([A-Z"}}},
        "/properties/code/pattern",
        "does not compile",
    ),
    (
        "look-around pattern",
        {"type": OBJ, "properties": {"code": {"type": "string", "pattern": "(?=a)a+"}}},
        "/properties/code/pattern",
        "look-around",
    ),
    (
        "long pattern",
        {"type": OBJ, "properties": {"code": {"type": "string", "pattern": "a" * 1001}}},
        "/properties/code/pattern",
        "longer than 1000",
    ),
    (
        "unsupported type",
        {"type": OBJ, "properties": {"items": {"type": "array", "items": {"type": "foo"}}}},
        "/properties/items/items",
        "unsupported type 'foo' (supported: object, array, string",
    ),
    (
        "too many enum values",
        {"type": OBJ, "properties": {"e": {"enum": list(range(MAX_ENUM_VALUES + 1))}}},
        "/properties/e/enum",
        f"more than {MAX_ENUM_VALUES}",
    ),
    (
        "enum value of the wrong type",
        {"type": OBJ, "properties": {"e": {"type": "string", "enum": ["a", 1]}}},
        "/properties/e/enum/1",
        "not of type 'string'",
    ),
    (
        "object enum value",
        {"type": OBJ, "properties": {"e": {"enum": [{"a": 1}]}}},
        "/properties/e/enum/0",
        "strings, numbers, booleans or null",
    ),
    (
        "patternProperties",
        {"type": OBJ, "patternProperties": {"^x": {}}},
        "/patternProperties",
        "properties",
    ),
    (
        "additionalProperties schema",
        {
            "type": OBJ,
            "properties": {"m": {"type": OBJ, "additionalProperties": {"type": "integer"}}},
        },
        "/properties/m/additionalProperties",
        "only true or false",
    ),
    ("if/then/else", {"type": OBJ, "if": {}, "then": {}}, "/if", "conditional"),
    (
        "not",
        {"type": OBJ, "properties": {"a": {"not": {"type": "null"}}}},
        "/properties/a/not",
        "not",
    ),
    (
        "tuple items",
        {"type": OBJ, "properties": {"t": {"type": "array", "items": [{}, {}]}}},
        "/properties/t/items",
        "tuple",
    ),
    (
        "allOf of several",
        {"type": OBJ, "properties": {"a": {"allOf": [{"type": OBJ}, {"type": OBJ}]}}},
        "/properties/a/allOf",
        "exactly one",
    ),
    (
        "required but undeclared",
        {"type": OBJ, "properties": {"a": {}}, "required": ["a", "b"]},
        "/required/1",
        "'b' is not in 'properties'",
    ),
    (
        "impossible bounds",
        {"type": OBJ, "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}},
        "/properties/n",
        "nothing validates",
    ),
    (
        "non-finite bound",
        {"type": OBJ, "properties": {"n": {"type": "number", "maximum": float("inf")}}},
        "/properties/n/maximum",
        "finite number",
    ),
    (
        "negative maxLength",
        {"type": OBJ, "properties": {"s": {"type": "string", "maxLength": -1}}},
        "/properties/s/maxLength",
        "non-negative integer",
    ),
    (
        "default of the wrong type",
        {"type": OBJ, "properties": {"n": {"type": "integer", "default": "many"}}},
        "/properties/n/default",
        "does not match",
    ),
    (
        "false schema",
        {"type": OBJ, "properties": {"never": False}},
        "/properties/never",
        "accepts nothing",
    ),
    (
        "escaped pointer",
        {"type": OBJ, "properties": {"a/b~c": {"type": "bogus"}}},
        "/properties/a~1b~0c",
        "unsupported type",
    ),
    (
        "$ref with sibling type",
        {
            "type": OBJ,
            "properties": {"a": {"$ref": "#/$defs/A", "type": "string"}},
            "$defs": {"A": {"type": "string"}},
        },
        "/properties/a",
        "next to '$ref'",
    ),
]


@pytest.mark.parametrize(
    ("schema", "path", "words"),
    [pytest.param(schema, path, words, id=name) for name, schema, path, words in REJECTIONS],
)
def test_hostile_or_wrong_schemas_are_rejected_with_the_path(
    schema: Any, path: str, words: str
) -> None:
    start = time.monotonic()
    error = _rejected(schema)
    assert time.monotonic() - start < 2  # refused early, not after a long build
    assert isinstance(error, ValueError)
    assert str(error).startswith(f"at {path}"), str(error)
    assert error.path.startswith(path.replace(" (top level)", "").rstrip("/") or "")
    assert words in str(error)


def test_the_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(_rejected({"type": "object", "properties": {"a": 1}})))
    assert isinstance(error, InvalidJSONSchema) and error.path == "/properties/a"


def test_the_input_schema_is_not_modified() -> None:
    schema = copy.deepcopy(INVOICE_SCHEMA)
    model_from_json_schema(schema)
    assert schema == INVOICE_SCHEMA


# -- property test -----------------------------------------------------------------------------

_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=3)
)
_LEAVES = st.one_of(
    st.booleans(),
    st.sampled_from([{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}, {"$ref": "#/nowhere"}]),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "x"])},
        optional={
            "pattern": st.sampled_from(["^[a-z]+$", "(", "(?=a)", "a{2,3}"]),
            "minimum": _VALUES,
            "maxLength": st.integers(-1, 4),
            "format": st.sampled_from(["date", "date-time", "email"]),
            "enum": st.lists(_VALUES, max_size=3),
            "const": _VALUES,
            "default": _VALUES,
            "description": st.text(max_size=4),
        },
    ),
)
_KEYS = st.text(max_size=6)


def _compound(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.dictionaries(_KEYS, children, max_size=4)},
            optional={"required": st.lists(_KEYS, max_size=2), "title": st.text(max_size=4)},
        ),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": children},
            optional={"minItems": st.integers(0, 2), "maxItems": st.integers(0, 2)},
        ),
        st.fixed_dictionaries({"anyOf": st.lists(children, max_size=3)}),
        st.fixed_dictionaries(
            {"type": st.lists(st.sampled_from(["object", "null", "string", "array"]), max_size=3)},
            optional={"properties": st.dictionaries(_KEYS, children, max_size=2)},
        ),
    )


_SCHEMAS = st.recursive(_LEAVES, _compound, max_leaves=8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    properties=st.dictionaries(_KEYS, _SCHEMAS, max_size=4),
    defs=st.fixed_dictionaries({"A": _SCHEMAS, "B": _SCHEMAS}),
    data=st.dictionaries(_KEYS, _VALUES, max_size=3),
)
def test_any_generated_schema_builds_or_is_rejected_cleanly(
    properties: dict[str, Any], defs: dict[str, Any], data: dict[str, Any]
) -> None:
    schema = {"type": "object", "properties": properties, "$defs": defs}
    try:
        Model = model_from_json_schema(schema)
    except InvalidJSONSchema as exc:
        assert str(exc).startswith("at ")
        event("rejected")
        return
    event("built")
    assert set(Model.model_json_schema()["properties"]) == set(properties)
    with contextlib.suppress(ValidationError):
        Model.model_validate(data)
