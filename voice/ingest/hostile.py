"""Screening of well-formed but hostile JSON, before anything walks it recursively.

JSON can hold what no event needs and what breaks the code or a database further on: nesting
deep enough to exhaust the interpreter's stack, lone UTF-16 surrogates (they parse into a
Python ``str`` that cannot be encoded, so the payload digest fails), and NUL characters (which
SQLite stores and PostgreSQL refuses). Each is refused here the same way on every database,
located by a JSON pointer. Problems carry pointers and fixed texts only, never values.
"""

from __future__ import annotations

import json
import re
from typing import Any

from voice.ingest.validation import InvalidEvent, Problem

# The contract's deepest path is a handful of levels; this leaves ample room and stays far
# below the interpreter's recursion limit for every recursive walk that follows.
MAX_DEPTH = 32

_DEEP = f"nests deeper than {MAX_DEPTH} levels"
_SURROGATE = "must be valid Unicode text (it holds a lone surrogate)"
_NUL = "must not contain the NUL character"


def _token(key: object) -> str:
    text = str(key).replace("~", "~0").replace("/", "~1")
    # The pointer itself must survive UTF-8 encoding in the answer.
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def _pointer(path: list[object]) -> str:
    return "".join("/" + _token(p) for p in path)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return _NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE
    return None


def screen(candidate: Any) -> None:
    """Raise InvalidEvent for excessive nesting, lone surrogates or NUL anywhere (keys too)."""
    problems: list[Problem] = []
    # Iterative, so that the screen itself cannot run out of stack.
    stack: list[tuple[Any, list[object]]] = [(candidate, [])]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH and isinstance(value, dict | list):
            problems.append(Problem(_pointer(path), _DEEP))
            continue
        if isinstance(value, str):
            found = _text_problem(value)
            if found:
                problems.append(Problem(_pointer(path), found))
        elif isinstance(value, dict):
            for key, item in value.items():
                found = _text_problem(key)
                if found:
                    problems.append(Problem(_pointer([*path, key]), found))
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, i]) for i, item in enumerate(value))
    if problems:
        raise InvalidEvent(sorted(set(problems), key=lambda p: (p.pointer, p.message)))


# Strings (with their escapes) and the structural characters; everything else is skipped.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.DOTALL)


def too_deep(text: str) -> InvalidEvent:
    """The problem for a document too deep for the JSON parser itself (RecursionError there).

    A light tokenizer finds where the nesting first passes MAX_DEPTH, so the answer names the
    place as ``screen`` would.
    """
    frames: list[tuple[str, list[object]]] = []  # (bracket, [current key or index])
    expect_key = False
    for match in _TOKENS.finditer(text):
        lexeme = match.group()
        if lexeme in ("[", "{"):
            if len(frames) >= MAX_DEPTH:
                return InvalidEvent([Problem(_pointer([f[1][0] for f in frames]), _DEEP)])
            frames.append((lexeme, [0 if lexeme == "[" else ""]))
            expect_key = lexeme == "{"
        elif lexeme in ("]", "}"):
            if frames:
                frames.pop()
            expect_key = False
        elif lexeme == ",":
            if frames and frames[-1][0] == "[":
                index = frames[-1][1][0]
                frames[-1][1][0] = index + 1 if isinstance(index, int) else 0
            expect_key = bool(frames) and frames[-1][0] == "{"
        elif lexeme == ":":
            expect_key = False
        elif expect_key and frames:
            frames[-1][1][0] = _key(lexeme)
            expect_key = False
    return InvalidEvent([Problem("", _DEEP)])


def _key(token: str) -> str:
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1]
    return key if isinstance(key, str) else token[1:-1]
