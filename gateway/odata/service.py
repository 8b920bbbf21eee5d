"""The OData service's state shared by every request and every face: source, publication, model, secrets.

``gateway/app.py`` builds one ``Gateway`` at start-up; a face (``v4/``) reads it per request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from gateway.odata.http.access import Access
from gateway.odata.model.builder import build_model
from gateway.odata.model.describe_cache import DescribeCache
from gateway.odata.model.entities import Model
from gateway.odata.model.publication import Publication

DEFAULT_PAGE_SIZE = 200
MODEL_TTL_SECONDS = 15 * 60


@dataclass
class Gateway:
    """What every request needs: the source, the publication, the model, secrets and access rules."""

    source: Any
    publication: Publication
    describes: DescribeCache
    secret: bytes
    access: Access
    embedded: bool = False
    page_size: int = DEFAULT_PAGE_SIZE
    csrf: bool = False  # GATEWAY_CSRF=on: writes need a token from "X-CSRF-Token: Fetch"
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
