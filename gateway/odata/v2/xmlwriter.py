"""A small XML writer for the V2 documents: ElementTree elements out with the usual OData V2 prefixes.

ElementTree's own serializer cannot put a default namespace beside unqualified attributes and invents
``ns0`` prefixes; clients of OData V2 expect ``edmx``, ``m``, ``d`` and an unprefixed Atom or EDM namespace.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

EDMX_NS = "http://schemas.microsoft.com/ado/2007/06/edmx"
EDM_NS = "http://schemas.microsoft.com/ado/2008/09/edm"
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
D_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices"
SAP_NS = "http://www.sap.com/Protocols/SAPData"
APP_NS = "http://www.w3.org/2007/app"
ATOM_NS = "http://www.w3.org/2005/Atom"

XML_NS = "http://www.w3.org/XML/1998/namespace"
PREFIXES = {
    XML_NS: "xml",
    EDMX_NS: "edmx",
    M_NS: "m",
    D_NS: "d",
    SAP_NS: "sap",
    APP_NS: "app",
    ATOM_NS: "atom",
}


# Characters XML 1.0 cannot carry at all (not even escaped); a Salesforce text value may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry replaced by U+FFFD, so a document stays
    well-formed whatever the data holds."""
    return _NOT_XML.sub("\ufffd", text)


def q(namespace: str, name: str) -> str:
    """The ElementTree name of ``name`` in ``namespace``."""
    return f"{{{namespace}}}{name}"


def _name(qualified: str, prefixes: dict[str, str]) -> str:
    if not qualified.startswith("{"):
        return qualified
    uri, _, local = qualified[1:].partition("}")
    prefix = prefixes[uri]
    return f"{prefix}:{local}" if prefix else local


_TEXT_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\x00-\x1f\ufffe\uffff\ud800-\udfff]')


def _text(text: str) -> str:
    if not _TEXT_SPECIAL.search(text):  # the common case: nothing to escape
        return text
    return escape(xml_text(text))


def _attribute(value: str) -> str:
    if not _ATTRIBUTE_SPECIAL.search(value):
        return '"' + value + '"'
    return quoteattr(xml_text(value))


def _write(element: ET.Element, names: dict[str, str], prefixes: dict[str, str], out: list[str]) -> None:
    """``names`` caches qualified name → prefixed name across the whole document."""
    tag = element.tag
    name = names.get(tag) or names.setdefault(tag, _name(tag, prefixes))
    out.append("<" + name)
    for key, value in element.attrib.items():
        attribute = names.get(key) or names.setdefault(key, _name(key, prefixes))
        out.append(f" {attribute}={_attribute(value)}")
    text = element.text
    if text is None and not len(element):
        out.append("/>")
        return
    out.append(">")
    if text:
        out.append(_text(text))
    for child in element:
        _write(child, names, prefixes, out)
    out.append(f"</{name}>")


def to_xml(element: ET.Element, default_namespace: str | None = None) -> bytes:
    """An element tree as a UTF-8 XML document: ``default_namespace`` unprefixed, the others with their
    usual prefixes (edmx, m, d, sap, app, atom), those used declared on the root."""
    prefixes = {u: p for u, p in PREFIXES.items() if u != default_namespace}
    if default_namespace is not None:
        prefixes = {default_namespace: "", **prefixes}
    used = {n[1:].partition("}")[0] for e in element.iter() for n in (e.tag, *e.attrib) if n[0] == "{"}
    declarations = "".join(
        f" xmlns:{prefix}={quoteattr(uri)}" if prefix else f" xmlns={quoteattr(uri)}"
        for uri, prefix in prefixes.items()
        if uri in used and uri != XML_NS
    )
    out: list[str] = []
    _write(element, {}, prefixes, out)
    first = out[0]  # "<name": the root's declarations follow its name
    out[0] = first + declarations
    return ('<?xml version="1.0" encoding="utf-8"?>' + "".join(out)).encode("utf-8")
