"""V2 error bodies: the same ``ODataError`` the core raises, in V2's shapes.

- JSON: ``{"error": {"code": "…", "message": {"lang": "en-US", "value": "…"}, "innererror": {"target": …,
  "details": [...]}}}`` (``innererror`` only when there is a target or details);
- XML: ``<m:error><m:code/><m:message xml:lang="en-US"/><m:innererror>…</m:innererror></m:error>`` with
  content type ``application/xml``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gateway.odata.http.errors import ODataError
from gateway.odata.v2.xmlwriter import M_NS, XML_NS, q, to_xml

LANG = "en-US"


def error_json(error: ODataError) -> dict:
    body: dict = {"code": error.code, "message": {"lang": LANG, "value": error.message}}
    inner: dict = {}
    if error.target is not None:
        inner["target"] = error.target
    if error.details:
        inner["details"] = error.details
    if inner:
        body["innererror"] = inner
    return {"error": body}


def error_xml(error: ODataError) -> bytes:
    root = ET.Element(q(M_NS, "error"))
    ET.SubElement(root, q(M_NS, "code")).text = error.code
    ET.SubElement(root, q(M_NS, "message"), {q(XML_NS, "lang"): LANG}).text = error.message
    if error.target is not None or error.details:
        inner = ET.SubElement(root, q(M_NS, "innererror"))
        if error.target is not None:
            ET.SubElement(inner, q(M_NS, "target")).text = error.target
        for detail in error.details:
            item = ET.SubElement(inner, q(M_NS, "detail"))
            for key in ("code", "message", "target"):
                if detail.get(key) is not None:
                    ET.SubElement(item, q(M_NS, key)).text = str(detail[key])
    return to_xml(root)
