"""Change tracking on the V4 face: ``Prefer: odata.track-changes``, ``@odata.deltaLink`` and delta responses.

- A collection GET with ``Prefer: odata.track-changes`` (``$select`` and ``$filter`` allowed; ``$orderby``,
  ``$expand`` and ``$search`` are 501) answers as usual, with ``Preference-Applied``; its pages are linked by
  ``$skiptoken=track.<token>`` and the last carries ``@odata.deltaLink``. ``$top=0`` answers an empty
  ``value`` and the delta link at once (Salesforce Connect's first request). With ``$top`` above 0 the
  preference is not applied (a delta of a truncated read would not describe the client's copy).
- ``<set>?$deltatoken=<token>`` answers the changes since the token was issued (``read/delta.py`` has the
  algorithm), paged by nextLinks of the same form; the last page carries the next delta link.
- Tokens are signed (``http/tokens.py``, ``GATEWAY_SECRET``) and carry the set, the options, the window,
  the time the source was last read and the user; any instance serves them. A token of another user or
  an altered one is 400; one older than the source's recycle-bin retention is 410 Gone.
- ``OData-MaxVersion: 4.01`` gets 4.01's forms (``@context``, ``@id``, ``@removed``, ``@nextLink``,
  ``@deltaLink``) and ``OData-Version: 4.01``; otherwise 4.0's (``$deletedEntity`` entries).

API calls: starting to track costs one call (the latest versions, read before the data) plus the page's
own call (none with ``$top=0``; one more with ``$count=true``); a delta page costs one call, a filtered one
too (one Composite request of two queries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Response

from gateway.odata.http import tokens
from gateway.odata.http.errors import ODataError, bad_request, not_implemented
from gateway.odata.http.headers import parse_prefer
from gateway.odata.http.request import ODataRequest
from gateway.odata.http.resource_path import key_segment
from gateway.odata.model.entities import EntitySet
from gateway.odata.read import delta, paging
from gateway.odata.read.bind import bind
from gateway.odata.read.capabilities import CAPABILITIES
from gateway.odata.read.execute import Page, count_rows, read_page, soql_text
from gateway.odata.read.paging import PageState
from gateway.odata.read.plan import ReadPlan, plan_read
from gateway.odata.read.query_options import QueryOptions, parse_query_options
from gateway.odata.service import RequestContext
from gateway.odata.v4.responses import json_response
from gateway.odata.v4.shape import JsonFormat, Shaper, count_value, select_clause
from gateway.source.connection import SourceError

TRACK_PREFERENCES = ("odata.track-changes", "track-changes")
TRACKED_PAGE = "track."  # prefix of the $skiptoken of a tracked read's nextLinks
# Each kind of token signs with a key of its own: neither is ever accepted as the other or as a $skiptoken.
PURPOSES = {"delta": "gateway.odata.delta.deltatoken", "track": "gateway.odata.delta.tracked-page"}
DELTA_OPTIONS = CAPABILITIES.change_tracking_options  # what a delta link keeps of the first request
REFUSED_WITH_TRACKING = {
    "$orderby": "delta links follow the order of changes; drop $orderby (sort the copy you keep instead)",
    "$expand": "delta links track one entity set; track each set you need separately, without $expand",
    "$search": "delta links cannot follow a free-text search; use $filter (or no filter) instead",
}
INVALID_TOKEN = "The {option} is invalid or was altered; follow the link exactly as returned."
OTHER_USER = "The {option} was issued to another user; start over with a full read of your own."
EXPIRED = (
    "The delta link has expired: the source keeps deleted records for {days} days and this link was "
    "last used longer ago, so deletions may have been missed. Start over with a full read "
    "(GET the entity set with Prefer: odata.track-changes) and use the new delta link."
)


def tracking_preference(headers: Mapping[str, str]) -> str | None:
    """The track-changes preference as the client spelled it (4.0 or 4.01 name), or None."""
    preferences = parse_prefer(headers.get("Prefer")).items
    return next((p.name for p in preferences if p.name in TRACK_PREFERENCES), None)


def handles(entity_set: EntitySet, args: Mapping[str, str], headers: Mapping[str, str]) -> bool:
    """True when this module answers the collection request: a delta link, a tracked read's next page, or
    a first request whose track-changes preference can be applied."""
    if "$deltatoken" in args or (args.get("$skiptoken") or "").startswith(TRACKED_PAGE):
        return True
    top = args.get("$top")
    return (
        "$skiptoken" not in args
        and tracking_preference(headers) is not None
        and CAPABILITIES.change_tracking
        and entity_set.change_tracking
        and (top is None or top.strip() == "0")
    )


def handle(ctx: RequestContext, req: ODataRequest, entity_set: EntitySet, fmt: JsonFormat) -> Response:
    tracked = _Tracked(ctx, req, entity_set, fmt)
    if "$deltatoken" in req.args:
        return tracked.delta_page()
    if "$skiptoken" in req.args:
        return tracked.next_page()
    return tracked.start()


def wants_401(headers: Mapping[str, str]) -> bool:
    try:
        return float((headers.get("OData-MaxVersion") or "4.0").strip()) >= 4.01
    except ValueError:
        return False


def _annotation(name: str, v401: bool) -> str:
    """``@odata.<name>`` in 4.0, ``@<name>`` in 4.01."""
    return f"@{name}" if v401 else f"@odata.{name}"


def _refuse_with_tracking(options: QueryOptions) -> None:
    given = {"$orderby": bool(options.orderby), "$expand": bool(options.expand), "$search": options.search}
    for option, advice in REFUSED_WITH_TRACKING.items():
        if given[option]:
            raise not_implemented(
                f"{option} cannot be combined with Prefer: odata.track-changes: {advice}.", target=option
            )


@dataclass(frozen=True)
class _Tracked:
    """One change-tracking request: its context, the request, the entity set and the JSON format."""

    ctx: RequestContext
    req: ODataRequest
    entity_set: EntitySet
    fmt: JsonFormat

    # --- tokens -------------------------------------------------------------------------------------

    @property
    def user(self) -> str:
        return self.ctx.principal.name

    def sign(self, state: dict) -> str:
        return tokens.sign(state, self.ctx.gateway.secret, PURPOSES[state["k"]])

    def open(self, token: str, kind: str, option: str) -> dict:
        """The state of a token of ``kind`` for this set: 400 when altered or foreign, 410 when expired."""
        try:
            state = tokens.verify(token, self.ctx.gateway.secret, PURPOSES[kind])
        except tokens.TokenError:
            raise bad_request(INVALID_TOKEN.format(option=option), target=option) from None
        if state.get("k") != kind or state.get("p") != self.entity_set.name:
            raise bad_request(INVALID_TOKEN.format(option=option), target=option)
        if state.get("u") != self.user:
            raise bad_request(OTHER_USER.format(option=option), target=option)
        issued = state.get("t")
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            raise bad_request(INVALID_TOKEN.format(option=option), target=option)
        gateway = self.ctx.gateway
        if delta.expired(issued, gateway.clock(), gateway.recycle_days):
            raise ODataError(410, "Gone", EXPIRED.format(days=gateway.recycle_days), option)
        return state

    @staticmethod
    def window(state: dict, option: str) -> delta.Window:
        try:
            return delta.window_from_dict(state.get("w") or {})
        except ValueError:
            raise bad_request(INVALID_TOKEN.format(option=option), target=option) from None

    def link(self, option: str, token: str) -> str:
        return f"{self.req.service_root}{quote(self.entity_set.name)}?{option}={token}"

    def delta_link(self, options: dict, window: delta.Window, issued: float) -> str:
        state = {
            "k": "delta",
            "p": self.entity_set.name,
            "o": options,
            "w": delta.window_to_dict(window.finished()),
            "t": issued,
            "u": self.user,
        }
        return self.link("$deltatoken", self.sign(state))

    # --- shared ---------------------------------------------------------------------------------------

    def plan(self, options: QueryOptions) -> ReadPlan:
        return plan_read(bind(self.entity_set, self.ctx.model(), options))

    def page_size(self) -> tuple[int, str | None]:
        return paging.page_size(self.req.headers.get("Prefer"), default=self.ctx.gateway.page_size)

    def shaper(self, plan: ReadPlan) -> Shaper:
        namespace = self.ctx.model().namespace
        return Shaper.build(self.entity_set, plan.select, (), self.fmt, self.req.service_root, namespace)

    def body(self, plan: ReadPlan, options: QueryOptions, suffix: str, v401: bool) -> dict[str, Any]:
        if self.fmt.metadata == "none":
            return {}
        selected = plan.select if options.select is not None else None
        fragment = f"{self.entity_set.name}{select_clause(selected, ())}{suffix}"
        return {_annotation("context", v401): f"{self.req.service_root}$metadata#{fragment}"}

    def respond(self, body: dict, v401: bool, applied: list[str]) -> Response:
        headers = {"Preference-Applied": ", ".join(applied)} if applied else {}
        if v401:
            headers["OData-Version"] = "4.01"
        return json_response(body, content_type=self.fmt.content_type, **headers)

    # --- starting to track: the full read ---------------------------------------------------------------

    def start(self) -> Response:
        options = parse_query_options(self.req.args)
        _refuse_with_tracking(options)
        plan = self.plan(options)
        source = self.ctx.source
        # The latest versions first: a change made while the data is read is then in the first delta.
        latest = source.query_all(soql_text(delta.latest_query(self.entity_set)))
        window = delta.start_window(latest.get("records", []))
        tracking = {"w": delta.window_to_dict(window), "t": self.ctx.gateway.clock()}
        position = PageState.first(self.entity_set.name, self.req.args.items())
        size, applied_size = self.page_size()
        if options.top == 0:
            page = Page([], False, None, count_rows(source, plan) if plan.count else None)
            applied_size = None
        else:
            page = read_page(source, plan, page_size=size, position=position)
        return self.read_response(plan, options, page, position.options, tracking, applied_size)

    def next_page(self) -> Response:
        token = self.req.args["$skiptoken"][len(TRACKED_PAGE) :]
        state = self.open(token, "track", "$skiptoken")
        try:
            position = PageState.from_dict(state.get("n") or {})
        except ODataError:
            raise bad_request(INVALID_TOKEN.format(option="$skiptoken"), target="$skiptoken") from None
        self.window(state, "$skiptoken")  # checked now, used by the last page
        options = parse_query_options(position.options)
        plan = self.plan(options)
        size, applied_size = self.page_size()
        page = read_page(self.ctx.source, plan, page_size=size, position=position)
        tracking = {"w": state["w"], "t": state["t"]}
        return self.read_response(plan, options, page, position.options, tracking, applied_size)

    def read_response(
        self,
        plan: ReadPlan,
        options: QueryOptions,
        page: Page,
        original: dict[str, str],
        tracking: dict,
        applied_size: str | None,
    ) -> Response:
        v401 = wants_401(self.req.headers)
        body = self.body(plan, options, "", v401)
        if plan.count and page.count is not None:
            body[_annotation("count", v401)] = count_value(page.count, self.fmt)
        shaper = self.shaper(plan)
        body["value"] = [shaper.shape(r) for r in page.records]
        if page.next is not None:
            state = {
                **tracking,
                "k": "track",
                "p": self.entity_set.name,
                "u": self.user,
                "n": page.next.to_dict(),
            }
            body[_annotation("nextLink", v401)] = self.link("$skiptoken", TRACKED_PAGE + self.sign(state))
        else:
            kept = {k: v for k, v in original.items() if k in DELTA_OPTIONS}
            window = delta.window_from_dict(tracking["w"])
            body[_annotation("deltaLink", v401)] = self.delta_link(kept, window, tracking["t"])
        preference = tracking_preference(self.req.headers) or TRACK_PREFERENCES[0]
        return self.respond(body, v401, [preference, *([applied_size] if applied_size else [])])

    # --- following a delta link -------------------------------------------------------------------------

    def delta_page(self) -> Response:
        state = self.open(self.req.args["$deltatoken"], "delta", "$deltatoken")
        window = self.window(state, "$deltatoken")
        if not isinstance(state.get("o"), dict) or not all(isinstance(v, str) for v in state["o"].values()):
            raise bad_request(INVALID_TOKEN.format(option="$deltatoken"), target="$deltatoken")
        if window.after is None:
            window = window.begin_read()
        options = parse_query_options(state["o"])
        plan = self.plan(options)
        size, applied_size = self.page_size()
        records, matching = self.run_queries(delta.page_queries(plan, window, size))
        page = delta.apply_page(records, matching, window, size)
        issued = self.ctx.gateway.clock()

        v401 = wants_401(self.req.headers)
        body = self.body(plan, options, "/$delta", v401)
        shaper = self.shaper(plan)
        body["value"] = [self.entry(shaper, entry, v401) for entry in page.entries]
        if page.more:
            next_state = {**state, "w": delta.window_to_dict(page.window), "t": issued}
            body[_annotation("nextLink", v401)] = self.link("$deltatoken", self.sign(next_state))
        else:
            body[_annotation("deltaLink", v401)] = self.delta_link(state["o"], page.window, issued)
        return self.respond(body, v401, [applied_size] if applied_size else [])

    def run_queries(self, queries: delta.DeltaQueries) -> tuple[list[dict], set[str] | None]:
        """The rows of one delta page: one queryAll, or one Composite request of two (one API call)."""
        source = self.ctx.source
        changes = soql_text(queries.changes)
        if queries.matching is None:
            return self.all_records(source.query_all(changes)), None
        matching = soql_text(queries.matching)
        subrequests = [
            {"method": "GET", "url": f"{source.data_path()}/queryAll/?q={quote(text)}", "referenceId": ref}
            for ref, text in (("changes", changes), ("matching", matching))
        ]
        answers = source.composite_request(subrequests).get("compositeResponse", [])
        bodies = []
        for answer in answers:
            if answer.get("httpStatusCode", 500) >= 400:
                raise _source_error(answer)
            bodies.append(answer.get("body") or {})
        if len(bodies) != 2:
            raise SourceError(
                502, "UNEXPECTED_RESPONSE", "The source answered a composite request incompletely."
            )
        return self.all_records(bodies[0]), {r["Id"] for r in self.all_records(bodies[1])}

    def all_records(self, result: dict) -> list[dict]:
        """Every record of a query result; further batches only where the org capped the batch size."""
        records = list(result.get("records", []))
        while not result.get("done", True) and result.get("nextRecordsUrl"):
            result = self.ctx.source.query_more(result["nextRecordsUrl"])
            records.extend(result.get("records", []))
        return records

    def entry(self, shaper: Shaper, entry: delta.Change | delta.Removal, v401: bool) -> dict:
        name = self.entity_set.name
        if isinstance(entry, delta.Change):
            shaped = shaper.shape(entry.record)
            if "@odata.id" in shaped:  # full metadata: already there, absolute
                return shaped
            return {_annotation("id", v401): name + key_segment(entry.record["Id"]), **shaped}
        entity_id = name + key_segment(entry.record_id)
        if v401:
            return {"@removed": {"reason": entry.reason}, "@id": entity_id}
        return {"@odata.context": f"$metadata#{name}/$deletedEntity", "id": entity_id, "reason": entry.reason}


def _source_error(answer: dict) -> SourceError:
    body = answer.get("body")
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    return SourceError(
        int(answer.get("httpStatusCode", 500)),
        str(first.get("errorCode", "UNKNOWN_EXCEPTION")),
        str(first.get("message", "The source refused a change-tracking query.")),
        first.get("fields"),
        body,
    )
