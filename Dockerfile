# Just Trades: the service image.   docker build -t justtrades .
# Stage `build` makes the wheel and a virtual environment with the runtime lock and the wheel;
# the final stage copies only that environment. No stage installs the dev lock or dev group.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/justtrades
# Hashed exact pins first: these layers are cached across code changes. The build backend goes
# into this stage's own Python only (it never reaches the final stage).
COPY requirements/build.txt requirements/runtime.txt requirements/
RUN pip install --require-hashes -r requirements/build.txt \
    && /opt/justtrades/bin/pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY alembic ./alembic
COPY src ./src
# The wheel carries the migrations (justtrades/migrations); it is installed without
# dependencies: all of them came, hashed, from the runtime lock.
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/justtrades/bin/pip install --no-deps /wheels/justtrades-*.whl

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/justtrades/bin:$PATH \
    JT_HOST=0.0.0.0 JT_PORT=8000 JT_LOG_FORMAT=json
RUN groupadd --gid 10001 justtrades \
    && useradd --create-home --uid 10001 --gid 10001 justtrades \
    && mkdir -p /app/data && chown 10001:10001 /app/data
COPY --from=build /opt/justtrades /opt/justtrades
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Liveness: GET /health on the local port, bounded at 3 s (`justtrades health`).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["justtrades", "health"]
# `serve` migrates the database to the latest schema (one instance at a time), then serves.
CMD ["justtrades", "serve"]
