"""The WSGI application for gunicorn: ``gunicorn wsgi:app`` serves the OData gateway at ``/odata/``.

Configured by the environment only: SF_* (the source org; none → the embedded demo local org),
GATEWAY_METADATA (publication), GATEWAY_USERS / GATEWAY_USERS_FILE / GATEWAY_API_KEYS (inbound access),
GATEWAY_SECRET (paging tokens, the same on every instance) and GATEWAY_HOST (the address gunicorn binds;
default 0.0.0.0, which requires credentials — anonymous access exists only for the demo on loopback).
The standalone local org is ``gateway localorg`` (or ``gateway.cli.localorg_from_env().app``).
"""

from gateway.app import gateway_from_env

app = gateway_from_env()
