"""Bound publisher regular expressions before they reach the engine.

Row-level regex expectations run in Python's backtracking ``re`` engine (Great Expectations'
pandas backend), which has no timeout: a pattern such as ``(a+)+$`` takes exponential time on
a short non-matching string and would hang an ingest worker. So patterns are vetted when a
suite is uploaded, on Python's own parse tree (``re._parser``: the engine's view of the
pattern, escapes and classes included, rather than a guess from the text).

Rejected:

- patterns longer than ``MAX_PATTERN_LENGTH`` characters, and patterns that do not compile;
- backreferences ``(?P=x)``, ``\\1`` and conditionals ``(?(1)…)`` (NP-hard to match in
  general, and never needed to validate a value's format);
- nested quantifiers: a repeat that may run many times around something of variable length,
  e.g. ``(a+)+``, ``(a*)*``, ``(\\d+\\.)+``, ``(a?){2,}``;
- alternation inside such a repeat whose branches can start with the same character or can
  be empty, e.g. ``(a|aa)+``, ``(a|ab)*``;
- repetition bounds above ``MAX_REPEAT_BOUND``.

The rules are conservative (some safe patterns, e.g. ``(\\d+\\.)+\\d+``, are refused); the
error explains why, and an atomic group ``(?>…)`` or a possessive quantifier ``a++``, which
cannot backtrack, is the documented way around it.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

MAX_PATTERN_LENGTH = 500
MAX_REPEAT_BOUND = 1000

# `re._parser` has no public name or type stubs; it is the parser `re.compile` itself uses.
_parser: Any = importlib.import_module("re._parser")
_MAXREPEAT: int = int(_parser.MAXREPEAT)

_CHARSET = tuple[tuple[int, int], ...]
_ALL: _CHARSET = ((0, sys.maxunicode),)
# Approximate (over-covering) code point ranges of the class escapes: an over-approximation
# can only make the overlap test stricter, never let a dangerous pattern through.
_CATEGORIES: dict[str, _CHARSET] = {
    "CATEGORY_DIGIT": ((48, 57), (128, sys.maxunicode)),
    "CATEGORY_WORD": ((48, 57), (65, 90), (95, 95), (97, 122), (128, sys.maxunicode)),
    "CATEGORY_SPACE": ((9, 13), (32, 32), (128, sys.maxunicode)),
}


class UnsafeRegex(ValueError):
    """A pattern refused by :func:`guard_regex`; the message names the expectation."""

    def __init__(self, pattern: str, reason: str, expectation: str | None = None) -> None:
        self.pattern = pattern
        self.reason = reason
        self.expectation = expectation
        where = f"{expectation}: " if expectation else ""
        super().__init__(f"{where}regular expression {pattern!r} rejected: {reason}")


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused, or None when it is safe to run."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"longer than {MAX_PATTERN_LENGTH} characters ({len(pattern)})"
    try:
        re.compile(pattern)
        tree = _parser.parse(pattern)
    except re.error as exc:
        return f"not a valid regular expression ({exc})"
    except RecursionError:
        return "nested too deeply"
    return _walk(list(tree.data), in_repeat=False)


def guard_regex(pattern: str, *, expectation: str | None = None) -> None:
    """Raise :class:`UnsafeRegex` naming ``expectation`` when ``pattern`` is refused."""
    reason = regex_problem(pattern)
    if reason is not None:
        raise UnsafeRegex(pattern, reason, expectation)


def _walk(items: list[Any], *, in_repeat: bool) -> str | None:
    """Depth-first search for the first refused construct; ``in_repeat`` is True inside a
    repeat that may run many times (where ambiguity multiplies)."""
    for op, av in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "backreferences and conditional groups are not allowed"
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = av
            for bound in (low, high):
                if bound != _MAXREPEAT and bound > MAX_REPEAT_BOUND:
                    return f"repetition bound {bound} is above {MAX_REPEAT_BOUND}"
            if name == "POSSESSIVE_REPEAT":
                # Never gives back what it matched, so cannot multiply paths.
                problem = _walk(list(sub), in_repeat=False)
            else:
                if in_repeat and low != high:
                    return "nested quantifiers (a repeated group containing a quantifier)"
                many = high == _MAXREPEAT or high > 1
                problem = _walk(list(sub), in_repeat=in_repeat or many)
        elif name == "SUBPATTERN":
            problem = _walk(list(av[-1]), in_repeat=in_repeat)
        elif name == "ATOMIC_GROUP":
            problem = _walk(list(av), in_repeat=False)
        elif name in ("ASSERT", "ASSERT_NOT"):
            problem = _walk(list(av[1]), in_repeat=False)
        elif name == "BRANCH":
            branches = [list(b) for b in av[1]]
            if in_repeat and _ambiguous(branches):
                return "alternatives inside a repeated group overlap (e.g. (a|ab)+)"
            problem = next(
                (p for b in branches if (p := _walk(b, in_repeat=in_repeat)) is not None), None
            )
        else:
            problem = None
        if problem is not None:
            return problem
    return None


def _ambiguous(branches: list[list[Any]]) -> bool:
    firsts = [_first_chars(b) for b in branches]
    if any(f is None for f in firsts):
        return True
    sets = [f for f in firsts if f is not None]
    for i, left in enumerate(sets):
        for right in sets[i + 1 :]:
            if any(a <= d and c <= b for a, b in left for c, d in right):
                return True
    return False


def _first_chars(items: list[Any]) -> _CHARSET | None:
    """Code points the sequence can start with; None if it can match the empty string or its
    start is not simple enough to tell (treated as overlapping everything)."""
    if not items:
        return None
    op, av = items[0]
    name = str(op)
    if name == "LITERAL":
        return ((av, av),)
    if name in ("NOT_LITERAL", "ANY"):
        return _ALL
    if name == "IN":
        ranges: list[tuple[int, int]] = []
        for sub_op, sub_av in av:
            sub = str(sub_op)
            if sub == "LITERAL":
                ranges.append((sub_av, sub_av))
            elif sub == "RANGE":
                ranges.append((sub_av[0], sub_av[1]))
            elif sub == "CATEGORY" and str(sub_av) in _CATEGORIES:
                ranges.extend(_CATEGORIES[str(sub_av)])
            else:  # negated sets, \D, \W, \S, …
                return _ALL
        return tuple(ranges)
    if name == "SUBPATTERN":
        return _first_chars(list(av[-1]) + items[1:])
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] > 0:
        return _first_chars(list(av[2]))
    return None
