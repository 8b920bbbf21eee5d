"""Building SOQL conditions with constant folding, so the SOQL the gateway prints stays readable.

``TRUE`` and ``FALSE`` are conditions every record meets or none does (every record has an Id);
``conjunction`` and ``disjunction`` flatten nested AND/OR and drop or short-circuit on those constants.
"""

from __future__ import annotations

from gateway.soql import syntax as soql

ID = soql.Field(("Id",))
TRUE: soql.Condition = soql.Comparison(ID, "!=", soql.NullLiteral())  # every record has an Id
FALSE: soql.Condition = soql.Comparison(ID, "=", soql.NullLiteral())


def conjunction(*items: soql.Condition) -> soql.Condition:
    flat: list[soql.Condition] = []
    for item in items:
        if item == FALSE:
            return FALSE
        if item == TRUE:
            continue
        flat.extend(item.items if isinstance(item, soql.And) else (item,))
    if not flat:
        return TRUE
    return flat[0] if len(flat) == 1 else soql.And(tuple(flat))


def disjunction(*items: soql.Condition) -> soql.Condition:
    flat: list[soql.Condition] = []
    for item in items:
        if item == TRUE:
            return TRUE
        if item == FALSE:
            continue
        flat.extend(item.items if isinstance(item, soql.Or) else (item,))
    if not flat:
        return FALSE
    return flat[0] if len(flat) == 1 else soql.Or(tuple(flat))
