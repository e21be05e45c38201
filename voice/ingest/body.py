"""Reading and splitting an ingest body: bounded before parsing, one item per event.

The body is counted as it arrives and reading stops at the batch limit, so an oversized body
never sits in memory whole, let alone parsed (a parsed body costs about ten times its size).
A single event has its own, smaller limit. A batch's items are parsed one by one, so a
malformed or oversized item is refused alone, as ``voice ingest`` refuses a bad line alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from voice.ingest import hostile
from voice.ingest.validation import InvalidEvent, Problem

NDJSON = "application/x-ndjson"


class TooLarge(Exception):
    """The body, or one event in it, is over its limit."""


class NotJson(Exception):
    """The body is not UTF-8 JSON."""


async def read_limited(request: Request, *, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"a request body holds at most {limit} bytes")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            raise TooLarge(f"a request body holds at most {limit} bytes")
    return bytes(received)


def loads(raw: bytes | str) -> Any:
    """Parse JSON; nesting too deep for the parser is an InvalidEvent naming where."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except RecursionError:
        raise hostile.too_deep(text) from None


@dataclass(frozen=True)
class Item:
    """One event of a batch: parsed, or refused before it could be."""

    index: int
    candidate: Any = None
    problems: tuple[Problem, ...] = ()
    line: int | None = None


def _refused(index: int, detail: str, line: int | None = None) -> Item:
    return Item(index=index, problems=(Problem("", detail),), line=line)


def _parse_item(index: int, raw: bytes | str, limit: int, line: int | None = None) -> Item:
    if len(raw) > limit:
        return _refused(index, f"an event holds at most {limit} bytes", line)
    try:
        return Item(index=index, candidate=loads(raw), line=line)
    except InvalidEvent as exc:
        return Item(index=index, problems=tuple(exc.problems), line=line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _refused(index, "not valid UTF-8 JSON", line)


def ndjson_items(raw: bytes, *, event_limit: int) -> list[Item]:
    """One item per non-blank line, numbered from 1 as ``voice ingest`` numbers them."""
    items: list[Item] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        line = line.removesuffix(b"\r")
        if line.strip():
            items.append(_parse_item(len(items), line, event_limit, line=number))
    return items


def is_array(raw: bytes) -> bool:
    return raw.lstrip()[:1] == b"["


def array_items(values: list[Any], *, event_limit: int) -> list[Item]:
    """Elements of a JSON array; each is measured as its compact serialization."""
    items: list[Item] = []
    for index, value in enumerate(values):
        try:
            hostile.screen(value)
        except InvalidEvent as exc:
            items.append(Item(index=index, problems=tuple(exc.problems)))
            continue
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        if size > event_limit:
            items.append(_refused(index, f"an event holds at most {event_limit} bytes"))
        else:
            items.append(Item(index=index, candidate=value))
    return items
