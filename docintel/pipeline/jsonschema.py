"""Build a pydantic model from a JSON Schema sent with a request.

``POST /v1/extract`` accepts a JSON Schema instead of a catalog schema name, but the extraction
pipeline works with pydantic model classes: it validates with them, derives the grammar
constraint from ``model_json_schema()`` and runs their semantic checks. ``model_from_json_schema``
turns the practical subset of JSON Schema into such a class with ``pydantic.create_model``.

The schema comes from the network, so it is treated as hostile: every node is checked, sizes
are bounded (depth, properties, enum values, pattern length and compile time, subschema
count), ``$ref`` cycles are refused, patterns must run in linear time (``docintel.text.patterns``),
and every problem raises ``InvalidJSONSchema`` naming the JSON pointer of the offending node
and what would be accepted instead. Keywords whose meaning cannot be honoured
(extra keys by pattern or schema, conditionals, negation, tuples...) are rejected rather than
silently dropped, because dropping them would change what the model accepts. Purely narrowing
keywords we cannot express (``uniqueItems``, ``minProperties``, unknown ``format`` values) and
annotations are ignored.

Generated object models forbid extra keys (the grammar stays tight), take property names that
are not usable as Python attributes through aliases (``model_validate`` and
``model_json_schema()`` use the original names), and serialize by alias where pydantic
supports it (2.11+), so ``model_dump()`` gives back the original names too.
"""

from __future__ import annotations

import datetime
import keyword
import math
import re
import reprlib
from collections import deque
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Optional, Union
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from docintel.errors import InvalidJSONSchema, UnsupportedPattern
from docintel.text.patterns import compile_pattern

__all__ = [
    "MAX_DEPTH",
    "MAX_ENUM_VALUES",
    "MAX_PATTERN_LENGTH",
    "MAX_PATTERN_SECONDS",
    "MAX_PROPERTIES",
    "MAX_SUBSCHEMAS",
    "InvalidJSONSchema",
    "model_from_json_schema",
]

MAX_DEPTH = 32  # nested subschemas below the top level
MAX_PROPERTIES = 2000  # object properties, summed over the whole schema
MAX_ENUM_VALUES = 1000  # per enum
MAX_PATTERN_LENGTH = 1000  # characters per pattern
# Seconds of regex compilation per schema. Compiling is not free (~30 ms for \w{90}, holding
# the GIL), and pydantic compiles each pattern again for the model: without a bound, 2000
# distinct such patterns would hold the converting thread for about two minutes.
MAX_PATTERN_SECONDS = 1.0
# Subschemas visited in total. Depth alone does not bound the work: a Python caller can pass
# a dict that reuses the same sub-dict twice at every level (2**32 nodes within the depth).
MAX_SUBSCHEMAS = 10_000
_MAX_NODES = 8 * MAX_SUBSCHEMAS  # JSON objects and arrays in the document (subschemas and more)

_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_SUPPORTED_TYPES = ", ".join(_TYPES)

# Keywords that widen or reshape what validates in ways a closed pydantic model cannot express.
_REJECTED: dict[str, str] = {
    "patternProperties": "keys matching a pattern cannot be honoured; list them in 'properties'",
    "if": "conditional schemas (if/then/else) are not supported",
    "then": "conditional schemas (if/then/else) are not supported",
    "else": "conditional schemas (if/then/else) are not supported",
    "not": "'not' is not supported",
    "dependentSchemas": "'dependentSchemas' is not supported",
    "dependencies": "'dependencies' is not supported",
    "dependentRequired": "'dependentRequired' is not supported",
    "propertyNames": "'propertyNames' is not supported; list the keys in 'properties'",
    "prefixItems": "tuples ('prefixItems') are not supported; use 'items' with one schema",
    "contains": "'contains' is not supported",
    "unevaluatedItems": "'unevaluatedItems' is not supported",
    "$dynamicRef": "only '#/$defs/<name>' and '#/definitions/<name>' references are supported",
    "$recursiveRef": "only '#/$defs/<name>' and '#/definitions/<name>' references are supported",
}
# Keywords that say what a value is. Next to $ref/anyOf/oneOf/allOf they would have to be
# combined with the referenced or alternative schemas, which is not supported.
_ASSERTIONS = frozenset(
    {
        "type", "properties", "required", "items", "enum", "const", "$ref", "anyOf", "oneOf",
        "allOf", "pattern", "minLength", "maxLength", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
    }
)  # fmt: skip
# Names a field cannot have on a BaseModel subclass (methods, model_config...) or in Python.
_RESERVED = frozenset(dir(BaseModel)) | frozenset(keyword.kwlist)
_MAX_NAME = 64


def model_from_json_schema(
    schema: dict[str, Any], *, name: str = "RequestSchema"
) -> type[BaseModel]:
    """A pydantic model class that validates what ``schema`` (an object schema) describes.

    Supported: objects (``properties``, ``required``; a property that is not required becomes
    optional with its ``default``, or ``None``), strings (``enum``, ``pattern``, ``minLength``,
    ``maxLength``, ``format`` date and date-time), integers and numbers (``minimum``,
    ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``multipleOf``), booleans, null,
    ``type`` lists, ``anyOf``/``oneOf`` (a union), single-schema ``allOf``, arrays (``items``,
    ``minItems``, ``maxItems``), ``enum``/``const`` of JSON scalars, ``$ref`` to
    ``#/$defs/...`` or ``#/definitions/...``, ``title`` and ``description``. The class is
    named ``name``; nested models are named after their definition, title or property.

    Raises ``InvalidJSONSchema`` for anything outside that subset or over the bounds.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    _measure(schema)
    return _Builder(schema).build_root(name)


def _measure(root: Any) -> None:
    """Refuse a schema over the size bounds from its JSON alone, in one linear pass: building
    models is the costly part (pydantic compiles each one), so an oversized schema must be
    refused before any is built, not after 2000 of them (0.7 s of a worker's time)."""
    properties = nodes = 0
    seen: set[int] = set()
    queue: deque[tuple[Any, str]] = deque([(root, "")])
    while queue:
        node, path = queue.popleft()
        if id(node) in seen:  # shared or cyclic (Python objects, never parsed JSON): the
            return  # builder's own bounds (depth, subschemas) handle those
        seen.add(id(node))
        if isinstance(node, dict):
            props = node.get("properties")
            properties += len(props) if isinstance(props, dict) else 0
            if properties > MAX_PROPERTIES:
                raise InvalidJSONSchema(
                    path, f"more than {MAX_PROPERTIES} properties in the whole schema"
                )
            children: Iterable[tuple[Any, Any]] = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        nodes += 1
        if nodes > _MAX_NODES:
            raise InvalidJSONSchema(path, f"more than {_MAX_NODES} objects and arrays in all")
        for key, child in children:
            if isinstance(child, dict | list):
                step = str(key).replace("~", "~0").replace("/", "~1")
                queue.append((child, f"{path}/{step}"))


class _Builder:
    def __init__(self, root: Any) -> None:
        if not isinstance(root, dict):
            raise InvalidJSONSchema(
                "", f"top level must be an object schema (a JSON object), not {_kind(root)}"
            )
        self.root = root
        self.defs: dict[tuple[str, str], Any] = {}
        for section in ("$defs", "definitions"):
            entries = root.get(section, {})
            if not isinstance(entries, dict):
                raise InvalidJSONSchema(f"/{section}", f"'{section}' must be an object of schemas")
            for key, sub in entries.items():
                if not isinstance(key, str):
                    raise InvalidJSONSchema(f"/{section}", f"'{section}' keys must be strings")
                self.defs[(section, key)] = sub
        self.used_class_names: set[str] = set()
        self.def_class_names: dict[tuple[str, str], str] = {}
        self.built: dict[tuple[str, str], Any] = {}  # reused, so each definition is built once
        self.building: list[tuple[str, str]] = []  # the $ref chain being built (cycle check)
        self.properties = 0
        self.subschemas = 0
        self.pattern_seconds = 0.0

    # -- entry ---------------------------------------------------------------------------------

    def build_root(self, name: str) -> type[BaseModel]:
        root_name = self._class_name(name)
        # Reserve definition names first so the output's $defs keep the input's names.
        for key in self.defs:
            self.def_class_names[key] = self._class_name(key[1])
        node, path, key = self.root, "", None
        self._count(path, 0)
        self._check_keywords(node, path)
        if "$ref" in node:
            # A top level that is only a reference to an object definition is accepted.
            self._check_combination(node, path, "$ref")
            key = self._parse_ref(node["$ref"], path)
            node, path = self.defs[key], _pointer(key)
            self.building.append(key)
            self._count(path, 1)
            if not isinstance(node, dict):
                raise InvalidJSONSchema(
                    path, f"top level must be an object schema, not {_kind(node)}"
                )
            self._check_keywords(node, path)
        kind = node.get("type", "object" if "properties" in node else None)
        if kind != "object":
            raise InvalidJSONSchema(
                path,
                "top level must be an object schema ({'type': 'object', 'properties': {...}}), "
                f"not {_describe_top(node)}",
            )
        model = self._object(node, path, 0 if key is None else 1, root_name)
        if key is not None:
            self.building.pop()
        return model

    # -- dispatch ------------------------------------------------------------------------------

    def _type(
        self,
        node: Any,
        path: str,
        depth: int,
        hint: str,
        *,
        class_name: str | None = None,
        annotate: bool = True,
    ) -> Any:
        """The annotation for ``node``; ``hint`` names an inline object model.

        ``annotate`` is off for properties, whose description goes on the field instead.
        """
        self._count(path, depth)
        if node is True:
            return Any
        if node is False:
            raise InvalidJSONSchema(path, "the schema 'false' accepts nothing")
        if not isinstance(node, dict):
            raise InvalidJSONSchema(path, f"expected a schema (a JSON object), got {_kind(node)}")
        self._check_keywords(node, path)
        ann, is_model_node = self._dispatch(node, path, depth, hint, class_name)
        description = _text(node, "description", path)
        # An object node carries its description as the model's docstring; anything else
        # keeps it in the annotation so it reaches the JSON schema (and the prompt).
        if annotate and description and not is_model_node:
            ann = Annotated[ann, Field(description=description)]
        return ann

    def _dispatch(
        self, node: dict[str, Any], path: str, depth: int, hint: str, class_name: str | None
    ) -> tuple[Any, bool]:
        if "$ref" in node:
            self._check_combination(node, path, "$ref")
            return self._ref(node["$ref"], path, depth), False
        if "allOf" in node:
            self._check_combination(node, path, "allOf")
            parts = node["allOf"]
            # Only the single-schema form is honoured: it is how older generators attach a
            # description to a $ref ({"allOf": [{"$ref": ...}], "description": ...}).
            if not isinstance(parts, list) or len(parts) != 1:
                raise InvalidJSONSchema(
                    f"{path}/allOf",
                    "'allOf' is supported only with exactly one schema; merge the schemas "
                    "into one object schema",
                )
            return self._type(parts[0], f"{path}/allOf/0", depth + 1, hint), False
        if "anyOf" in node or "oneOf" in node:
            return self._union(node, path, depth, hint), False
        if "const" in node or "enum" in node:
            return self._literal(node, path), False
        kinds = node.get("type")
        if kinds is None:
            if {"properties", "required"} & node.keys():
                kinds = "object"
            elif {"items", "minItems", "maxItems"} & node.keys():
                kinds = "array"
            else:
                return Any, False  # no type: any JSON value, as in JSON Schema
        if isinstance(kinds, str):
            return self._single(kinds, node, path, depth, hint, class_name), kinds == "object"
        if not isinstance(kinds, list) or not kinds:
            raise InvalidJSONSchema(
                f"{path}/type",
                f"'type' must be a type name or a non-empty list of them ({_SUPPORTED_TYPES})",
            )
        if not all(isinstance(k, str) for k in kinds):
            raise InvalidJSONSchema(f"{path}/type", "'type' must list type names (strings)")
        if len(set(kinds)) != len(kinds):
            raise InvalidJSONSchema(f"{path}/type", "'type' lists a type twice")
        members = [self._single(k, node, path, depth, hint, class_name) for k in kinds]
        return _union(members), False

    def _single(
        self,
        kind: Any,
        node: dict[str, Any],
        path: str,
        depth: int,
        hint: str,
        class_name: str | None,
    ) -> Any:
        if kind == "object":
            name = class_name or self._class_name(_text(node, "title", path) or hint)
            return self._object(node, path, depth, name)
        if kind == "array":
            return self._array(node, path, depth, hint)
        if kind == "string":
            return self._string(node, path)
        if kind == "integer":
            return _constrained(int, _number_bounds(node, path))
        if kind == "number":
            # JSON has no NaN or infinity; pydantic would otherwise accept them.
            return _constrained(float, {**_number_bounds(node, path), "allow_inf_nan": False})
        if kind == "boolean":
            return bool
        if kind == "null":
            return None
        raise InvalidJSONSchema(path, f"unsupported type {kind!r} (supported: {_SUPPORTED_TYPES})")

    # -- kinds ---------------------------------------------------------------------------------

    def _object(
        self, node: dict[str, Any], path: str, depth: int, class_name: str
    ) -> type[BaseModel]:
        props = node.get("properties", {})
        if not isinstance(props, dict):
            raise InvalidJSONSchema(
                f"{path}/properties", "'properties' must be an object of schemas"
            )
        required = node.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise InvalidJSONSchema(f"{path}/required", "'required' must be a list of strings")
        for i, key in enumerate(required):
            if key not in props:
                # The key would be required yet rejected as extra: nothing could validate.
                raise InvalidJSONSchema(
                    f"{path}/required/{i}",
                    f"required property {key!r} is not in 'properties'; every required key "
                    "needs a schema there",
                )
        for word in ("additionalProperties", "unevaluatedProperties"):
            extra = node.get(word)
            # Booleans are fine: the model is closed either way (extra="forbid").
            if extra is not None and not isinstance(extra, bool) and extra != {}:
                raise InvalidJSONSchema(
                    f"{path}/{word}",
                    f"'{word}' as a schema is not supported (only true or false); list the "
                    "keys in 'properties'",
                )
        if not all(isinstance(k, str) for k in props):
            raise InvalidJSONSchema(f"{path}/properties", "property names must be strings")
        self.properties += len(props)
        if self.properties > MAX_PROPERTIES:
            raise InvalidJSONSchema(
                path, f"more than {MAX_PROPERTIES} properties in the whole schema"
            )
        names = _field_names(list(props))
        required_set = set(required)
        fields: dict[str, Any] = {}
        for key, sub in props.items():
            sub_path = f"{path}/properties/{_escape(key)}"
            ann = self._type(sub, sub_path, depth + 1, class_name + _camel(key), annotate=False)
            fields[names[key]] = self._field(
                key, names[key], sub, sub_path, ann, key in required_set
            )
        title = _text(node, "title", path)
        config = ConfigDict(
            extra="forbid",
            populate_by_name=True,
            protected_namespaces=(),  # field names like "model_name" are fine here
            regex_engine="rust-regex",  # linear time; "python-re" backtracks on hostile text
        )
        if title is not None and title != class_name:
            config["title"] = title
        if "serialize_by_alias" in ConfigDict.__annotations__:  # pydantic >= 2.11
            config["serialize_by_alias"] = True  # type: ignore[typeddict-unknown-key]
        try:
            return create_model(
                class_name,
                __config__=config,
                __doc__=_text(node, "description", path),
                __module__=__name__,
                **fields,
            )
        except Exception as exc:  # anything pydantic refuses is a schema problem, not a crash
            raise InvalidJSONSchema(path, f"cannot build a model here: {exc}") from exc

    def _field(
        self, key: str, name: str, sub: Any, path: str, ann: Any, required: bool
    ) -> tuple[Any, Any]:
        extra: dict[str, Any] = {}
        if name != key:
            extra["alias"] = key
        if isinstance(sub, dict):
            for word in ("description", "title"):
                text = _text(sub, word, path)
                if text is not None:
                    extra[word] = text
        if required:
            return ann, Field(**extra)
        default = sub.get("default") if isinstance(sub, dict) else None
        if default is None:
            return Optional[ann], Field(None, **extra)  # noqa: UP045 (ann is a runtime value)
        try:
            # Validated so a wrong default is reported now, and stored as the field's type
            # (a date, not its string) so the JSON schema can serialize it.
            default = TypeAdapter(ann).validate_python(default)
        except ValidationError as exc:
            raise InvalidJSONSchema(
                f"{path}/default",
                f"default {reprlib.repr(default)} does not match the property's schema: "
                f"{exc.errors(include_url=False)[0]['msg']}",
            ) from exc
        except Exception as exc:
            raise InvalidJSONSchema(f"{path}/default", f"unusable default: {exc}") from exc
        return ann, Field(default, **extra)

    def _array(self, node: dict[str, Any], path: str, depth: int, hint: str) -> Any:
        items = node.get("items", True)
        if isinstance(items, list):
            raise InvalidJSONSchema(
                f"{path}/items", "'items' as a list (a tuple) is not supported; give one schema"
            )
        item = self._type(items, f"{path}/items", depth + 1, hint + "Item")
        bounds = {
            "min_length": _count_keyword(node, "minItems", path),
            "max_length": _count_keyword(node, "maxItems", path),
        }
        _check_order(bounds["min_length"], bounds["max_length"], path, "minItems", "maxItems")
        return _constrained(list[item], bounds)  # type: ignore[valid-type]

    def _string(self, node: dict[str, Any], path: str) -> Any:
        bounds: dict[str, Any] = {
            "min_length": _count_keyword(node, "minLength", path),
            "max_length": _count_keyword(node, "maxLength", path),
            "pattern": self._pattern(node, path),
        }
        _check_order(bounds["min_length"], bounds["max_length"], path, "minLength", "maxLength")
        fmt = node.get("format")
        # Dates become date objects; pydantic cannot apply string bounds to those, and the
        # format already fixes their shape. Other formats are annotations (as in JSON Schema).
        if fmt == "date":
            return datetime.date
        if fmt == "date-time":
            return datetime.datetime
        return _constrained(str, bounds)

    def _pattern(self, node: dict[str, Any], path: str) -> str | None:
        pattern = node.get("pattern")
        if pattern is None:
            return None
        where = f"{path}/pattern"
        if not isinstance(pattern, str):
            raise InvalidJSONSchema(where, "'pattern' must be a string")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise InvalidJSONSchema(where, f"pattern longer than {MAX_PATTERN_LENGTH} characters")
        try:
            # Python's syntax too, as before: the set of accepted patterns stays the same.
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise InvalidJSONSchema(
                where, f"pattern {reprlib.repr(pattern)} does not compile: {exc}"
            ) from exc
        try:
            # The engine pydantic validates with and the CPU filler matches with: linear
            # time on hostile text, so no look-around or backreferences.
            compiled = compile_pattern(pattern)
        except UnsupportedPattern as exc:
            raise InvalidJSONSchema(where, str(exc)) from None
        self.pattern_seconds += compiled.seconds
        if self.pattern_seconds > MAX_PATTERN_SECONDS:
            raise InvalidJSONSchema(
                where,
                f"the schema's patterns take over {MAX_PATTERN_SECONDS:g} s to compile "
                f"(this one {compiled.seconds * 1000:.0f} ms): use fewer or simpler patterns; "
                "long bounded repeats of \\w or \\d are the slow ones, [0-9] and [A-Za-z] compile "
                "fast",
            )
        return pattern

    def _literal(self, node: dict[str, Any], path: str) -> Any:
        if "const" in node:
            values, where = [node["const"]], f"{path}/const"
        else:
            values, where = node["enum"], f"{path}/enum"
            if not isinstance(values, list) or not values:
                raise InvalidJSONSchema(where, "'enum' must be a non-empty list")
            if len(values) > MAX_ENUM_VALUES:
                raise InvalidJSONSchema(where, f"more than {MAX_ENUM_VALUES} enum values")
        kinds = node.get("type")
        if isinstance(kinds, str):
            kinds = [kinds]
        for i, value in enumerate(values):
            at = where if "const" in node else f"{where}/{i}"
            if not (value is None or isinstance(value, str | int) or _finite(value)):
                raise InvalidJSONSchema(
                    at,
                    f"enum and const values must be strings, numbers, booleans or null, not "
                    f"{_kind(value)}",
                )
            if isinstance(kinds, list) and not any(_is_json_type(value, k) for k in kinds):
                expected = " or ".join(repr(k) for k in kinds)
                raise InvalidJSONSchema(
                    at, f"value {reprlib.repr(value)} is not of type {expected}"
                )
        # Drop duplicates by type and value: 1 == True in Python, but not in JSON.
        unique = {(type(value), value): value for value in values}
        return Literal[tuple(unique.values())]  # type: ignore[valid-type]

    def _union(self, node: dict[str, Any], path: str, depth: int, hint: str) -> Any:
        if "anyOf" in node and "oneOf" in node:
            raise InvalidJSONSchema(path, "'anyOf' and 'oneOf' together are not supported")
        word = "anyOf" if "anyOf" in node else "oneOf"
        self._check_combination(node, path, word)
        options = node[word]
        if not isinstance(options, list) or not options:
            raise InvalidJSONSchema(
                f"{path}/{word}", f"'{word}' must be a non-empty list of schemas"
            )
        # oneOf's "exactly one" is not enforced: a union accepts what any alternative accepts.
        members = [
            self._type(option, f"{path}/{word}/{i}", depth + 1, f"{hint}Option{i + 1}")
            for i, option in enumerate(options)
        ]
        return _union(members)

    def _ref(self, ref: Any, path: str, depth: int) -> Any:
        key = self._parse_ref(ref, path)
        if key in self.built:
            return self.built[key]
        if key in self.building:
            chain = " -> ".join(
                _ref_text(k) for k in [*self.building[self.building.index(key) :], key]
            )
            raise InvalidJSONSchema(
                f"{path}/$ref",
                f"cyclic $ref ({chain}); recursive schemas are not supported, give the "
                "nesting a fixed depth instead",
            )
        self.building.append(key)
        name = self.def_class_names[key]
        ann = self._type(self.defs[key], _pointer(key), depth + 1, name, class_name=name)
        self.building.pop()
        self.built[key] = ann
        return ann

    # -- checks --------------------------------------------------------------------------------

    def _count(self, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise InvalidJSONSchema(path, f"schema nested deeper than {MAX_DEPTH} levels")
        self.subschemas += 1
        if self.subschemas > MAX_SUBSCHEMAS:
            raise InvalidJSONSchema(path, f"more than {MAX_SUBSCHEMAS} subschemas in the schema")

    def _check_keywords(self, node: dict[str, Any], path: str) -> None:
        for word, why in _REJECTED.items():
            if word in node:
                raise InvalidJSONSchema(f"{path}/{_escape(word)}", why)

    def _check_combination(self, node: dict[str, Any], path: str, word: str) -> None:
        clash = sorted((_ASSERTIONS - {word}) & node.keys())
        if clash:
            raise InvalidJSONSchema(
                path,
                f"{', '.join(map(repr, clash))} next to '{word}' is not supported; only "
                f"title, description and default may sit beside '{word}' (move the rest into "
                "the referenced or alternative schemas)",
            )

    def _parse_ref(self, ref: Any, path: str) -> tuple[str, str]:
        where = f"{path}/$ref"
        if not isinstance(ref, str):
            raise InvalidJSONSchema(where, "'$ref' must be a string")
        for section in ("$defs", "definitions"):
            prefix = f"#/{section}/"
            if ref.startswith(prefix) and "/" not in ref[len(prefix) :]:
                name = _unescape(ref[len(prefix) :])
                if (section, name) not in self.defs:
                    raise InvalidJSONSchema(
                        where, f"$ref {reprlib.repr(ref)} does not resolve: no such entry"
                    )
                return section, name
        raise InvalidJSONSchema(
            where,
            f"unsupported $ref {reprlib.repr(ref)}: only '#/$defs/<name>' and "
            "'#/definitions/<name>' (top-level definitions of this schema) are supported",
        )

    def _class_name(self, raw: str) -> str:
        base = re.sub(r"[^0-9A-Za-z_]", "_", raw)[:_MAX_NAME].strip("_") or "Model"
        if base[0].isdigit():
            base = "M" + base
        name, n = base, 1
        while name in self.used_class_names:
            n += 1
            name = f"{base}_{n}"
        self.used_class_names.add(name)
        return name


# -- helpers -----------------------------------------------------------------------------------


def _field_names(keys: list[str]) -> dict[str, str]:
    """A usable, unique Python name for each property (the key itself where possible)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for key in keys:  # keys that are already fine keep their name: no alias needed
        if _usable(key):
            names[key] = key
            taken.add(key)
    for key in keys:
        if key in names:
            continue
        base = re.sub(r"[^0-9A-Za-z_]", "_", key)[:_MAX_NAME].lstrip("_") or "field"
        if base[0].isdigit():
            base = "f_" + base
        if base in _RESERVED:
            base += "_"
        name, n = base, 1
        while name in taken or not _usable(name):
            n += 1
            name = f"{base}_{n}"
        names[key] = name
        taken.add(name)
    return names


def _usable(key: str) -> bool:
    # ASCII only, no leading underscore (pydantic makes those private attributes), and not a
    # keyword or a BaseModel attribute that the field would shadow.
    return (
        key.isascii()
        and key.isidentifier()
        and not key.startswith("_")
        and key not in _RESERVED
        and len(key) <= _MAX_NAME
    )


def _number_bounds(node: dict[str, Any], path: str) -> dict[str, Any]:
    values: dict[str, float | int | None] = {}
    for word in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        value = node.get(word)
        if value is None or (isinstance(value, bool) and word.startswith("exclusive")):
            values[word] = value  # draft-4 boolean exclusives, handled below
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            raise InvalidJSONSchema(f"{path}/{word}", f"'{word}' must be a finite number")
        values[word] = value
    bounds: dict[str, Any] = {"ge": values["minimum"], "le": values["maximum"]}
    low, high = values["exclusiveMinimum"], values["exclusiveMaximum"]
    if low is True:  # draft 4: the minimum itself is excluded
        bounds["gt"], bounds["ge"] = bounds["ge"], None
    elif not isinstance(low, bool):
        bounds["gt"] = low
    if high is True:
        bounds["lt"], bounds["le"] = bounds["le"], None
    elif not isinstance(high, bool):
        bounds["lt"] = high
    step = values["multipleOf"]
    if step is not None and step <= 0:
        raise InvalidJSONSchema(f"{path}/multipleOf", "'multipleOf' must be greater than 0")
    bounds["multiple_of"] = step
    lows = [v for v in (bounds.get("ge"), bounds.get("gt")) if v is not None]
    highs = [v for v in (bounds.get("le"), bounds.get("lt")) if v is not None]
    if lows and highs and max(lows) > min(highs):
        raise InvalidJSONSchema(
            path, f"lower bound {max(lows)} is above upper bound {min(highs)}: nothing validates"
        )
    return bounds


def _count_keyword(node: dict[str, Any], word: str, path: str) -> int | None:
    value = node.get(word)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 is an integer in JSON Schema
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidJSONSchema(f"{path}/{word}", f"'{word}' must be a non-negative integer")
    return value


def _check_order(low: int | None, high: int | None, path: str, lo: str, hi: str) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidJSONSchema(path, f"'{lo}' {low} is above '{hi}' {high}: nothing validates")


def _constrained(base: Any, bounds: dict[str, Any]) -> Any:
    given = {k: v for k, v in bounds.items() if v is not None}
    return Annotated[base, Field(**given)] if given else base


def _union(members: list[Any]) -> Any:
    return members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007


def _is_json_type(value: Any, kind: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    return False


def _finite(value: Any) -> bool:
    """An int, or a float that is not NaN or infinite (bools are not numbers here)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _text(node: dict[str, Any], word: str, path: str) -> str | None:
    value = node.get(word)
    if value is not None and not isinstance(value, str):
        raise InvalidJSONSchema(f"{path}/{word}", f"'{word}' must be a string")
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _describe_top(node: dict[str, Any]) -> str:
    if "type" in node:
        return f"type {node['type']!r}"
    for word in ("anyOf", "oneOf", "allOf", "enum", "const", "items"):
        if word in node:
            return f"a schema with '{word}'"
    return "a schema without 'type' or 'properties'"


def _camel(key: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", key))


def _escape(key: str) -> str:
    """One JSON pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(segment: str) -> str:
    return unquote(segment).replace("~1", "/").replace("~0", "~")


def _pointer(key: tuple[str, str]) -> str:
    return f"/{key[0]}/{_escape(key[1])}"


def _ref_text(key: tuple[str, str]) -> str:
    return f"#{_pointer(key)}"
