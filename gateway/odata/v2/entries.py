"""V2 entries and feeds from Salesforce records, as JSON verbose and as Atom.

One ``EntryShaper`` per response picks each property's converter once (as the V4 shaper does) and writes
an entry either way:

- JSON verbose: ``{"__metadata": {"id", "uri", "type", "etag"}, "Name": …, "Contacts": {"__deferred":
  {"uri"}}}``; an expanded collection is ``{"results": [...]}``, an expanded lookup an entry or null.
- Atom: ``<entry m:etag=…>`` with ``id``, ``title``, ``updated``, ``author``, ``link rel="edit"``, one
  ``link`` per navigation property (``m:inline`` when expanded), ``category`` (the type) and
  ``content type="application/xml"`` holding ``m:properties`` (``m:type`` on non-strings, ``m:null``).

Feeds: ``{"d": {"results": [...], "__count": "12", "__next": "…"}}`` and ``<feed>`` with ``m:count`` first
and ``<link rel="next">`` last. The etag is the V4 one (``W/"<SystemModstamp>"``), so an ``If-Match`` works
the same on both faces.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from gateway.odata.http.resource_path import key_segment
from gateway.odata.model.entities import EntitySet
from gateway.odata.read.plan import ExpandPlan
from gateway.odata.v2.metadata import v2_type
from gateway.odata.v2.values import Converter, atom_converter, atom_date, json_converter
from gateway.odata.v2.xmlwriter import ATOM_NS, D_NS, M_NS, XML_NS, q
from gateway.odata.write.etags import etag_of

RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
ATOM_FEED = "application/atom+xml;type=feed"
ATOM_ENTRY = "application/atom+xml;type=entry"


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Field:
    name: str
    v2_type: str
    to_json: Converter | None
    to_atom: Converter


@dataclass(frozen=True)
class EntryShaper:
    """Shapes records of one entity set for one response."""

    entity_set: EntitySet
    service_root: str
    type_name: str  # qualified: "Salesforce.Account"
    fields: tuple[_Field, ...]
    expansions: tuple[tuple[ExpandPlan, EntryShaper], ...]
    deferred: tuple[tuple[str, bool], ...]  # (navigation name, collection) shown as links only
    with_etag: bool

    @classmethod
    def build(
        cls,
        entity_set: EntitySet,
        select: tuple[str, ...],
        expansions: tuple[ExpandPlan, ...],
        service_root: str,
        namespace: str,
        *,
        all_links: bool = True,
    ) -> EntryShaper:
        """``all_links``: show every navigation property not expanded as a deferred link (no ``$select``)."""
        fields = []
        for name in select:
            prop = entity_set.properties[name]
            fields.append(_Field(name, v2_type(prop), json_converter(prop), atom_converter(prop)))
        # An expansion without a $select of its own (all properties) shows its links, as an entry does.
        nested = tuple(
            (
                e,
                cls.build(e.target, e.select, (), service_root, namespace, all_links=e.selects_all),
            )
            for e in expansions
        )
        expanded = {e.name for e in expansions}
        deferred = tuple(
            (nav.name, nav.collection)
            for nav in entity_set.navigation.values()
            if all_links and nav.name not in expanded
        )
        return cls(
            entity_set,
            service_root,
            f"{namespace}.{entity_set.entity_type}",
            tuple(fields),
            nested,
            deferred,
            entity_set.property("SystemModstamp") is not None,
        )

    def uri(self, record: dict) -> str | None:
        key = record.get("Id")
        return None if key is None else f"{self.service_root}{self.entity_set.name}{key_segment(key)}"

    def etag(self, record: dict) -> str | None:
        return etag_of(record) if self.with_etag else None

    # --- JSON verbose ---

    def to_json(self, record: dict) -> dict:
        uri = self.uri(record)
        metadata: dict[str, Any] = {}
        if uri is not None:
            metadata["id"] = uri
            metadata["uri"] = uri
        metadata["type"] = self.type_name
        tag = self.etag(record)
        if tag is not None:
            metadata["etag"] = tag
        out: dict[str, Any] = {"__metadata": metadata}
        for field in self.fields:
            value = record.get(field.name)
            out[field.name] = value if value is None or field.to_json is None else field.to_json(value)
        for expansion, shaper in self.expansions:
            nested = record.get(expansion.name)
            if expansion.collection:
                rows = nested.get("records", []) if nested else []
                out[expansion.name] = {"results": [shaper.to_json(row) for row in rows]}
            else:
                out[expansion.name] = None if nested is None else shaper.to_json(nested)
        if uri is not None:
            for name, _ in self.deferred:
                out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
        return out

    # --- Atom ---

    def to_atom(self, record: dict, parent: ET.Element | None = None) -> ET.Element:
        tag = q(ATOM_NS, "entry")
        entry = ET.Element(tag) if parent is None else ET.SubElement(parent, tag)
        etag = self.etag(record)
        if etag is not None:
            entry.set(q(M_NS, "etag"), etag)
        uri = self.uri(record)
        key = record.get("Id")
        edit = None if key is None else f"{self.entity_set.name}{key_segment(key)}"
        ET.SubElement(entry, q(ATOM_NS, "id")).text = uri or ""
        ET.SubElement(entry, q(ATOM_NS, "title"), {"type": "text"})
        stamp = record.get("SystemModstamp")
        ET.SubElement(entry, q(ATOM_NS, "updated")).text = (atom_date(stamp) + "Z") if stamp else _now_text()
        author = ET.SubElement(entry, q(ATOM_NS, "author"))
        ET.SubElement(author, q(ATOM_NS, "name"))
        if edit is not None:
            ET.SubElement(
                entry, q(ATOM_NS, "link"), {"rel": "edit", "title": self.entity_set.entity_type, "href": edit}
            )
            for name, collection in self.deferred:
                self._nav_link(entry, edit, name, collection)
        for expansion, shaper in self.expansions:
            link = self._nav_link(entry, edit or "", expansion.name, expansion.collection)
            inline = ET.SubElement(link, q(M_NS, "inline"))
            nested = record.get(expansion.name)
            if expansion.collection:
                rows = nested.get("records", []) if nested else []
                feed = ET.SubElement(inline, q(ATOM_NS, "feed"))
                ET.SubElement(feed, q(ATOM_NS, "id")).text = f"{uri}/{expansion.name}" if uri else ""
                ET.SubElement(feed, q(ATOM_NS, "title"), {"type": "text"}).text = expansion.name
                ET.SubElement(feed, q(ATOM_NS, "updated")).text = _now_text()
                for row in rows:
                    shaper.to_atom(row, feed)
            elif nested is not None:
                shaper.to_atom(nested, inline)
        ET.SubElement(entry, q(ATOM_NS, "category"), {"term": self.type_name, "scheme": SCHEME})
        content = ET.SubElement(entry, q(ATOM_NS, "content"), {"type": "application/xml"})
        properties = ET.SubElement(content, q(M_NS, "properties"))
        for field in self.fields:
            atom_property(properties, field.name, field.v2_type, record.get(field.name), field.to_atom)
        return entry

    @staticmethod
    def _nav_link(entry: ET.Element, edit: str, name: str, collection: bool) -> ET.Element:
        return ET.SubElement(
            entry,
            q(ATOM_NS, "link"),
            {
                "rel": RELATED + name,
                "type": ATOM_FEED if collection else ATOM_ENTRY,
                "title": name,
                "href": f"{edit}/{name}",
            },
        )


def atom_property(
    parent: ET.Element | None, name: str, edm_type: str, value: Any, convert: Converter
) -> ET.Element:
    """``<d:Name m:type="…">text</d:Name>`` (``m:null="true"`` for None), under ``parent`` if given."""
    tag = q(D_NS, name)
    element = ET.Element(tag) if parent is None else ET.SubElement(parent, tag)
    if edm_type != "Edm.String":
        element.set(q(M_NS, "type"), edm_type)
    if value is None:
        element.set(q(M_NS, "null"), "true")
    else:
        element.text = convert(value)
    return element


# --- feeds --------------------------------------------------------------------------------------------


def json_feed(
    shaper: EntryShaper, records: list[dict], count: int | None, next_link: str | None
) -> dict[str, Any]:
    """``{"d": {"results": [...], "__count": "…", "__next": "…"}}``."""
    body: dict[str, Any] = {"results": [shaper.to_json(r) for r in records]}
    if count is not None:
        body["__count"] = str(count)
    if next_link is not None:
        body["__next"] = next_link
    return {"d": body}


def atom_feed(
    shaper: EntryShaper,
    records: list[dict],
    count: int | None,
    next_link: str | None,
    *,
    title: str,
    self_href: str,
) -> ET.Element:
    """``<feed>`` with ``m:count`` (when asked) and ``<link rel="next">`` (when more rows exist)."""
    feed = ET.Element(q(ATOM_NS, "feed"), {q(XML_NS, "base"): shaper.service_root})
    ET.SubElement(feed, q(ATOM_NS, "id")).text = shaper.service_root + self_href
    ET.SubElement(feed, q(ATOM_NS, "title"), {"type": "text"}).text = title
    ET.SubElement(feed, q(ATOM_NS, "updated")).text = _now_text()
    ET.SubElement(feed, q(ATOM_NS, "link"), {"rel": "self", "title": title, "href": self_href})
    if count is not None:
        ET.SubElement(feed, q(M_NS, "count")).text = str(count)
    for record in records:
        shaper.to_atom(record, feed)
    if next_link is not None:
        ET.SubElement(feed, q(ATOM_NS, "link"), {"rel": "next", "href": next_link})
    return feed


def atom_entry_document(shaper: EntryShaper, record: dict) -> ET.Element:
    """A single ``<entry>`` as a document (with ``xml:base``)."""
    entry = shaper.to_atom(record)
    entry.set(q(XML_NS, "base"), shaper.service_root)
    return entry
