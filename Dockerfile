# syntax=docker/dockerfile:1
# DBConnector as a container: gunicorn serving the app, migrations applied at start. It installs
# exactly requirements/runtime.txt (versions and hashes), from wheels a builder stage makes, so
# no build tool reaches the final image. Run it with a read-only root filesystem (docs/operations.md):
# docker build -t dbconnector . && docker run --read-only --tmpfs /tmp -v dbconnector-data:/data \
#   -p 8000:8000 -e DBCONNECTOR_SECRET_KEY=... -e DBCONNECTOR_DATABASE_URL=postgresql+psycopg://... \
#   dbconnector
# tests/unit/test_container_smoke.py rebuilds /app from this file's COPY lines and serves it.

FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN pip install --require-hashes --no-deps -r requirements/build.txt \
    && pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements/runtime.txt
COPY setup.cfg pyproject.toml README.md ./
COPY dbconnector ./dbconnector
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels/app .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DBCONNECTOR_ENV=production \
    DBCONNECTOR_DATA_DIR=/data \
    DBCONNECTOR_MIGRATIONS_DIR=/app/migrations \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
COPY requirements/runtime.txt ./requirements/
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels --require-hashes --no-deps \
        -r requirements/runtime.txt \
    && pip install --no-index --no-deps /wheels/app/dbconnector-*.whl \
    && pip check \
    && pip uninstall --yes setuptools wheel
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py alembic.ini ./

RUN useradd --system --uid 10001 --home-dir /app dbconnector \
    && mkdir -p /data && chown 10001 /data
USER 10001
VOLUME ["/data"]
EXPOSE 8000

# The same check the container platform makes: 200 from /admin/ok.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/admin/ok' % os.environ.get('PORT', '8000'), timeout=2)"]

CMD ["dbconnector", "serve"]
