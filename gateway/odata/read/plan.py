"""Plan a read: a bound query becomes one SOQL query (a soql.syntax tree) plus what shaping and paging need.

Paging is keyset paging, never OFFSET: the query is ordered by the ``$orderby`` keys and then ``Id``,
and the next page is the same query restricted to the rows strictly after the last row sent
(``keyset_condition``). OData wants nulls first ascending and last descending; SOQL puts nulls first in
both directions unless told otherwise, so descending keys are printed ``DESC NULLS LAST``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from gateway.odata.model.entities import HIDDEN, EntitySet, NavigationProperty, Property
from gateway.odata.read.bind import BoundExpand, BoundQuery, OrderKey
from gateway.soql import syntax as soql
from gateway.soql.conditions import FALSE, ID, conjunction, disjunction
from gateway.soql.sosl import SearchExpr

__all__ = [
    "ExpandPlan",
    "OrderKey",
    "ReadPlan",
    "count_query",
    "keyset_condition",
    "page_query",
    "plan_read",
    "property_query",
    "restrict",
    "sort_values",
]


@dataclass(frozen=True)
class ExpandPlan:
    navigation: NavigationProperty
    target: EntitySet
    select: tuple[str, ...]  # the target's property names to return
    collection: bool

    @property
    def name(self) -> str:
        return self.navigation.name

    @property
    def selects_all(self) -> bool:
        """Whether every property of the target is returned (no ``$select`` of its own)."""
        return self.select == tuple(self.target.properties)


@dataclass(frozen=True)
class ReadPlan:
    entity_set: EntitySet
    query: soql.Query  # WHERE = the $filter only; ORDER BY = $orderby keys + Id; no LIMIT
    select: tuple[str, ...]  # property names to return, in order
    expand: tuple[ExpandPlan, ...]
    order_keys: tuple[OrderKey, ...]  # the ORDER BY keys, Id last; every one is in the SELECT
    top: int | None
    count: bool
    search: SearchExpr | None = None  # $search: the page is one SOSL statement (read/search.py)


def _id_property(entity_set: EntitySet) -> Property:
    found = entity_set.property("Id")
    return found or Property("Id", "id", "Edm.String", nullable=False, max_length=18)


def _order_by(keys: tuple[OrderKey, ...]) -> tuple[soql.OrderBy, ...]:
    return tuple(soql.OrderBy(k.field, k.descending, "LAST" if k.descending else None) for k in keys)


def _with_id(entity_set: EntitySet, keys: tuple[OrderKey, ...]) -> tuple[OrderKey, ...]:
    if any(k.field == ID for k in keys):
        return keys
    return (*keys, OrderKey(ID, _id_property(entity_set)))


def _fetched(props: tuple[Property, ...]) -> tuple[Property, ...]:
    """The properties to ask the source for: not those its field-level security hides from the user
    (they are shaped as null)."""
    return tuple(p for p in props if p.field_security != HIDDEN)


def _child_subquery(expand: BoundExpand) -> soql.Subquery:
    fields = dict.fromkeys([ID, *(soql.Field((p.name,)) for p in _fetched(expand.select))])
    keys = _with_id(expand.target, expand.order_by)
    fields.update(dict.fromkeys(k.field for k in keys))
    query = soql.Query(
        select=tuple(fields),
        sobject=expand.navigation.name,
        where=expand.where,
        order_by=_order_by(keys),
        limit=expand.top,
    )
    return soql.Subquery(query)


def plan_read(bound: BoundQuery) -> ReadPlan:
    """The SOQL query for ``bound`` and what shaping and paging need to go with it."""
    entity_set = bound.entity_set
    order_keys = _with_id(entity_set, bound.order_by)
    fields: dict[soql.Field, None] = dict.fromkeys(
        [ID, *(soql.Field((p.name,)) for p in _fetched(bound.select))]
    )
    if entity_set.property("SystemModstamp") is not None:
        fields[soql.Field(("SystemModstamp",))] = None  # the etag source, when published
    subqueries: list[soql.Subquery] = []
    expands: list[ExpandPlan] = []
    for expand in bound.expand:
        nav = expand.navigation
        if nav.collection:
            subqueries.append(_child_subquery(expand))
        else:
            fields.update(
                dict.fromkeys(
                    soql.Field((nav.name, name)) for name in ("Id", *_names(_fetched(expand.select)))
                )
            )
        expands.append(ExpandPlan(nav, expand.target, _names(expand.select), nav.collection))
    fields.update(dict.fromkeys(k.field for k in order_keys))  # paging reads the keys of the last row
    query = soql.Query(
        select=(*fields, *subqueries),
        sobject=entity_set.sobject,
        where=bound.where,
        order_by=_order_by(order_keys),
    )
    return ReadPlan(
        entity_set=entity_set,
        query=query,
        select=_names(bound.select),
        expand=tuple(expands),
        order_keys=order_keys,
        top=bound.top,
        count=bound.count,
        search=bound.search,
    )


def _names(props: tuple[Property, ...]) -> tuple[str, ...]:
    return tuple(p.name for p in props)


def restrict(plan: ReadPlan, condition: soql.Condition) -> ReadPlan:
    """``plan`` with ``condition`` added to its WHERE (navigation such as ``Account('001…')/Contacts``)."""
    where = condition if plan.query.where is None else conjunction(condition, plan.query.where)
    return replace(plan, query=replace(plan.query, where=where))


def count_query(plan: ReadPlan) -> soql.Query:
    """``SELECT COUNT() FROM … WHERE …``: all matches of the plan, ignoring paging and ``$top``."""
    return soql.Query(select=(soql.Count(),), sobject=plan.query.sobject, where=plan.query.where)


def page_query(plan: ReadPlan, after: tuple[Any, ...] | None = None, limit: int | None = None) -> soql.Query:
    """The plan's query for one page: the rows after the sort values ``after`` (None: from the start)."""
    where = plan.query.where
    if after is not None:
        keyset = keyset_condition(plan.order_keys, after)
        where = keyset if where is None else conjunction(where, keyset)
    return replace(plan.query, where=where, limit=limit)


def sort_values(record: dict, order_keys: tuple[OrderKey, ...]) -> tuple[Any, ...]:
    """The sort key values of a Salesforce REST record (``Account.Name`` via ``record['Account']``)."""
    values = []
    for key in order_keys:
        value: Any = record
        for name in key.field.path:
            value = value.get(name) if isinstance(value, dict) else None
        values.append(value)
    return tuple(values)


# --- keyset paging -------------------------------------------------------------------------------


def _literal(prop: Property, value: Any) -> soql.Literal:
    """A SOQL literal for a sort value as found in a Salesforce record (or as a Python value)."""
    edm = prop.edm_type
    if edm == "Edm.Boolean":
        return soql.BooleanLiteral(bool(value))
    if edm == "Edm.Date":
        return soql.DateLiteral(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))
    if edm == "Edm.DateTimeOffset":
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return soql.DateTimeLiteral(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise TypeError(f"not a sort value of {prop.name}: {value!r}")
    if isinstance(value, str) and edm not in ("Edm.String", "Edm.TimeOfDay"):
        return soql.NumberLiteral(Decimal(value))
    if isinstance(value, str):
        return soql.StringLiteral(value)
    return soql.NumberLiteral(Decimal(str(value)))


def _equal(key: OrderKey, value: Any) -> soql.Condition:
    if value is None:
        return soql.Comparison(key.field, "=", soql.NullLiteral())
    return soql.Comparison(key.field, "=", _literal(key.property, value))


def _after(key: OrderKey, value: Any) -> soql.Condition:
    """Rows whose ``key`` comes strictly after ``value``: nulls first ascending, last descending."""
    is_null = soql.Comparison(key.field, "=", soql.NullLiteral())
    if key.property.edm_type == "Edm.Boolean":  # never null; SOQL has no < or > on booleans
        first = key.descending  # ascending: false before true; descending: true before false
        if bool(value) == first:
            return soql.Comparison(key.field, "=", soql.BooleanLiteral(not first))
        return FALSE
    if value is None:
        return FALSE if key.descending else soql.Comparison(key.field, "!=", soql.NullLiteral())
    literal = _literal(key.property, value)
    if key.descending:
        smaller = soql.Comparison(key.field, "<", literal)
        return disjunction(smaller, is_null) if _may_be_null(key) else smaller
    return soql.Comparison(key.field, ">", literal)


def _may_be_null(key: OrderKey) -> bool:
    """A field reached through a lookup is null when the lookup is, whatever its own nullability."""
    return key.property.nullable or len(key.field.path) > 1


def _leading_range(key: OrderKey, value: Any) -> soql.Condition | None:
    """A range on the first key that every row after ``value`` satisfies, so an index can seek to the
    page instead of scanning every row before it; None where no such range is exact or useful.

    Ascending, nulls come first: after a value every row has ``k >= v``. Descending with nulls last: after
    a value come smaller values *and the nulls*, so ``k <= v`` is exact only when the key cannot be null (a
    field reached through a lookup can be, whatever its own nullability). Booleans have two values: no
    range helps."""
    if value is None or key.property.edm_type == "Edm.Boolean":
        return None  # ascending: everything non-null follows; descending: the keyset already says = null
    if not key.descending:
        return soql.Comparison(key.field, ">=", _literal(key.property, value))
    if _may_be_null(key):
        return None
    return soql.Comparison(key.field, "<=", _literal(key.property, value))


def keyset_condition(order_keys: tuple[OrderKey, ...], last_values: tuple[Any, ...]) -> soql.Condition:
    """The rows strictly after the row whose sort values are ``last_values``, in ``order_keys`` order.

    For keys k1..kn: (k1 after v1) OR (k1 = v1 AND k2 after v2) OR ... The last key must be unique (Id).
    In front of it, where one is exact, a range on k1 alone (``k1 >= v1 AND (...)``): a top-level OR
    makes every database (SQLite, Salesforce's) read all the rows before the page, so page 250 would cost
    250 times page 1.
    """
    if len(order_keys) != len(last_values):
        raise ValueError("one last value per order key")
    branches = []
    for i, key in enumerate(order_keys):
        earlier_equal = [_equal(k, v) for k, v in zip(order_keys[:i], last_values[:i], strict=True)]
        branches.append(conjunction(*earlier_equal, _after(key, last_values[i])))
    exact = disjunction(*branches)
    leading = _leading_range(order_keys[0], last_values[0]) if len(order_keys) > 1 else None
    return exact if leading is None or exact == FALSE else conjunction(leading, exact)


def property_query(entity_set: EntitySet, prop: Property, key: soql.Condition) -> soql.Query:
    """The query for one property of the keyed entity (a property path). A property the source's
    field-level security hides from the user is not asked for: it reads as null (204), as in a collection."""
    fields = (ID,) if prop.field_security == HIDDEN else (ID, soql.Field((prop.name,)))
    return soql.Query(fields, entity_set.sobject, key, limit=1)
