"""Where the gateway is, as its clients see it: ``GATEWAY_BASE_URL`` and trusted proxies.

Every absolute URL the gateway writes (``@odata.context``, nextLinks, ``Location``, ``OData-EntityId``) is
built from the request's scheme, host and script root. This WSGI middleware decides them before any face
runs:

- With ``GATEWAY_BASE_URL`` (``https://example.com/gw``) they are that URL's, whatever ``Host`` or
  ``X-Forwarded-*`` say; a path prefix is the script root (stripped from the path when the proxy kept it).
- Without it, ``X-Forwarded-For/-Proto/-Host/-Port/-Prefix`` are applied (werkzeug's ProxyFix, one hop)
  only when the peer is one of ``FORWARDED_ALLOW_IPS`` (addresses or networks, comma-separated, ``*`` for
  any); from anyone else they are removed, so a client cannot make the gateway write links to elsewhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from werkzeug.middleware.proxy_fix import ProxyFix

_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
              "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")  # fmt: skip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class PublicUrlConfigError(ValueError):
    """GATEWAY_BASE_URL or FORWARDED_ALLOW_IPS cannot be used."""


def parse_base_url(text: str) -> tuple[str, str, str]:
    """``https://example.com/gw/`` → (``https``, ``example.com``, ``/gw``)."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise PublicUrlConfigError(
            f"GATEWAY_BASE_URL must be the gateway's public root URL such as https://example.com/gw, "
            f"not {text!r}"
        )
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def parse_trusted(text: str) -> list[Network] | None:
    """``FORWARDED_ALLOW_IPS`` → networks; None means every peer (``*``)."""
    networks: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item == "*":
            return None
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise PublicUrlConfigError(
                f"FORWARDED_ALLOW_IPS holds {item!r}, which is not an IP address or network"
            ) from None
    return networks


def _trusted(peer: str | None, networks: list[Network] | None) -> bool:
    if networks is None:
        return True
    try:
        address = ipaddress.ip_address((peer or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class PublicUrl:
    """WSGI middleware (see the module docstring)."""

    def __init__(self, app: Callable, *, base_url: str | None = None, trusted_proxies: str = ""):
        self.app = app
        self.base = parse_base_url(base_url) if base_url else None
        self.trusted = parse_trusted(trusted_proxies)
        self._proxied = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)

    @classmethod
    def from_env(cls, app: Callable, env: Mapping[str, str]) -> PublicUrl:
        return cls(
            app,
            base_url=env.get("GATEWAY_BASE_URL", "").strip() or None,
            trusted_proxies=env.get("FORWARDED_ALLOW_IPS", ""),
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self.base is not None:
            for name in _FORWARDED:
                environ.pop(name, None)
            scheme, host, prefix = self.base
            environ["wsgi.url_scheme"] = scheme
            environ["HTTP_HOST"] = host
            path = environ.get("PATH_INFO", "")
            if prefix and (path == prefix or path.startswith(prefix + "/")):
                environ["PATH_INFO"] = path[len(prefix) :]
            environ["SCRIPT_NAME"] = prefix
            return self.app(environ, start_response)
        if self.trusted == [] or not _trusted(environ.get("REMOTE_ADDR"), self.trusted):
            for name in _FORWARDED:
                environ.pop(name, None)
            return self.app(environ, start_response)
        return self._proxied(environ, start_response)
