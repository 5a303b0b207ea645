# Just Trades: the service image. Build: docker build -t justtrades .
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Exact pins first, so the dependency layer is cached across code changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY src ./src
RUN pip install --no-deps . && useradd --create-home --uid 10001 justtrades \
    && mkdir -p /app/data && chown justtrades /app/data
USER justtrades

ENV JT_HOST=0.0.0.0 JT_PORT=8000 JT_ALEMBIC_DIR=/app/alembic
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
# `serve` migrates the database to the latest schema, then serves.
CMD ["justtrades", "serve"]
