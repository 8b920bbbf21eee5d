"""Which V2 format a request wants: Atom (the default) or JSON verbose.

``$format`` wins over ``Accept``. ``$format`` takes ``atom``, ``xml``, ``json`` or a media type;
``Accept`` is read in order of preference (``q``): ``application/json`` → JSON; ``application/atom+xml``,
``application/xml``, ``text/xml``, ``*/*``, ``application/*`` or no ``Accept`` at all → Atom (what V2
services and Salesforce Connect's 2.0 adapter default to). Anything else is 406, never an answer in a form
the client did not ask for. ``$metadata`` is XML whatever is asked (V2 has no JSON metadata) unless the
client accepts only JSON, which is 406.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from gateway.odata.http.errors import ODataError

Format = Literal["atom", "json"]

_FORMAT_WORDS: dict[str, Format] = {
    "atom": "atom",
    "xml": "atom",
    "json": "json",
    "application/atom+xml": "atom",
    "application/xml": "atom",
    "text/xml": "atom",
    "application/json": "json",
}
_ACCEPTED: dict[str, Format] = {
    "application/json": "json",
    "application/atom+xml": "atom",
    "application/xml": "atom",
    "text/xml": "atom",
    "*/*": "atom",
    "application/*": "atom",
}


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0


def _accepted(accept: str) -> list[tuple[float, int, str]]:
    entries = []
    for position, entry in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in entry.split(";"))
        quality = _quality(params)
        if media and quality > 0:
            entries.append((-quality, position, media.lower()))
    return sorted(entries)


def v2_format(args: Mapping[str, str], accept: str | None, *, plain_text: bool = False) -> Format:
    """The format of a data response; ``plain_text`` when ``text/plain`` is also fine ($count, $value)."""
    word = args.get("$format")
    if word is not None:
        media = word.split(";")[0].strip().lower()
        if media in _FORMAT_WORDS:
            return _FORMAT_WORDS[media]
        raise ODataError(
            406, "NotAcceptable", f"$format={word} is not supported; use atom or json.", target="$format"
        )
    if not accept or not accept.strip():
        return "atom"
    for _, _, media in _accepted(accept):
        if media in _ACCEPTED:
            return _ACCEPTED[media]
        if plain_text and media in ("text/plain", "text/*"):
            return "atom"
    raise ODataError(
        406,
        "NotAcceptable",
        f"Accept: {accept} cannot be served; this service answers application/atom+xml or application/json.",
    )


def error_format(args: Mapping[str, str], accept: str | None) -> Format:
    """The format of an error body: what the request asked for, Atom's XML when that is unclear."""
    try:
        return v2_format(args, accept, plain_text=True)
    except ODataError:
        return "atom"
