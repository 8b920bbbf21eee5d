"""The WSGI application for a gunicorn of your own: ``gunicorn wsgi:app`` serves the OData gateway at
``/odata/`` (``gateway serve`` runs the same app under gunicorn with chosen settings; prefer it).

Configured by the environment only: SF_* (the source org) or GATEWAY_DEMO=1 (the embedded demo org; with
neither, start-up stops with a message naming both), GATEWAY_METADATA (publication), GATEWAY_USERS /
GATEWAY_USERS_FILE / GATEWAY_API_KEYS (inbound access: always required here, as the address gunicorn binds
is not known to the app), GATEWAY_SECRET (paging tokens, the same on every instance), and the operation
variables of docs/operating.md (GATEWAY_BASE_URL, FORWARDED_ALLOW_IPS, GATEWAY_API_RESERVE, ...).
The standalone local org is ``gateway localorg`` (or ``gateway.cli.localorg_from_env().app``).
"""

from gateway.app import gateway_from_env

app = gateway_from_env()
