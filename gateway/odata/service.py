"""The OData service's state shared by every request and every face, and the context of one request.

``gateway/app.py`` builds one ``Gateway`` at start-up. A face authenticates each request and asks the
gateway for its ``RequestContext`` (``Gateway.context_for``): the source that request reads and writes
through, its principal and the model. Core functions take the source explicitly; the context is how a
face hands it over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from gateway.odata.http.access import Access, Principal
from gateway.odata.model.builder import build_model
from gateway.odata.model.describe_cache import DescribeCache
from gateway.odata.model.entities import Model
from gateway.odata.model.publication import Publication
from gateway.source.protocol import Source

DEFAULT_PAGE_SIZE = 200
DEFAULT_RECYCLE_DAYS = 15  # the source org's recycle-bin retention: how long delta links stay valid
MODEL_TTL_SECONDS = 15 * 60


@dataclass
class Gateway:
    """What every request needs: the source, the publication, the model, secrets and access rules."""

    source: Source
    publication: Publication
    describes: DescribeCache
    secret: bytes
    access: Access
    embedded: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    csrf: bool = False  # GATEWAY_CSRF=on: writes need a token from "X-CSRF-Token: Fetch"
    recycle_days: int = DEFAULT_RECYCLE_DAYS  # GATEWAY_RECYCLE_DAYS: older delta links are 410 Gone
    clock: Callable[[], float] = time.time  # seconds since the epoch; delta links record when they were used
    identity: Any = None  # identity.users.PerUserIdentity with GATEWAY_IDENTITY=per-user; None: named
    _model_cache: TTLCache = field(default_factory=lambda: TTLCache(maxsize=1, ttl=MODEL_TTL_SECONDS))
    _model_lock: threading.Lock = field(default_factory=threading.Lock)

    def model(self) -> Model:
        """The model, rebuilt (from cached describes) when it is older than the TTL."""
        with self._model_lock:
            model = self._model_cache.get("model")
            if model is None:
                model = build_model(self.publication, self.describes.describe)
                self._model_cache["model"] = model
            return model

    def context_for(self, principal: Principal) -> RequestContext:
        """The context of one request by ``principal``.

        With per-user identity (``gateway/identity/``) a data request calls this on the requesting user's
        copy of the gateway, whose ``source`` is that user's connection and whose model is theirs."""
        return RequestContext(self, principal, self.source)


@dataclass(frozen=True)
class RequestContext:
    """What one request works with: the gateway, who is asking, and the source to use for them."""

    gateway: Gateway
    principal: Principal
    source: Source

    def model(self) -> Model:
        return self.gateway.model()
