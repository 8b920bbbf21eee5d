"""Content negotiation and protocol headers: JSON metadata level, IEEE754Compatible, OData-MaxVersion.

``$format`` wins over ``Accept``. Anything the service cannot produce is refused (406 for formats, 400 for
an ``OData-MaxVersion`` below 4.0) rather than answered in a form the client did not ask for.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.odata.http.errors import ODataError, bad_request
from gateway.odata.v4.shape import JsonFormat

_METADATA_LEVELS = ("minimal", "full", "none")


def _media_params(media: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in media.split(";")]
    params = {}
    for part in parts[1:]:
        if "=" in part:
            key, _, value = part.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
    return parts[0].lower(), params


def _json_format(params: dict[str, str]) -> JsonFormat:
    level = params.get("odata.metadata", params.get("metadata", "minimal")).lower()
    if level not in _METADATA_LEVELS:
        raise bad_request(f"odata.metadata={level} is not one of minimal, full, none.", target="$format")
    ieee = params.get("ieee754compatible", "false").lower() == "true"
    return JsonFormat(level, ieee)


def json_format(args: Mapping[str, str], accept: str | None) -> JsonFormat:
    """The JSON format a data request wants; 406 when it wants something other than JSON."""
    fmt = args.get("$format")
    if fmt is not None:
        media, params = _media_params(fmt)
        if media in ("json", "application/json"):
            return _json_format(params)
        raise ODataError(
            406, "NotAcceptable", f"$format={fmt} is not supported; this service answers JSON ($format=json)."
        )
    if not accept:
        return JsonFormat()
    acceptable = False
    for entry in accept.split(","):
        media, params = _media_params(entry)
        if params.get("q") == "0":
            continue
        if media in ("application/json", "application/*", "*/*"):
            return _json_format(params)
        if media in ("text/plain",):
            acceptable = True
    if acceptable:
        return JsonFormat()
    raise ODataError(406, "NotAcceptable", f"Accept: {accept} cannot be served; this service answers JSON.")


def metadata_wants_json(args: Mapping[str, str], accept: str | None) -> bool:
    """``$metadata`` is XML unless JSON is asked for explicitly (``$format=json`` or only JSON accepted)."""
    fmt = args.get("$format")
    if fmt is not None:
        media, _ = _media_params(fmt)
        if media in ("json", "application/json"):
            return True
        if media in ("xml", "application/xml"):
            return False
        raise ODataError(406, "NotAcceptable", f"$format={fmt}: $metadata is served as xml or json.")
    if not accept:
        return False
    medias = [_media_params(e)[0] for e in accept.split(",")]
    if any(m in ("application/xml", "text/xml", "*/*", "application/*") for m in medias):
        return False
    return "application/json" in medias


def check_max_version(headers: Mapping[str, str]) -> None:
    """OData-MaxVersion below 4.0 cannot be honoured: this is an OData v4 service."""
    value = headers.get("OData-MaxVersion")
    if not value:
        return
    try:
        major = float(value.strip())
    except ValueError:
        raise bad_request(f"OData-MaxVersion: {value} is not a version number.") from None
    if major < 4.0:
        raise bad_request(f"OData-MaxVersion {value} cannot be honoured: this service speaks OData 4.0.")
