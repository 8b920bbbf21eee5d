"""SOQL's relative date literals (``TODAY``, ``LAST_MONTH``, ``N_DAYS_AGO:3`` …) as day ranges.

``day_range(name, n, today)`` gives the half-open range ``[start, end)`` of calendar days a literal stands
for, as Salesforce's "Date Formats and Date Literals" page defines them, for an org whose locale starts
the week on Sunday (en_US) and whose fiscal year is the calendar year (Salesforce's defaults):

- ``LAST_N_DAYS:n`` includes today (n + 1 days); ``NEXT_N_DAYS:n`` starts tomorrow (n days);
  ``LAST_90_DAYS`` / ``NEXT_90_DAYS`` are ``LAST_N_DAYS:90`` / ``NEXT_N_DAYS:90``;
- ``LAST_N_WEEKS:n`` (and months, quarters, years) are the n whole periods before the current one;
  ``NEXT_N_…:n`` the n whole periods after it; the current period belongs to neither;
- ``N_DAYS_AGO:n`` (weeks, months, quarters, years) is the one whole period n periods before the current.

Ranges that would leave the calendar (``LAST_N_DAYS:2000000``) are clipped to it: no stored date lies
outside it, so the answer is the same. ``n`` beyond a 32-bit integer is Salesforce's MALFORMED_QUERY.
"""

from __future__ import annotations

import datetime as dt

MAX_N = 2_147_483_647
FIRST_DAY = dt.date.min
END_DAY = dt.date.max  # the range end is exclusive; this day itself is never stored in practice

# name -> (unit, offset of the first period from the current one, number of periods); n fills the gaps
_FIXED = {
    "TODAY": ("day", 0, 1),
    "YESTERDAY": ("day", -1, 1),
    "TOMORROW": ("day", 1, 1),
    "THIS_WEEK": ("week", 0, 1),
    "LAST_WEEK": ("week", -1, 1),
    "NEXT_WEEK": ("week", 1, 1),
    "THIS_MONTH": ("month", 0, 1),
    "LAST_MONTH": ("month", -1, 1),
    "NEXT_MONTH": ("month", 1, 1),
    "THIS_QUARTER": ("quarter", 0, 1),
    "LAST_QUARTER": ("quarter", -1, 1),
    "NEXT_QUARTER": ("quarter", 1, 1),
    "THIS_YEAR": ("year", 0, 1),
    "LAST_YEAR": ("year", -1, 1),
    "NEXT_YEAR": ("year", 1, 1),
    "THIS_FISCAL_QUARTER": ("quarter", 0, 1),
    "LAST_FISCAL_QUARTER": ("quarter", -1, 1),
    "NEXT_FISCAL_QUARTER": ("quarter", 1, 1),
    "THIS_FISCAL_YEAR": ("year", 0, 1),
    "LAST_FISCAL_YEAR": ("year", -1, 1),
    "NEXT_FISCAL_YEAR": ("year", 1, 1),
    "LAST_90_DAYS": ("day", -90, 91),
    "NEXT_90_DAYS": ("day", 1, 90),
}
_UNITS = {
    "DAYS": "day",
    "WEEKS": "week",
    "MONTHS": "month",
    "QUARTERS": "quarter",
    "YEARS": "year",
    "FISCAL_QUARTERS": "quarter",
    "FISCAL_YEARS": "year",
}
_WITH_N = {
    **{f"LAST_N_{word}": unit for word, unit in _UNITS.items()},
    **{f"NEXT_N_{word}": unit for word, unit in _UNITS.items()},
    **{f"N_{word}_AGO": unit for word, unit in _UNITS.items()},
}

NAMES = frozenset(_FIXED)
"""Date literals written alone: ``TODAY``, ``LAST_MONTH``, ``THIS_FISCAL_YEAR`` …"""
NAMES_WITH_N = frozenset(_WITH_N)
"""Date literals that take a number: ``LAST_N_DAYS:n``, ``N_MONTHS_AGO:n`` …"""


def _shift_months(month_index: int) -> dt.date | None:
    year, month = divmod(month_index, 12)
    if year < FIRST_DAY.year or year > END_DAY.year:
        return None
    return dt.date(year, month + 1, 1)


def _start_of(unit: str, today: dt.date, periods: int) -> dt.date:
    """The first day of the period ``periods`` away from the current one (clipped to the calendar)."""
    if unit in ("day", "week"):
        first = today.toordinal()
        if unit == "week":
            first -= (today.weekday() + 1) % 7  # weeks start on Sunday
            periods *= 7
        ordinal = first + periods
        if ordinal < FIRST_DAY.toordinal():
            return FIRST_DAY
        if ordinal > END_DAY.toordinal():
            return END_DAY
        return dt.date.fromordinal(ordinal)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    current = today.year * 12 + (today.month - 1) // months * months
    shifted = _shift_months(current + periods * months)
    if shifted is None:
        return FIRST_DAY if periods < 0 else END_DAY
    return shifted


def day_range(name: str, n: int | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """``[start, end)`` of the date literal ``name`` (``n`` for the ``:n`` forms) seen from ``today``."""
    if name in _FIXED:
        unit, offset, count = _FIXED[name]
    else:
        unit, n = _WITH_N[name], n or 0
        if name.startswith("LAST_N_"):
            offset, count = -n, n
            if unit == "day":  # LAST_N_DAYS includes today
                count += 1
        elif name.startswith("NEXT_N_"):
            offset, count = 1, n
        else:  # N_…_AGO
            offset, count = -n, 1
    return _start_of(unit, today, offset), _start_of(unit, today, offset + count)
