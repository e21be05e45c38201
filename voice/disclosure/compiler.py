"""Compiling the policy's CEL rules into a decision table, once, when the policy loads.

The table is keyed by (audience, harm flags, field class, marking class) and holds, for each
cell, the first rule whose condition is true there. Nothing is interpreted per record: the
filter only looks cells up.

cel-python evaluates a condition in a few hundred microseconds, and the table has some 60,000
cells, so conditions are not evaluated per cell. A condition that is a chain of ``&&`` is split
into its conjuncts, each conjunct is evaluated over only the variables it names, and a cell's
answer is put together from those. CEL's ``&&`` is commutative (false wins over an error, an
error over true), so this gives exactly what evaluating the whole condition would.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError

from voice.disclosure.markings import MarkingClass

# Quiet cel-python's own debug logging of every evaluation.
logging.getLogger("celpy").setLevel(logging.WARNING)

# Marking classes from least to most restrictive; a field with several markings takes the last.
MARKING_ORDER: tuple[MarkingClass, ...] = (
    MarkingClass.UNCONTROLLED,
    MarkingClass.LEGACY_CONTROLLED,
    MarkingClass.CUI,
    MarkingClass.UNKNOWN,
    MarkingClass.MALFORMED,
    MarkingClass.CLASSIFIED,
)
MARKING_INDEX = {cls: index for index, cls in enumerate(MARKING_ORDER)}
# "released" and "escaped" come last so that the other states keep their indexes: a notice of a
# release or an escape names the facility left, which a victim needs and the locator omits.
CUSTODY_STATES = ("in_custody", "removed", "other", "released", "escaped")
BOOLEAN_FLAGS = ("minor", "protected_1367", "safety_hold", "removal_scheduled")
UNKNOWN_CLASS = "unknown"
# The names a condition may use besides the policy's audience groups.
VARIABLES = ("audience", "field_class", "marking", "custody", *BOOLEAN_FLAGS)
FLAG_COMBINATIONS = 2 ** len(BOOLEAN_FLAGS) * len(CUSTODY_STATES)


class CompileError(ValueError):
    """A rule cannot be compiled: bad CEL, an unknown name, or a value nothing can match."""


def flag_key(
    *, minor: bool, protected_1367: bool, safety_hold: bool, removal_scheduled: bool, custody: int
) -> int:
    """The index of one combination of harm flags and custody state (``custody`` indexes
    CUSTODY_STATES)."""
    return minor | protected_1367 << 1 | safety_hold << 2 | removal_scheduled << 3 | custody << 4


def flags_of(key: int) -> dict[str, Any]:
    values: dict[str, Any] = {name: bool(key >> bit & 1) for bit, name in enumerate(BOOLEAN_FLAGS)}
    values["custody"] = CUSTODY_STATES[key >> 4]
    return values


@dataclass(frozen=True)
class Decision:
    release: bool
    rule_id: str
    basis: str


DEFAULT_DECISION = Decision(False, "default", "not released by any rule (default: withhold)")


@dataclass(frozen=True)
class _Conjunct:
    source: str
    names: tuple[str, ...]  # the variables it reads, in VARIABLES order
    # value tuple (in ``names`` order) -> True, False, or None for an evaluation error
    answers: Mapping[tuple[Any, ...], bool | None]


@dataclass(frozen=True)
class CompiledRule:
    id: str
    when: str
    decision: Decision
    conjuncts: tuple[_Conjunct, ...]

    def answer(self, cell: Mapping[str, Any]) -> bool | None:
        result: bool | None = True
        for conjunct in self.conjuncts:
            value = conjunct.answers[tuple(cell[name] for name in conjunct.names)]
            if value is False:
                return False
            if value is None:
                result = None
        return result


def split_conjuncts(source: str) -> list[str]:
    """The parts of ``a && b && c`` at the top level; the whole source if anything else is."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = index = 0
    while index < len(source):
        char = source[index]
        if quote is not None:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            if source[index : index + 3] in ('"""', "'''"):
                return [source]  # triple-quoted strings: no splitting, evaluate whole
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and source.startswith("&&", index):
            parts.append(source[start:index])
            start = index + 2
            index += 1
        elif depth == 0 and (source.startswith("||", index) or char == "?"):
            return [source]
        index += 1
    parts.append(source[start:])
    return [part.strip() for part in parts]


def _string_literal(token: str) -> str:
    text = token[1:] if token[:1] in "rR" else token
    return text[1:-1]


def _names_and_literals(tree: Any) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    literals: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "ident":
            names.add(str(node.children[0]))
        elif node.data == "literal":
            token = node.children[0]
            if getattr(token, "type", "") == "STRING_LIT":
                literals.add(_string_literal(str(token)))
    return names, literals


def _to_cel(value: Any) -> Any:
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return celtypes.ListType([celtypes.StringType(item) for item in sorted(value)])


class RuleCompiler:
    """Compiles conditions over the domains of one policy's audiences and field classes."""

    def __init__(
        self,
        *,
        audiences: Sequence[str],
        field_classes: Sequence[str],
        groups: Mapping[str, frozenset[str]],
    ) -> None:
        self.domains: dict[str, tuple[Any, ...]] = {
            "audience": tuple(audiences),
            "field_class": (*field_classes, UNKNOWN_CLASS),
            "marking": tuple(cls.value for cls in MARKING_ORDER),
            "custody": CUSTODY_STATES,
            **dict.fromkeys(BOOLEAN_FLAGS, (False, True)),
        }
        self.groups = groups
        self.known_values = set(audiences) | set(self.domains["field_class"])
        self.known_values |= set(self.domains["marking"]) | set(CUSTODY_STATES)
        self.env = celpy.Environment()
        self.constants = {name: _to_cel(members) for name, members in groups.items()}

    def compile(self, rule_id: str, when: str, decision: Decision) -> CompiledRule:
        conjuncts = tuple(self._conjunct(rule_id, part) for part in split_conjuncts(when))
        return CompiledRule(rule_id, when, decision, conjuncts)

    def _conjunct(self, rule_id: str, source: str) -> _Conjunct:
        try:
            tree = self.env.compile(source)
        except CELParseError as exc:
            raise CompileError(f"rule {rule_id}: not valid CEL: {exc}") from exc
        names, literals = _names_and_literals(tree)
        unknown = names - set(VARIABLES) - set(self.groups)
        if unknown:
            raise CompileError(f"rule {rule_id}: unknown name(s) {', '.join(sorted(unknown))}")
        strange = literals - self.known_values
        if strange:
            raise CompileError(
                f"rule {rule_id}: {', '.join(sorted(map(repr, strange)))} is no audience, "
                "field class, marking class or custody state, so it can never match"
            )
        program = self.env.program(tree)
        used = tuple(name for name in VARIABLES if name in names)
        answers: dict[tuple[Any, ...], bool | None] = {}
        for values in itertools.product(*(self.domains[name] for name in used)):
            activation = dict(self.constants)
            activation.update({name: _to_cel(v) for name, v in zip(used, values, strict=True)})
            answers[values] = self._evaluate(program, activation)
        return _Conjunct(source, used, answers)

    @staticmethod
    def _evaluate(program: Any, activation: dict[str, Any]) -> bool | None:
        try:
            result = program.evaluate(activation)
        except Exception:
            return None  # on_error: the cell withholds, and `voice policy check` reports it
        if isinstance(result, celtypes.BoolType):
            return bool(result)
        return None


@dataclass(frozen=True)
class DecisionTable:
    """(audience, flag key) -> field class -> one Decision per marking class (MARKING_ORDER)."""

    cells: Mapping[tuple[str, int], Mapping[str, tuple[Decision, ...]]]
    # Cells where a condition failed to evaluate: (rule id, audience, flag key, class, marking)
    errors: tuple[tuple[str, str, int, str, str], ...]

    def decide(
        self, *, audience: str, key: int, field_class: str, marking: MarkingClass
    ) -> Decision:
        by_class = self.cells[(audience, key)]
        decisions = by_class.get(field_class, by_class[UNKNOWN_CLASS])
        return decisions[MARKING_INDEX[marking]]


def build_table(
    rules: Iterable[CompiledRule], *, domains: Mapping[str, tuple[Any, ...]]
) -> DecisionTable:
    rules = tuple(rules)
    cells: dict[tuple[str, int], dict[str, tuple[Decision, ...]]] = {}
    errors: list[tuple[str, str, int, str, str]] = []
    # Decisions are shared objects: one per rule, and one per rule for its on_error cells.
    on_error = {
        rule.id: Decision(False, rule.id, f"on_error: withhold ({rule.decision.basis})")
        for rule in rules
    }
    for audience in domains["audience"]:
        for key in range(FLAG_COMBINATIONS):
            cell: dict[str, Any] = {"audience": audience, **flags_of(key)}
            by_class: dict[str, tuple[Decision, ...]] = {}
            for field_class in domains["field_class"]:
                cell["field_class"] = field_class
                row: list[Decision] = []
                for marking in domains["marking"]:
                    cell["marking"] = marking
                    decision = DEFAULT_DECISION
                    for rule in rules:
                        answer = rule.answer(cell)
                        if answer is True:
                            decision = rule.decision
                            break
                        if answer is None:
                            decision = on_error[rule.id]
                            errors.append((rule.id, audience, key, field_class, marking))
                            break
                    row.append(decision)
                by_class[field_class] = tuple(row)
            cells[(audience, key)] = by_class
    return DecisionTable(cells=cells, errors=tuple(errors))
