"""Bind parsed query options to the published model and translate ``$filter`` into a SOQL condition.

Every name is resolved against the model, so nothing unpublished can reach SOQL: an unknown or
unpublished property is a 400 (the same message for both, so clients learn nothing of unpublished
fields). Valid OData that SOQL cannot answer faithfully is a 501 that says what to do instead.

Filter semantics. OData's logic is three-valued only where a function meets a null (``contains(X,'a')``
is null when ``X`` is null); comparisons are two-valued (``null eq 'a'`` is false, ``null ne 'a'`` true).
Each boolean expression is therefore translated into three SOQL conditions: rows where it is true,
false, and null. ``not``, ``eq false`` and friends pick the right one, so SOQL's own ``NOT`` is only ever
applied to ``LIKE`` and always next to an explicit null test. The translation relies on these SOQL facts:
``= null``/``!= null`` test for null, and ``!=`` on a field matches rows where the field is null (unlike
SQL). Where SOQL's treatment of nulls is less clear (``NOT IN``, date functions) the null case is spelled
out with ``= null``.

Decisions where SOQL and OData differ:
- ``=`` and ``LIKE`` are case-insensitive in SOQL; ``eq``/``contains`` are translated to them all the same
  (that is what a Salesforce user expects and what Salesforce Connect sends).
- ``tolower(X) eq 'lit'`` means "X equals lit ignoring case" when ``lit`` is lower case, which SOQL's
  case-insensitive ``=`` answers exactly. If ``lit`` has an upper-case letter it can never be true in
  OData, so the condition matches nothing (likewise ``toupper`` with a lower-case letter).
- A Salesforce boolean is never null: ``X eq null`` on a Boolean property matches nothing (SOQL's own
  ``= null`` on a boolean would mean ``= false``).
- Multi-select picklists: ``eq``/``ne``/``in`` compare the whole value. Salesforce returns the values in
  picklist order, so a literal naming the values in that order becomes SOQL ``=`` (which ignores order);
  a literal in another order, with a duplicate or an unknown value can never equal the returned string
  and matches nothing. Other operators and functions on them are refused (501).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from odata_query import ast

from gateway.odata.http.errors import ODataError, bad_request, forbidden, not_implemented
from gateway.odata.model.entities import HIDDEN, EntitySet, Model, NavigationProperty, Property
from gateway.odata.model.keys import is_salesforce_id
from gateway.odata.read.capabilities import (
    CAPABILITIES,
    CASE_FUNCTIONS,
    DATE_PART_FUNCTIONS,
    LIKE_FUNCTIONS,
)
from gateway.odata.read.query_options import (
    ExpandItem,
    OrderItem,
    QueryOptions,
    operand_chain,
    parse_datetime,
)
from gateway.odata.read.search_expr import bind_search, check_contains_chain
from gateway.soql import syntax as soql
from gateway.soql.conditions import FALSE, TRUE, conjunction, disjunction
from gateway.soql.printer import MAX_STRING_LITERAL, like_pattern
from gateway.soql.sosl import SearchExpr

NUMBER_TYPES = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double", "Edm.Single"})
DATE_PARTS = dict(
    zip(DATE_PART_FUNCTIONS, ("CALENDAR_YEAR", "CALENDAR_MONTH", "DAY_IN_MONTH", "HOUR_IN_DAY"), strict=True)
)
SPECIAL_NUMBERS = ("INF", "NaN")
# What Salesforce stores: dates and datetimes from 1700 to 4000, numbers of at most 18 digits
FIRST_DAY, LAST_DAY = dt.date(1700, 1, 1), dt.date(4000, 12, 31)
MAX_NUMBER_DIGITS = 18
INTEGER_RANGES = {"Edm.Int16": 2**15, "Edm.Int32": 2**31, "Edm.Int64": 2**63}
_OPERATORS = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_MIRRORED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATED = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


@dataclass(frozen=True)
class OrderKey:
    """One sort key: the SOQL field (possibly along lookups), its property, and the direction."""

    field: soql.Field
    property: Property
    descending: bool = False


@dataclass(frozen=True)
class BoundExpand:
    navigation: NavigationProperty
    target: EntitySet
    select: tuple[Property, ...]  # the target's properties to return
    where: soql.Condition | None = None  # child expansions only
    order_by: tuple[OrderKey, ...] = ()
    top: int | None = None


@dataclass(frozen=True)
class BoundQuery:
    entity_set: EntitySet
    select: tuple[Property, ...]  # the properties to return, in order
    where: soql.Condition | None
    order_by: tuple[OrderKey, ...]  # the $orderby keys only (plan adds Id)
    expand: tuple[BoundExpand, ...] = ()
    top: int | None = None
    count: bool = False
    skiptoken: str | None = None
    format: str | None = None
    search: SearchExpr | None = None  # $search as a SOSL search expression


@dataclass(frozen=True)
class _Pred:
    """Where a boolean expression is true and false, and where it is not true / not false (each a SOQL
    condition); null is where it is neither. ``and``/``or``/``not`` combine each of the four from the same
    one of their operands, so every condition uses each operand's conditions once and the SOQL grows
    linearly with the filter (spelling null out from the operands' nulls doubled it with every term)."""

    true: soql.Condition
    false: soql.Condition
    not_true: soql.Condition
    not_false: soql.Condition
    two_valued: bool = False
    known_null: soql.Condition | None = None  # a leaf's own null condition (X = null), kept readable

    @property
    def null(self) -> soql.Condition:
        if self.two_valued:
            return FALSE
        if self.known_null is not None:
            return self.known_null
        return conjunction(self.not_true, self.not_false)

    def negated(self) -> _Pred:
        return _Pred(self.false, self.true, self.not_false, self.not_true, self.two_valued, self.known_null)

    @staticmethod
    def all_of(preds: list[_Pred]) -> _Pred:
        """``a and b and …``: true where all are, false where any is, not true where any is not true."""
        true = conjunction(*(p.true for p in preds))
        false = disjunction(*(p.false for p in preds))
        if all(p.two_valued for p in preds):
            return _two_valued(true, false)
        return _Pred(
            true, false, disjunction(*(p.not_true for p in preds)), conjunction(*(p.not_false for p in preds))
        )

    @staticmethod
    def any_of(preds: list[_Pred]) -> _Pred:
        """``a or b or …``: the mirror image of ``all_of``."""
        return _Pred.all_of([p.negated() for p in preds]).negated()


def _two_valued(true: soql.Condition, false: soql.Condition) -> _Pred:
    return _Pred(true, false, false, true, two_valued=True)


def _three_valued(true: soql.Condition, false: soql.Condition, null: soql.Condition) -> _Pred:
    return _Pred(true, false, disjunction(false, null), disjunction(true, null), known_null=null)


@dataclass(frozen=True)
class _Value:
    """A property path as a value, possibly case-folded by tolower/toupper or reduced to a date part."""

    field: soql.Field
    property: Property
    case: str | None = None  # "tolower" / "toupper"
    date_part: str | None = None  # "CALENDAR_YEAR", ...

    @property
    def operand(self) -> soql.Operand:
        return soql.DateFunction(self.date_part, self.field) if self.date_part else self.field

    @property
    def is_null(self) -> soql.Condition:
        return soql.Comparison(self.field, "=", soql.NullLiteral())

    @property
    def not_null(self) -> soql.Condition:
        return soql.Comparison(self.field, "!=", soql.NullLiteral())


def _is_literal(node: Any) -> bool:
    return isinstance(node, ast._Literal) and not isinstance(node, ast.List)


def _describe(node: Any) -> str:
    if isinstance(node, ast.Identifier):
        return node.full_name()
    if isinstance(node, ast.Attribute):
        return f"{_describe(node.owner)}/{node.attr}"
    if isinstance(node, ast.Call):
        return f"{node.func.full_name()}(...)"
    return type(node).__name__


# --- the binder ------------------------------------------------------------------------------------


class _Binder:
    def __init__(self, entity_set: EntitySet, model: Model, target: str) -> None:
        self.entity_set = entity_set
        self.model = model
        self.target = target  # the option errors point at: "$filter", "$orderby", ...

    def bad(self, message: str) -> ODataError:
        return bad_request(message, target=self.target)

    def unsupported(self, message: str) -> ODataError:
        return not_implemented(message, target=self.target)

    # names

    def navigation(self, entity_set: EntitySet, name: str) -> NavigationProperty | None:
        found = entity_set.navigation.get(name)
        if found is None:
            found = next((n for k, n in entity_set.navigation.items() if k.lower() == name.lower()), None)
        return found

    def target_set(self, navigation: NavigationProperty) -> EntitySet:
        target = self.model.entity_set(navigation.target_set)
        if target is None:  # a model without the target would be a builder bug; refuse, never guess
            raise self.bad(f"Unknown navigation property '{navigation.name}'")
        check_readable(target)
        return target

    def property_path(self, names: tuple[str, ...], purpose: str) -> tuple[soql.Field, Property]:
        """Resolve ``Name`` or ``Account/Owner/Name`` to a SOQL field path and the final property."""
        current = self.entity_set
        relationships: list[str] = []
        for name in names[:-1]:
            navigation = self.navigation(current, name)
            if navigation is None:
                if current.property(name) is not None:
                    raise self.bad(f"'{name}' is not a navigation property of {current.entity_type}")
                raise self.bad(f"Unknown property '{name}' on {current.entity_type}")
            if navigation.collection:
                raise self.unsupported(
                    f"'{navigation.name}' is a collection; filtering or sorting through it needs any/all, "
                    "which SOQL cannot express. Query the related entity set instead."
                )
            relationships.append(navigation.name)
            current = self.target_set(navigation)
        name = names[-1]
        prop = current.property(name)
        if prop is None:
            if self.navigation(current, name) is not None:
                raise self.bad(
                    f"'{name}' is a navigation property, not a value, and cannot be used in {purpose}"
                )
            raise self.bad(f"Unknown property '{name}' on {current.entity_type}")
        if prop.field_security == HIDDEN:
            raise forbidden(
                f"Property '{'/'.join(names)}' cannot be used in {purpose}: field-level security in the "
                f"source org hides {current.sobject}.{prop.name} from you.",
                target="/".join(names),
            )
        return soql.Field((*relationships, prop.name)), prop

    # $filter

    def filter(self, node: Any) -> soql.Condition | None:
        condition = self.predicate(node).true
        return None if condition == TRUE else condition

    def predicate(self, node: Any) -> _Pred:
        match node:
            case ast.BoolOp(op=ast.And() | ast.Or() as op):
                # a chain ``a and b and c`` is a left-deep tree: walk it flat, so a 1,000-term chain
                # costs no stack, and combine all operands at once (linear SOQL)
                preds = [self.predicate(item) for item in operand_chain(node, type(op))]
                if isinstance(op, ast.Or):
                    return _Pred.any_of(preds)
                return _Pred.all_of(preds)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return self.predicate(operand).negated()
            case ast.Compare():
                return self.comparison(node)
            case ast.Call():
                return self.boolean_call(node)
            case ast.Identifier() | ast.Attribute():
                field, prop = self.filter_path(node)
                if prop.edm_type != "Edm.Boolean":
                    raise self.bad(f"'{_describe(node)}' is not a Boolean property, so it cannot stand alone")
                return self.boolean_property(field, "=", True)
            case ast.Boolean():
                return _two_valued(TRUE, FALSE) if node.py_val else _two_valued(FALSE, TRUE)
            case ast.CollectionLambda():
                raise self.unsupported("any/all lambda operators cannot be expressed in SOQL")
            case ast.BinOp() | ast.UnaryOp():
                raise self.unsupported(
                    "arithmetic (add, sub, mul, div, mod, negation) is not supported by SOQL"
                )
        raise self.bad(f"'{_describe(node)}' is not a Boolean expression")

    def filter_path(self, node: ast.Identifier | ast.Attribute) -> tuple[soql.Field, Property]:
        names: list[str] = []
        while isinstance(node, ast.Attribute):
            names.insert(0, node.attr)
            node = node.owner
        if not isinstance(node, ast.Identifier):
            raise self.bad("Invalid property path")
        names[:0] = [*node.namespace, node.name]  # odata-query splits dotted names into a namespace
        field, prop = self.property_path(tuple(names), "$filter")
        if not prop.filterable:
            raise self.bad(
                f"Property '{'/'.join(names)}' cannot be used in $filter: Salesforce cannot filter on it"
            )
        return field, prop

    def value(self, node: Any) -> _Value:
        """A non-literal operand: a property path, tolower/toupper of one, or a date part of one."""
        match node:
            case ast.Identifier() | ast.Attribute():
                return _Value(*self.filter_path(node))
            case ast.Call(func=func, args=args):
                name = func.full_name()
                if not CAPABILITIES.filters_with(name):
                    raise self.unsupported(f"The function {name}() has no SOQL equivalent")
                if name in CASE_FUNCTIONS or name in DATE_PARTS:
                    inner = self.value(args[0])
                    if inner.case or inner.date_part:
                        raise self.unsupported(f"{name}() of another function cannot be expressed in SOQL")
                    if name in CASE_FUNCTIONS:
                        if (
                            inner.property.edm_type != "Edm.String"
                            or inner.property.sf_type == "multipicklist"
                        ):
                            raise self.bad(f"{name}() needs a string property")
                        return _Value(inner.field, inner.property, case=name)
                    allowed = (
                        ("Edm.DateTimeOffset",) if name == "hour" else ("Edm.Date", "Edm.DateTimeOffset")
                    )
                    if inner.property.edm_type not in allowed:
                        kinds = "a DateTimeOffset" if name == "hour" else "a Date or DateTimeOffset"
                        raise self.bad(f"{name}() needs {kinds} property, not '{inner.property.name}'")
                    return _Value(inner.field, inner.property, date_part=DATE_PARTS[name])
                if name in LIKE_FUNCTIONS:
                    raise self.bad(f"{name}() is Boolean; compare it with true or false only")
                raise self.unsupported(f"The function {name}() has no SOQL equivalent")
            case ast.CollectionLambda():
                raise self.unsupported("any/all lambda operators cannot be expressed in SOQL")
            case ast.BinOp() | ast.UnaryOp(op=ast.USub()):
                raise self.unsupported(
                    "arithmetic (add, sub, mul, div, mod, negation) is not supported by SOQL"
                )
        raise self.bad(f"'{_describe(node)}' cannot be used as a value here")

    def comparison(self, node: ast.Compare) -> _Pred:
        left, right = node.left, node.right
        if isinstance(node.comparator, ast.In):
            if not isinstance(right, ast.List):
                raise self.bad("'in' needs a list of literals: X in ('a', 'b')")
            if _is_literal(left):
                raise self.unsupported("'in' needs a property on its left side")
            return self.in_list(self.value(left), right.val)
        op = _OPERATORS[type(node.comparator)]
        if _is_literal(left) and not _is_literal(right):
            left, right, op = right, left, _MIRRORED[op]
        if _is_literal(left):
            raise self.unsupported(
                "Comparing two literals is not supported; compare a property with a literal"
            )
        if not _is_literal(right):
            if isinstance(right, ast.List):
                raise self.bad("A list can only follow 'in'")
            self.refuse_special_number(right)
            raise self.unsupported("Comparing two properties or expressions cannot be expressed in SOQL")
        if self.is_boolean_expression(left):
            return self.compare_predicate(self.predicate(left), op, right)
        return self.compare_value(self.value(left), op, right)

    def refuse_special_number(self, node: Any) -> None:
        """``INF``, ``-INF`` and ``NaN`` are OData number literals SOQL has no equivalent for (501)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            node = node.operand
        if isinstance(node, ast.Identifier) and not node.namespace and node.name in SPECIAL_NUMBERS:
            if self.entity_set.property(node.name) is None:
                raise self.unsupported(
                    f"The number literal {node.name} (infinity or not-a-number) has no SOQL equivalent; "
                    "compare with a finite number"
                )

    def is_boolean_expression(self, node: Any) -> bool:
        if isinstance(node, ast.Call):
            return node.func.full_name() in LIKE_FUNCTIONS
        return isinstance(node, ast.BoolOp | ast.Compare) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        )

    def compare_predicate(self, pred: _Pred, op: str, literal: Any) -> _Pred:
        if op not in ("=", "!="):
            raise self.unsupported("Ordering comparisons of Boolean expressions are not supported")
        if isinstance(literal, ast.Boolean):
            result = pred if literal.py_val else pred.negated()
            matches, other = result.true, result.not_true
        elif isinstance(literal, ast.Null):
            matches, other = pred.null, disjunction(pred.true, pred.false)
        else:
            raise self.bad("A Boolean expression can only be compared with true, false or null")
        return _two_valued(matches, other) if op == "=" else _two_valued(other, matches)

    def boolean_call(self, node: ast.Call) -> _Pred:
        name = node.func.full_name()
        if not CAPABILITIES.filters_with(name):
            raise self.unsupported(f"The function {name}() has no SOQL equivalent")
        if name not in LIKE_FUNCTIONS:
            if name in DATE_PARTS or name in CASE_FUNCTIONS:
                raise self.bad(f"{name}() is not Boolean; compare it with a value")
            raise self.unsupported(f"The function {name}() has no SOQL equivalent")
        subject, needle = node.args
        if _is_literal(subject):
            raise self.unsupported(f"{name}() needs a property as its first argument")
        value = self.value(subject)
        if value.date_part or value.property.edm_type != "Edm.String":
            raise self.bad(f"{name}() needs a string property, not '{value.property.name}'")
        if value.property.sf_type == "multipicklist":
            raise self.unsupported(
                f"{name}() on the multi-select picklist '{value.property.name}' cannot be expressed in SOQL; "
                "use eq with the whole value"
            )
        if not isinstance(needle, ast.String):
            if _is_literal(needle):
                raise self.bad(
                    f"{name}() needs a string literal as its second argument: literal of the wrong type"
                )
            raise self.unsupported(f"{name}() with a non-literal second argument cannot be expressed in SOQL")
        text = self.string(needle)
        if not self.case_survives(value, text):
            return _three_valued(FALSE, value.not_null, value.is_null)
        pattern = like_pattern(text, leading=name != "startswith", trailing=name != "endswith")
        if len(pattern.value) > MAX_STRING_LITERAL:
            raise self.bad(
                f"The {name}() string is too long for SOQL (at most {MAX_STRING_LITERAL} characters)"
            )
        like = soql.Comparison(value.field, "LIKE", pattern)
        return _three_valued(like, conjunction(value.not_null, soql.Not(like)), value.is_null)

    @staticmethod
    def case_survives(value: _Value, text: str) -> bool:
        """Whether a case-folded value can equal ``text`` at all (``tolower(X)`` never equals ``'Acme'``)."""
        if value.case == "tolower":
            return text == text.lower()
        if value.case == "toupper":
            return text == text.upper()
        return True

    def string(self, literal: ast.String) -> str:
        if len(literal.val) > MAX_STRING_LITERAL:
            raise self.bad(f"A string literal is longer than SOQL allows ({MAX_STRING_LITERAL} characters)")
        return literal.val

    def boolean_property(self, field: soql.Field, op: str, value: bool) -> _Pred:
        matches = soql.Comparison(field, "=", soql.BooleanLiteral(value if op == "=" else not value))
        other = soql.Comparison(field, "=", soql.BooleanLiteral(not value if op == "=" else value))
        return _two_valued(matches, other)

    def compare_value(self, value: _Value, op: str, literal: Any) -> _Pred:
        prop = value.property
        if isinstance(literal, ast.Null):
            return self.compare_null(value, op)
        if prop.edm_type == "Edm.Boolean" and not value.date_part:
            if op not in ("=", "!="):
                raise self.unsupported("Boolean properties can only be compared with eq and ne")
            if not isinstance(literal, ast.Boolean):
                raise self.wrong_literal(prop, literal)
            return self.boolean_property(value.field, op, literal.py_val)
        if prop.sf_type == "multipicklist":
            if op not in ("=", "!="):
                raise self.unsupported(f"'{prop.name}' is a multi-select picklist; only eq, ne and in apply")
            if not self.canonical_multipicklist(value, self.literal(value, literal).value):
                return _two_valued(FALSE, TRUE) if op == "=" else _two_valued(TRUE, FALSE)
        if value.case and op not in ("=", "!="):
            raise self.unsupported(f"{value.case}() can only be compared with eq, ne or in")
        soql_literal = self.literal(value, literal)
        if value.case and not self.case_survives(value, literal.val):
            return _two_valued(FALSE, TRUE) if op == "=" else _two_valued(TRUE, FALSE)
        true = soql.Comparison(value.operand, op, soql_literal)
        false = soql.Comparison(value.operand, _NEGATED[op], soql_literal)
        if op in ("=", "!=") and not value.date_part:
            return _two_valued(true, false)  # SOQL's != on a field includes nulls, as OData's ne does
        if op == "!=":
            return _two_valued(disjunction(true, value.is_null), conjunction(false, value.not_null))
        return _two_valued(true, disjunction(false, value.is_null))

    def compare_null(self, value: _Value, op: str) -> _Pred:
        if op in ("<", ">"):
            return _two_valued(FALSE, TRUE)  # null gt/lt anything is false in OData
        is_null = value.is_null
        not_null = value.not_null
        if value.property.edm_type == "Edm.Boolean" and not value.date_part:
            is_null, not_null = FALSE, TRUE  # a Salesforce boolean is never null
        return _two_valued(not_null, is_null) if op == "!=" else _two_valued(is_null, not_null)

    def in_list(self, value: _Value, items: list[Any]) -> _Pred:
        has_null = any(isinstance(item, ast.Null) for item in items)
        literals = [item for item in items if not isinstance(item, ast.Null)]
        for item in literals:
            if not _is_literal(item):
                raise self.bad("'in' needs a list of literals: X in ('a', 'b'); properties cannot be listed")
        prop = value.property
        if value.date_part or value.case or prop.sf_type == "multipicklist" or prop.edm_type == "Edm.Boolean":
            preds = [self.compare_value(value, "=", item) for item in literals]
            if has_null:
                preds.append(self.compare_null(value, "="))
            return _two_valued(disjunction(*(p.true for p in preds)), conjunction(*(p.false for p in preds)))
        values = tuple(dict.fromkeys(self.literal(value, item) for item in literals))
        if not values:
            return _two_valued(value.is_null, value.not_null)
        listed = soql.InList(value.field, values)
        not_listed = soql.InList(value.field, values, negated=True)
        if has_null:
            return _two_valued(disjunction(listed, value.is_null), conjunction(not_listed, value.not_null))
        return _two_valued(listed, disjunction(not_listed, value.is_null))

    @staticmethod
    def canonical_multipicklist(value: _Value, text: str) -> bool:
        """Whether ``text`` names picklist values the way Salesforce returns them (picklist order)."""
        allowed = value.property.picklist_values
        if not allowed:
            return True  # nothing to check against: pass the value on as given
        chosen = text.split(";")
        return [v for v in allowed if v in chosen] == chosen

    def wrong_literal(self, prop: Property, literal: Any) -> ODataError:
        kind = type(literal).__name__
        return self.bad(
            f"The {kind} literal cannot be compared with '{prop.name}' ({prop.edm_type}): "
            "literal of the wrong type"
        )

    def literal(self, value: _Value, literal: Any) -> soql.Literal:
        """The SOQL literal for ``literal`` typed by the value it is compared with."""
        prop = value.property
        if value.date_part:
            if not isinstance(literal, ast.Integer):
                raise self.bad(
                    f"The date part of '{prop.name}' compares with an integer: literal of the wrong type"
                )
            return soql.NumberLiteral(Decimal(literal.val))
        edm = prop.edm_type
        if edm == "Edm.String":
            if not isinstance(literal, ast.String):
                raise self.wrong_literal(prop, literal)
            text = self.string(literal)
            if prop.sf_type in ("id", "reference") and text and not is_salesforce_id(text):
                raise self.bad(
                    f"'{text}' is not a Salesforce Id (15 letters and digits, or 18 with the checksum "
                    f"suffix), so it cannot be compared with '{prop.name}'"
                )
            return soql.StringLiteral(text)
        if edm in NUMBER_TYPES:
            if not isinstance(literal, ast.Integer | ast.Float):
                raise self.wrong_literal(prop, literal)
            try:
                number = Decimal(literal.val)
            except InvalidOperation:
                raise self.bad(f"Invalid number {literal.val}") from None
            if not number.is_finite():
                raise self.bad(f"Invalid number {literal.val}")
            return soql.NumberLiteral(self.number_in_range(prop, number, literal.val))
        if edm == "Edm.Boolean":
            if not isinstance(literal, ast.Boolean):
                raise self.wrong_literal(prop, literal)
            return soql.BooleanLiteral(literal.py_val)
        if edm == "Edm.Date":
            if not isinstance(literal, ast.Date):
                raise self.wrong_literal(prop, literal)
            return soql.DateLiteral(self.day_in_range(literal.py_val, literal.val))
        if edm == "Edm.DateTimeOffset":
            if not isinstance(literal, ast.DateTime):
                raise self.wrong_literal(prop, literal)
            moment = parse_datetime(literal.val)
            try:
                day = moment.astimezone(dt.UTC).date()
            except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
                day = dt.date.max
            self.day_in_range(day, literal.val)
            return soql.DateTimeLiteral(moment)
        raise self.unsupported(f"Filtering on '{prop.name}' ({edm}) is not supported")

    def day_in_range(self, day: dt.date, text: str) -> dt.date:
        if not FIRST_DAY <= day <= LAST_DAY:
            raise self.bad(
                f"{text} is outside the dates Salesforce accepts ({FIRST_DAY.isoformat()} to "
                f"{LAST_DAY.isoformat()} in UTC)"
            )
        return day

    def number_in_range(self, prop: Property, number: Decimal, text: str) -> Decimal:
        bound = INTEGER_RANGES.get(prop.edm_type)
        if bound is not None and not -bound <= number < bound:
            raise self.bad(f"{text} is outside the range of {prop.edm_type}, the type of '{prop.name}'")
        if (
            number != 0
            and not Decimal(10) ** -MAX_NUMBER_DIGITS <= abs(number) < Decimal(10) ** MAX_NUMBER_DIGITS
        ):
            raise self.bad(
                f"{text} is outside the numbers SOQL accepts (at most {MAX_NUMBER_DIGITS} digits before or "
                "after the decimal point)"
            )
        return number

    # $select, $orderby, $expand

    def select(
        self, entity_set: EntitySet, paths: tuple[tuple[str, ...], ...] | None
    ) -> tuple[Property, ...]:
        if paths is None or ("*",) in paths:
            return tuple(entity_set.properties.values())
        chosen: dict[str, Property] = {}
        for path in paths:
            if len(path) > 1:
                if self.navigation(entity_set, path[0]) is not None:
                    raise self.bad(
                        f"$select cannot follow the navigation property '{path[0]}'; "
                        f"use $expand={path[0]}($select={'/'.join(path[1:])})"
                    )
                raise self.bad(f"'{'/'.join(path)}' is not a property path of {entity_set.entity_type}")
            prop = entity_set.property(path[0])
            if prop is None:
                if self.navigation(entity_set, path[0]) is not None:
                    continue  # selecting a navigation property only affects links; nothing to fetch
                raise self.bad(f"Unknown property '{path[0]}' on {entity_set.entity_type}")
            chosen.setdefault(prop.name, prop)
        return tuple(chosen.values())

    def order_by(self, items: tuple[OrderItem, ...]) -> tuple[OrderKey, ...]:
        keys: dict[soql.Field, OrderKey] = {}
        for item in items:
            field, prop = self.property_path(item.path, "$orderby")
            if not prop.sortable:
                raise self.bad(
                    f"Property '{'/'.join(item.path)}' cannot be used in $orderby: "
                    "Salesforce cannot sort on it"
                )
            keys.setdefault(field, OrderKey(field, prop, item.descending))
        return tuple(keys.values())


def _refuse_common(options: QueryOptions, where: str) -> None:
    if options.unsupported:
        name = options.unsupported[0]
        raise not_implemented(
            f"The query option {name}{where} is not supported: SOQL cannot express it", name
        )
    if options.skip and not CAPABILITIES.skip:
        raise not_implemented(
            "$skip is not supported: Salesforce cannot skip rows faithfully (OFFSET stops at 2,000). "
            "Enable Server Driven Pagination on the External Data Source and follow @odata.nextLink instead.",
            "$skip",
        )
    if options.search is not None and (
        not CAPABILITIES.search or (where and not CAPABILITIES.search_in_expand)
    ):
        raise not_implemented(f"$search{where} is not supported: search the entity set itself", "$search")


def _bind_filter(
    entity_set: EntitySet, model: Model, options: QueryOptions, target: str
) -> soql.Condition | None:
    if options.filter is None:
        return None
    return _Binder(entity_set, model, target).filter(options.filter)


def _bind_expand(entity_set: EntitySet, model: Model, item: ExpandItem) -> list[BoundExpand]:
    binder = _Binder(entity_set, model, "$expand")
    options = item.options
    if item.path == ("*",):
        if options != QueryOptions():
            raise binder.unsupported(
                "$expand=* with nested options is not supported; name each navigation property"
            )
        expands = []
        for navigation in entity_set.navigation.values():
            target = binder.target_set(navigation)
            expands.append(BoundExpand(navigation, target, tuple(target.properties.values())))
        return expands
    if item.path[-1] in ("$ref", "$count"):
        raise binder.unsupported(f"$expand with {item.path[-1]} is not supported")
    navigation = binder.navigation(entity_set, item.path[0])
    if navigation is None:
        if entity_set.property(item.path[0]) is not None:
            raise binder.bad(f"'{item.path[0]}' is not a navigation property of {entity_set.entity_type}")
        raise binder.bad(f"Unknown navigation property '{item.path[0]}' on {entity_set.entity_type}")
    if len(item.path) > CAPABILITIES.expand_max_levels or (
        options.expand and CAPABILITIES.expand_max_levels < 2
    ):
        raise binder.unsupported(
            "Expansion deeper than one level is not supported: SOQL relationship queries go one level"
        )
    if options.count and not CAPABILITIES.count_in_expand:
        raise binder.unsupported("$count inside $expand is not supported")
    _refuse_common(options, f" inside $expand={navigation.name}")
    target = binder.target_set(navigation)
    select = binder.select(target, options.select)
    if not navigation.collection:
        if options.filter is not None or options.orderby or options.top is not None:
            raise binder.unsupported(
                f"$filter, $orderby and $top do not apply to the single-valued '{navigation.name}' in SOQL"
            )
        return [BoundExpand(navigation, target, select)]
    where = _bind_filter(target, model, options, "$expand")
    order_by = _Binder(target, model, "$expand").order_by(options.orderby)
    return [BoundExpand(navigation, target, select, where, order_by, options.top)]


def check_readable(entity_set: EntitySet) -> None:
    """403 when the requesting user's source-org permissions hide the entity set's whole object."""
    if not entity_set.readable:
        raise forbidden(
            f"The source org does not let you read {entity_set.sobject} records ({entity_set.name}).",
            target=entity_set.name,
        )


def bind(entity_set: EntitySet, model: Model, options: QueryOptions) -> BoundQuery:
    """Resolve ``options`` against ``entity_set`` in ``model``: 400 for bad names, 501 for what SOQL
    cannot answer, 403 for what the user's source-org permissions hide, the filter translated to a SOQL
    condition."""
    check_readable(entity_set)
    _refuse_common(options, "")
    search = None if options.search is None else bind_search(entity_set, options.search)
    binder = _Binder(entity_set, model, "$select")
    select = binder.select(entity_set, options.select)
    check_contains_chain(entity_set, options.filter)
    where = _bind_filter(entity_set, model, options, "$filter")
    order_by = _Binder(entity_set, model, "$orderby").order_by(options.orderby)
    expands: dict[str, BoundExpand] = {}
    for item in options.expand:
        for bound in _bind_expand(entity_set, model, item):
            if bound.navigation.name in expands:
                raise bad_request(f"'{bound.navigation.name}' is expanded more than once", target="$expand")
            expands[bound.navigation.name] = bound
    if search is not None and any(e.navigation.collection for e in expands.values()):
        raise not_implemented(
            "$expand of a collection cannot be combined with $search: Salesforce search returns no related "
            "lists. Expand lookups only, or read the related entities with their own request.",
            "$expand",
        )
    return BoundQuery(
        entity_set=entity_set,
        select=select,
        where=where,
        order_by=order_by,
        expand=tuple(expands.values()),
        top=options.top,
        count=options.count,
        skiptoken=options.skiptoken,
        format=options.format,
        search=search,
    )
