"""Condition builders fold the constants and flatten nested AND/OR (the printed SOQL stays readable)."""

from __future__ import annotations

from gateway.soql.conditions import FALSE, TRUE, conjunction, disjunction
from gateway.soql.printer import print_condition
from gateway.soql.syntax import Comparison, Field, StringLiteral

A = Comparison(Field(("Name",)), "=", StringLiteral("a"))
B = Comparison(Field(("Industry",)), "=", StringLiteral("b"))
C = Comparison(Field(("Type",)), "=", StringLiteral("c"))


def test_constants_fold():
    assert conjunction() == TRUE and disjunction() == FALSE
    assert conjunction(A, TRUE) == A and conjunction(A, FALSE, B) == FALSE
    assert disjunction(A, FALSE) == A and disjunction(A, TRUE, B) == TRUE


def test_nested_and_or_are_flattened():
    assert (
        print_condition(conjunction(conjunction(A, B), C)) == "Name = 'a' AND Industry = 'b' AND Type = 'c'"
    )
    assert print_condition(disjunction(A, disjunction(B, C))) == "Name = 'a' OR Industry = 'b' OR Type = 'c'"
    assert (
        print_condition(conjunction(A, disjunction(B, C))) == "Name = 'a' AND (Industry = 'b' OR Type = 'c')"
    )
