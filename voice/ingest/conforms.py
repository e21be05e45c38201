"""A fast yes for events that plainly match the contract; everything else goes to jsonschema.

jsonschema walks the contract for every event and costs more than the rest of admitting it.
Almost every event is valid, and a valid event needs no report. So the contract is compiled
once into plain checks that answer only "certainly valid": a check that meets anything it does
not know (a keyword, a type, a subtle case) answers no, and the event is validated by jsonschema
exactly as before. A yes must therefore imply that jsonschema finds no error; the tests hold
that over the contract's examples and many mutations of them.

The checks use the validator's own pieces where semantics could drift: its format checker, and
the ECMA-262 reading of ``pattern``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords that change nothing about validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})
_KNOWN = frozenset(
    {
        "type",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "format",
    }
)
# The exact Python types JSON gives each JSON Schema type (bool is not an int here, and an
# int is not a number, on purpose: anything else goes the slow way).
_TYPES: Mapping[str, type] = {"object": dict, "array": list, "string": str, "boolean": bool}


def _never(instance: Any) -> bool:
    return False


def compile_schema(
    schema: Any, *, pattern: Callable[[str], Check], format_ok: Callable[[Any, str], bool]
) -> Check:
    """The check for ``schema``: True only where the instance certainly conforms.

    ``pattern`` gives a string check for a ``pattern`` keyword, ``format_ok`` is the
    validator's format checker.
    """
    if schema is True:
        return lambda instance: True
    if not isinstance(schema, dict) or set(schema) - _ANNOTATIONS - _KNOWN:
        return _never
    kind = schema.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        return _never
    expected = _TYPES[kind]
    checks: list[Check] = [lambda instance: type(instance) is expected]
    if kind == "string":
        checks += _string_checks(schema, pattern, format_ok)
    elif kind == "object":
        object_checks = _object_checks(schema, pattern, format_ok)
        if object_checks is None:
            return _never
        checks += object_checks
    elif kind == "array":
        items = compile_schema(schema.get("items", True), pattern=pattern, format_ok=format_ok)
        checks.append(lambda instance: all(items(item) for item in instance))
    if kind != "string" and set(schema) & {"enum", "pattern", "minLength", "maxLength", "format"}:
        return _never
    if kind != "object" and set(schema) & {"required", "properties", "additionalProperties"}:
        return _never
    if kind != "array" and "items" in schema:
        return _never
    return lambda instance: all(check(instance) for check in checks)


def _string_checks(
    schema: dict[str, Any],
    pattern: Callable[[str], Check],
    format_ok: Callable[[Any, str], bool],
) -> list[Check]:
    checks: list[Check] = []
    if "enum" in schema:
        allowed = schema["enum"]
        if not all(type(value) is str for value in allowed):
            return [_never]
        members = frozenset(allowed)
        checks.append(lambda instance: instance in members)
    if "pattern" in schema:
        checks.append(pattern(schema["pattern"]))
    if "minLength" in schema:
        low = schema["minLength"]
        checks.append(lambda instance: len(instance) >= low)
    if "maxLength" in schema:
        high = schema["maxLength"]
        checks.append(lambda instance: len(instance) <= high)
    if "format" in schema:
        name = schema["format"]
        checks.append(lambda instance: format_ok(instance, name))
    return checks


def _object_checks(
    schema: dict[str, Any],
    pattern: Callable[[str], Check],
    format_ok: Callable[[Any, str], bool],
) -> list[Check] | None:
    required = schema.get("required", [])
    if not isinstance(required, list):
        return None
    properties = {
        name: compile_schema(sub, pattern=pattern, format_ok=format_ok)
        for name, sub in schema.get("properties", {}).items()
    }
    extra = schema.get("additionalProperties", True)
    others = (
        _never if extra is False else compile_schema(extra, pattern=pattern, format_ok=format_ok)
    )

    def members_conform(instance: dict[Any, Any]) -> bool:
        for key, value in instance.items():
            check = properties.get(key) if type(key) is str else None
            if check is None:
                check = others
            if not check(value):
                return False
        return True

    return [lambda instance: all(name in instance for name in required), members_conform]
