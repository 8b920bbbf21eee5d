"""What the gateway can answer faithfully through SOQL, declared once.

The binder (``bind.py``) refuses with 501 whatever is not declared here, and ``$metadata`` writes its
Capabilities annotations from the same declaration (``v4/csdl.py``), so the two cannot disagree:

- ``$skip``: no — SOQL's OFFSET stops at 2,000 (``Capabilities.SkipSupported``);
- ``$search``: on entity sets the publication and the describe make searchable (``searches``), not inside
  ``$expand``, NOT only beside a positive term (``Capabilities.SearchRestrictions``, per entity set:
  ``v4/csdl.search_restrictions``);
- ``$expand``: one level, as SOQL relationship queries (``Capabilities.ExpandRestrictions/MaxLevels``);
- ``$filter``: the operators and functions in ``filter_functions`` (``Capabilities.FilterFunctions``);
  lambdas (any/all), arithmetic and other functions are not in the list and are refused;
- ``$compute``, ``$apply`` and the other options in ``UNSUPPORTED_OPTIONS`` of ``query_options.py``: no
  (beyond the ``Minimal`` conformance level declared; ``$apply`` would need the Aggregation vocabulary);
- ``$batch`` with change sets, continue-on-error, no references (``Capabilities.BatchSupport``);
- change tracking (``Prefer: odata.track-changes``, delta links): on entity sets whose object keeps
  ``SystemModstamp`` and answers ``queryAll`` (``EntitySet.change_tracking``), with ``$filter`` and
  ``$select`` only — ``$orderby``, ``$expand``, ``$search`` with it are 501 (``Capabilities.ChangeTracking``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.odata.model.entities import EntitySet

COMPARISON_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le")
LOGICAL_OPERATORS = ("and", "or", "not")
LIKE_FUNCTIONS = ("contains", "startswith", "endswith")
CASE_FUNCTIONS = ("tolower", "toupper")
DATE_PART_FUNCTIONS = ("year", "month", "day", "hour")


@dataclass(frozen=True)
class BatchSupport:
    supported: bool = True
    continue_on_error: bool = True
    references_in_request_bodies: bool = False
    references_across_change_sets: bool = False
    etag_references: bool = False
    request_dependency_conditions: bool = False
    formats: tuple[str, ...] = ("multipart/mixed", "application/json")


@dataclass(frozen=True)
class Capabilities:
    skip: bool = False
    top: bool = True
    count: bool = True
    search: bool = True  # where the publication and the describe allow it (read/search_expr.py)
    search_in_expand: bool = False
    # SOSL has only AND NOT: a NOT without a positive term beside it is refused (read/search_expr.py)
    search_unsupported_expressions: tuple[str, ...] = ("NOT",)
    select: bool = True
    expand_max_levels: int = 1
    count_in_expand: bool = False
    # Operators and functions $filter translates, in the order $metadata lists them.
    filter_functions: tuple[str, ...] = (
        *COMPARISON_OPERATORS,
        *LOGICAL_OPERATORS,
        "in",
        *LIKE_FUNCTIONS,
        *CASE_FUNCTIONS,
        *DATE_PART_FUNCTIONS,
    )
    # Intermediate conformance (OData 4.01 Part 1 §13.1.2) requires parameter aliases in $filter, which the
    # query parser does not offer; Minimal is the honest claim until it does. Without $skip it could never
    # be more than Intermediate.
    conformance_level: str = "Minimal"
    batch: BatchSupport = field(default_factory=BatchSupport)
    change_tracking: bool = True
    # The query options a tracked read may carry; the delta link keeps them (read/delta.py, v4/delta.py).
    change_tracking_options: tuple[str, ...] = ("$filter", "$select")

    def searches(self, entity_set: EntitySet) -> bool:
        """True when ``$search`` is answered on ``entity_set``: its publication (``searchable``) and the
        source's describe (``sobject_searchable``) both allow it."""
        return self.search and entity_set.searchable and entity_set.sobject_searchable

    def filters_with(self, name: str) -> bool:
        """True when ``name`` (an operator or function) is one $filter translates."""
        return name in self.filter_functions


CAPABILITIES = Capabilities()
