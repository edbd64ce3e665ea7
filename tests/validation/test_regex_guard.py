"""Regular expressions are bounded before they reach Python's backtracking engine."""

from __future__ import annotations

import pytest

from validation.regex_guard import (
    MAX_PATTERN_LENGTH,
    UnsafeRegex,
    guard_regex,
    regex_problem,
)

SAFE = [
    r"^[^@]+@[^@]+$",
    r"^\d{4}$",
    r"^\d{3} ?\d{2}$",  # postnummer
    r"^(?:[A-Z]{2}-)?\d{4}$",
    r"^(ab|cd)+$",  # alternatives start differently
    r"^(\w|\s)+$",  # becomes one character class
    r"^(?>\d+\.)+\d+$",  # atomic group: cannot backtrack
    r"^a++b$",
    r"^(?=.*\d)[a-z\d]{8,64}$",
    r"^[0-9]{6}-?[0-9]{4}$",
]

UNSAFE = [
    (r"(a+)+$", "nested quantifiers"),
    (r"(a*)*b", "nested quantifiers"),
    (r"^(\d+\.)+\d+$", "nested quantifiers"),  # conservative: refused, with a way around it
    (r"(a?){2,}", "nested quantifiers"),
    (r"(a|aa)+$", "overlap"),
    (r"(a|ab)*c", "overlap"),
    (r"(.|x)+y", "overlap"),
    (r"(x)\1", "backreferences"),
    (r"(?P<q>')[^']*(?P=q)", "backreferences"),
    (r"(a)?(?(1)b|c)", "conditional"),
    (r"a{1,5000}", "repetition bound"),
    (r"(", "not a valid regular expression"),
    ("a" * (MAX_PATTERN_LENGTH + 1), "longer than"),
]


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_pass(pattern: str) -> None:
    assert regex_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "reason"), UNSAFE)
def test_dangerous_patterns_are_refused(pattern: str, reason: str) -> None:
    problem = regex_problem(pattern)
    assert problem is not None and reason in problem


def test_guard_names_the_expectation() -> None:
    with pytest.raises(UnsafeRegex) as caught:
        guard_regex("(a+)+$", expectation="expect_column_values_to_match_regex on 'e_post'")
    message = str(caught.value)
    assert message.startswith("expect_column_values_to_match_regex on 'e_post': ")
    assert "'(a+)+$'" in message
    guard_regex(r"^\d+$")  # no exception
