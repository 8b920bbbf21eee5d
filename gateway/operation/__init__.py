"""Running the gateway in production: the per-request record and its JSON log line, Prometheus metrics,
the API governor (reserve, rate limit, coalescing, result cache, $batch call budget), the gunicorn server
and progress output. Plain Python with no knowledge of any OData face: a face reaches it through
``context`` (the record of the request in flight) and ``governed_source`` (the source every face calls).
"""
