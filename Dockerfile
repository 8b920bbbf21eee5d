# The gateway as a container: `gateway serve` (gunicorn) serves the OData service at /odata/, configured by
# environment variables: SF_* (the source org; without them the container refuses to start unless
# GATEWAY_DEMO=1), GATEWAY_USERS / GATEWAY_API_KEYS (required: the container listens on 0.0.0.0),
# GATEWAY_SECRET (the same on every instance), GATEWAY_BASE_URL (the public URL), GATEWAY_REDIS_URL (rate
# limit and cache shared by several instances); every variable is in docs/operating.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    WORKERS=1 \
    THREADS=32 \
    GATEWAY_METADATA=/app/metadata

WORKDIR /app
COPY pyproject.toml README.md wsgi.py ./
COPY gateway ./gateway
COPY metadata ./metadata
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 gateway
USER gateway

EXPOSE 8080
# Liveness: /health needs no credentials and costs no API call (/ready checks the org, at most every 30 s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'], timeout=4)" || exit 1
# Shell form so $PORT and friends are expanded at start; exec hands signals to gunicorn.
CMD exec gateway serve --host 0.0.0.0 --port "${PORT}" --workers "${WORKERS}" --threads "${THREADS}"
