"""The WSGI application for gunicorn: ``gunicorn wsgi:app``.

For now ``app`` is the local org, configured by LOCALORG_* environment variables (LOCALORG_SCHEMA,
LOCALORG_DATA, LOCALORG_DB, LOCALORG_ROWS, LOCALORG_TOKEN, LOCALORG_API_LIMIT, LOCALORG_REQUEST_LOG,
LOCALORG_URL), the same settings as the options of ``gateway localorg``. Issue 3 turns it into the OData
gateway. An in-memory local org lives in one process: run it with one worker (and several threads).
"""

from gateway.cli import localorg_from_env

app = localorg_from_env().app
