"""Names the operation layer shares with the faces and its endpoints (no imports, so no circle)."""

ENDPOINTS = "operation"  # the blueprint of /health, /ready, /metrics
PRINCIPAL_KEY = "gateway.principal"  # WSGI environ key: the principal the operation layer authenticated
OPERATION_KEY = "operation"  # app.extensions key of the installed Operation
