"""Per-user identity (``GATEWAY_IDENTITY=per-user``): each consuming-org user reads and writes the source org
as themselves, so the source org's sharing and field-level security apply.

- ``config.py``: ``IdentityConfig`` from the environment (mode, user map, connected app for JWT).
- ``users.py``: ``PerUserIdentity``: who a request is in the source org (a passed-through OAuth token
  checked with userinfo, or a mapped Basic user signed in by the JWT bearer grant) and that user's model.
- ``user_model.py``: the published model as one user's own describe lets them see it.
- ``request.py``: ``authenticate_request``: the one call a face makes per request.
"""
