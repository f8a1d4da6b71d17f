# AURORA Stream worker image: `docker compose up --build` (see README, "Production").
# Slim Python base, a non-root user, and a HEALTHCHECK on the worker's /healthz.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# topics/ and schemas/ are read next to the package (aurora_stream/wire), so the image
# installs the source tree in place (editable) rather than as a copied wheel.
COPY pyproject.toml README.md ./
COPY aurora_stream ./aurora_stream
COPY topics ./topics
COPY schemas ./schemas
RUN pip install -e . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/aurora --create-home \
       --shell /usr/sbin/nologin aurora

USER aurora
# /metrics, /healthz and /readyz on every interface of the container (service/health.py).
ENV AURORA_HOME=/var/lib/aurora \
    AURORA_METRICS_HOST=0.0.0.0 \
    AURORA_METRICS_PORT=9100 \
    AURORA_BROKER_KIND=kafka \
    AURORA_LOG_LEVEL=WARNING
EXPOSE 9100

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('AURORA_METRICS_PORT', '9100') + '/healthz', timeout=4)"]

# The broker comes from AURORA_BROKER (or --broker), Redis from AURORA_REDIS_URL (or --redis).
CMD ["aurora", "worker"]
