"""Change tracking: the delta algorithm behind ``@odata.deltaLink``, as plain functions (no Flask, no HTTP).

Where changes come from. Salesforce sets ``SystemModstamp`` on every write, deletes included, and
``queryAll`` returns deleted records (``IsDeleted = true``) while they sit in the recycle bin. One
``queryAll`` ordered by ``SystemModstamp, Id`` therefore lists, in the order they happened, every record
created, updated or deleted after a point in time: live rows are changes, deleted rows are deletions.

Telling "changed, still matches the filter" from "changed so it left the filter". SOQL cannot return a
condition's value as a column, and evaluating the OData filter again in the gateway would be a second
implementation of SOQL's semantics (case-insensitive comparisons, picklists, dates) that could disagree
with the org. So, when the set is filtered, the page is one Composite request (one API call) of two
``queryAll`` subrequests over the same window, in the same order, with the same LIMIT: all changed rows,
and the Ids of those among them that match the filter. Because the second is a subset of the first in the
same order, its first LIMIT rows hold every matching row of the first's window. A changed live row in
the second is a change; one that is not was changed so it does not match (it left the filter, or never
matched): reported removed with reason ``changed`` — a client that does not hold it ignores that. Every
deleted row is reported deleted, whether its last values matched the filter or not (a record can leave
the filter and be deleted between two polls).

The high-water mark and the overlap window. The mark is the highest ``SystemModstamp`` seen. A read asks
for ``SystemModstamp > mark - OVERLAP``: a transaction that commits late can make rows visible whose
stamp is below rows already delivered, and the org's application servers' clocks differ slightly; the
overlap catches both, as long as they stay within ``OVERLAP`` (5 minutes). To deliver nothing twice,
the token remembers the record versions (Id and ``SystemModstamp``, as a 48-bit digest) delivered within
the overlap window, at most ``MAX_SEEN`` of the most recent; rows whose version is remembered are
skipped. When more than ``MAX_SEEN`` records change within ``OVERLAP``, the oldest of them may be
delivered again (an update with the same values): a duplicate, never a loss.

Paging. Rows are read after the position ``(SystemModstamp, Id)`` of the last row processed, with a
LIMIT of the page size plus the remembered versions plus one, so that skipped rows never leave a page
short, and a poll with nothing new costs exactly one API call. A record changed while a delta is read
page by page moves to the end of the order (its new stamp) and is delivered again there, with its new
values. Records created and deleted between two polls are seen deleted (``queryAll``) — or, purged,
not at all — never as live.

Expiry. Deletions are visible only while the recycle bin holds them (15 days by default), so a token
whose last read of the source is older than that may have missed deletions: ``expired`` says so and the
face answers 410 Gone.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gateway.odata.model.entities import EntitySet, Property
from gateway.odata.read.plan import OrderKey, ReadPlan, keyset_condition
from gateway.soql import syntax as soql
from gateway.soql.conditions import ID, conjunction

OVERLAP = dt.timedelta(minutes=5)
MAX_SEEN = 100
MAX_QUERY_ROWS = 2000  # one batch of a SOQL query: a delta page is one API call
MAX_DELTA_PAGE = MAX_QUERY_ROWS - MAX_SEEN - 1
DIGEST_SIZE = 6
DEFAULT_RETENTION_DAYS = 15  # Salesforce's recycle bin

STAMP = soql.Field(("SystemModstamp",))
IS_DELETED = soql.Field(("IsDeleted",))
_STAMP_PROPERTY = Property("SystemModstamp", "datetime", "Edm.DateTimeOffset", nullable=False)
_ID_PROPERTY = Property("Id", "id", "Edm.String", nullable=False, max_length=18)
DELTA_ORDER = (OrderKey(STAMP, _STAMP_PROPERTY), OrderKey(ID, _ID_PROPERTY))
_SEEN_ENTRY = struct.Struct(">I6s")  # milliseconds below the mark, version digest


def parse_stamp(text: str) -> dt.datetime:
    """A Salesforce datetime (``2024-03-01T12:00:00.000+0000``) or a token's (``...Z``), aware UTC."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def stamp_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def version_digest(record_id: str, stamp: dt.datetime) -> bytes:
    """A short digest of one version of one record (15-character Id and stamp to the millisecond)."""
    text = f"{record_id[:15]}|{stamp_text(stamp)}".encode()
    return hashlib.blake2b(text, digest_size=DIGEST_SIZE).digest()


@dataclass(frozen=True)
class Seen:
    """A record version already delivered (or already in the client's copy)."""

    stamp: dt.datetime
    digest: bytes


@dataclass(frozen=True)
class Window:
    """Where change tracking stands: what a delta link (or a delta nextLink) carries.

    ``mark``: the highest SystemModstamp seen (None: nothing yet, read from the beginning).
    ``low``: the exclusive lower bound of the delta read in progress (``mark - OVERLAP`` when it began).
    ``after``: (SystemModstamp, Id) of the last row processed by the read in progress (None: its start).
    ``seen``: versions delivered within the overlap window, newest first.
    """

    mark: dt.datetime | None
    seen: tuple[Seen, ...] = ()
    low: dt.datetime | None = None
    after: tuple[str, str] | None = None

    def begin_read(self) -> Window:
        """The window at the start of a delta read: everything after ``mark - OVERLAP``."""
        low = None if self.mark is None else self.mark - OVERLAP
        return replace(self, low=low, after=None)

    def finished(self) -> Window:
        """The window for the next delta link, once a read has reached its end."""
        return replace(self, low=None, after=None)


def _pruned(seen: Iterable[Seen], mark: dt.datetime | None) -> tuple[Seen, ...]:
    if mark is None:
        return ()
    recent = [s for s in seen if s.stamp > mark - OVERLAP]
    recent.sort(key=lambda s: s.stamp, reverse=True)
    unique: dict[bytes, Seen] = {}
    for entry in recent:
        unique.setdefault(entry.digest, entry)
    return tuple(unique.values())[:MAX_SEEN]


# --- the start of tracking ----------------------------------------------------------------------------


def latest_query(entity_set: EntitySet) -> soql.Query:
    """The most recent versions of the object (deleted ones included, so run it with queryAll)."""
    return soql.Query(
        select=(ID, STAMP),
        sobject=entity_set.sobject,
        order_by=(soql.OrderBy(STAMP, True), soql.OrderBy(ID, True)),
        limit=MAX_SEEN,
    )


def start_window(latest: list[dict]) -> Window:
    """The window when tracking starts, from ``latest_query``'s rows: the mark is the newest stamp, and the
    versions within the overlap window count as known (the read that follows delivers them, or they do not
    match it), so the first delta does not repeat them. Run the latest query *before* reading the data:
    a change between the two is then delivered by the first delta (perhaps once more), never lost."""
    versions = [(r["Id"], parse_stamp(r["SystemModstamp"])) for r in latest]
    if not versions:
        return Window(None)
    mark = max(stamp for _, stamp in versions)
    return Window(mark, _pruned((Seen(s, version_digest(i, s)) for i, s in versions), mark))


# --- one delta page -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeltaQueries:
    changes: soql.Query  # every changed row of the window (queryAll)
    matching: soql.Query | None  # the Ids among them that match the filter (queryAll); None: no filter


def delta_page_size(requested: int) -> int:
    return max(1, min(requested, MAX_DELTA_PAGE))


def page_queries(plan: ReadPlan, window: Window, page_size: int) -> DeltaQueries:
    """The queries of one delta page of ``plan`` (its filter and selection) in ``window``."""
    conditions: list[soql.Condition] = []
    if window.low is not None:
        conditions.append(soql.Comparison(STAMP, ">", soql.DateTimeLiteral(window.low)))
    if window.after is not None:
        conditions.append(keyset_condition(DELTA_ORDER, window.after))
    where = conjunction(*conditions) if conditions else None
    order_by = tuple(soql.OrderBy(k.field) for k in DELTA_ORDER)
    limit = delta_page_size(page_size) + len(window.seen) + 1
    fields = dict.fromkeys([ID, IS_DELETED, STAMP])
    fields.update(dict.fromkeys(f for f in plan.query.select if isinstance(f, soql.Field)))
    changes = soql.Query(tuple(fields), plan.query.sobject, where, order_by, limit)
    matching = None
    if plan.query.where is not None:
        condition = plan.query.where if where is None else conjunction(where, plan.query.where)
        matching = soql.Query((ID,), plan.query.sobject, condition, order_by, limit)
    return DeltaQueries(changes, matching)


@dataclass(frozen=True)
class Change:
    """A record created or updated (its current values)."""

    record: dict


@dataclass(frozen=True)
class Removal:
    """A record deleted (``reason`` "deleted") or changed so it no longer matches (``reason`` "changed")."""

    record_id: str
    reason: str


@dataclass(frozen=True)
class DeltaPage:
    entries: list[Change | Removal]
    window: Window  # where the next page starts (more) or the next delta link's window (not more)
    more: bool


def apply_page(
    records: list[dict], matching_ids: set[str] | None, window: Window, page_size: int
) -> DeltaPage:
    """The entries of one delta page from the rows of ``page_queries`` (in their order)."""
    size = delta_page_size(page_size)
    known = {s.digest for s in window.seen}
    seen = list(window.seen)
    mark = window.mark
    after = window.after
    entries: list[Change | Removal] = []
    more = False
    for record in records:
        if len(entries) == size:
            more = True
            break
        stamp = parse_stamp(record["SystemModstamp"])
        after = (record["SystemModstamp"], record["Id"])
        mark = stamp if mark is None or stamp > mark else mark
        digest = version_digest(record["Id"], stamp)
        if digest in known:
            continue
        known.add(digest)
        seen.append(Seen(stamp, digest))
        if record.get("IsDeleted"):
            entries.append(Removal(record["Id"], "deleted"))
        elif matching_ids is None or record["Id"] in matching_ids:
            entries.append(Change(record))
        else:
            entries.append(Removal(record["Id"], "changed"))
    next_window = Window(mark, _pruned(seen, mark), window.low, after)
    return DeltaPage(entries, next_window if more else next_window.finished(), more)


# --- tokens ---------------------------------------------------------------------------------------------


def expired(issued: float, now: float, retention_days: int = DEFAULT_RETENTION_DAYS) -> bool:
    """True when the source was last read for a token longer ago than deleted records are kept."""
    return now - issued > retention_days * 86400


def window_to_dict(window: Window) -> dict:
    """JSON-safe form of a window (for a signed token); the seen versions are packed, base64url."""
    state: dict = {"m": None if window.mark is None else stamp_text(window.mark)}
    if window.seen and window.mark is not None:
        packed = b"".join(_SEEN_ENTRY.pack(_millis(window.mark - s.stamp), s.digest) for s in window.seen)
        state["s"] = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    if window.low is not None:
        state["l"] = stamp_text(window.low)
    if window.after is not None:
        state["a"] = list(window.after)
    return state


def window_from_dict(state: dict) -> Window:
    """The window of a token's state; ValueError when it is not one (a token of another kind)."""
    try:
        mark = None if state["m"] is None else parse_stamp(state["m"])
        low = parse_stamp(state["l"]) if state.get("l") is not None else None
        after = state.get("a")
        if after is not None:
            if not (isinstance(after, list) and len(after) == 2 and all(isinstance(v, str) for v in after)):
                raise ValueError("after")
            parse_stamp(after[0])
            after = (after[0], after[1])
        seen: list[Seen] = []
        text = state.get("s")
        if text is not None:
            if mark is None or not isinstance(text, str):
                raise ValueError("seen")
            packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if len(packed) % _SEEN_ENTRY.size:
                raise ValueError("seen")
            for millis, digest in _SEEN_ENTRY.iter_unpack(packed):
                seen.append(Seen(mark - dt.timedelta(milliseconds=millis), digest))
    except (KeyError, TypeError, AttributeError, binascii.Error, struct.error) as error:
        raise ValueError(str(error)) from None
    return Window(mark, tuple(seen), low, after)


def _millis(delta: dt.timedelta) -> int:
    return max(0, min(int(delta / dt.timedelta(milliseconds=1)), 2**32 - 1))
