"""The field catalogue: every field's class and default marking (``policies/fields.yaml``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import yaml

from voice.disclosure.markings import MarkingClass, classify

_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
_CLASS_NAME = re.compile(r"[a-z][a-z0-9_]*")


class CatalogueError(ValueError):
    """The catalogue is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    field_class: str
    default_marking: str
    default_class: MarkingClass


@dataclass(frozen=True)
class Catalogue:
    version: str
    classes: Mapping[str, str]  # class -> description
    fields: Mapping[str, FieldSpec]


def parse_catalogue(raw: bytes) -> Catalogue:
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"catalogue is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise CatalogueError("catalogue must be a mapping")
    version = document.get("version")
    if not isinstance(version, str) or not version:
        raise CatalogueError("catalogue needs a version string")
    classes = document.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise CatalogueError("catalogue needs a mapping of classes")
    for name in classes:
        if not isinstance(name, str) or not _CLASS_NAME.fullmatch(name) or name == "unknown":
            raise CatalogueError(f"bad field class name {name!r}")
    fields_in = document.get("fields")
    if not isinstance(fields_in, dict) or not fields_in:
        raise CatalogueError("catalogue needs a mapping of fields")
    fields: dict[str, FieldSpec] = {}
    for name, spec in fields_in.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise CatalogueError(f"bad field name {name!r}: expected area.field")
        if not isinstance(spec, dict) or set(spec) != {"class", "default_marking"}:
            raise CatalogueError(f"field {name}: needs exactly class and default_marking")
        field_class, marking = spec["class"], spec["default_marking"]
        if field_class not in classes:
            raise CatalogueError(f"field {name}: unknown class {field_class!r}")
        if not isinstance(marking, str):
            raise CatalogueError(f"field {name}: default_marking must be a string")
        default_class = classify(marking)
        if default_class in (MarkingClass.UNKNOWN, MarkingClass.MALFORMED):
            raise CatalogueError(f"field {name}: default_marking {marking!r} is not understood")
        fields[name] = FieldSpec(name, field_class, marking, default_class)
    return Catalogue(version, MappingProxyType(dict(classes)), MappingProxyType(fields))
