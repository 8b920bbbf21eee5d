"""Names the operation layer shares with the faces and its endpoints (no imports, so no circle)."""

ENDPOINTS = "operation"  # the blueprint of /health, /ready, /metrics
OPERATION_KEY = "operation"  # app.extensions key of the installed Operation
