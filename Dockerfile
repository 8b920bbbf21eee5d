# The gateway as a container: gunicorn serves wsgi:app (the OData service at /odata/), configured by
# environment variables: SF_* (the source org), GATEWAY_USERS / GATEWAY_API_KEYS (required: the container
# binds 0.0.0.0), GATEWAY_SECRET (the same on every instance), GATEWAY_METADATA (default /app/metadata).
# Against a real org, raise WEB_CONCURRENCY freely; the embedded demo org lives in each worker's memory.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    WEB_CONCURRENCY=1 \
    GUNICORN_THREADS=8 \
    GUNICORN_TIMEOUT=120 \
    GATEWAY_METADATA=/app/metadata

WORKDIR /app
COPY pyproject.toml README.md wsgi.py ./
COPY gateway ./gateway
COPY metadata ./metadata
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 gateway
USER gateway

EXPOSE 8080
# Shell form so $PORT and friends are expanded at start; exec hands signals to gunicorn.
CMD exec gunicorn --bind "0.0.0.0:${PORT}" --workers "${WEB_CONCURRENCY}" --threads "${GUNICORN_THREADS}" \
    --timeout "${GUNICORN_TIMEOUT}" --access-logfile - wsgi:app
