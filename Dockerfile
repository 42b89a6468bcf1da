# DBConnector as a container: gunicorn serving the app, migrations applied at start.
# docker build -t dbconnector . && docker run -p 8000:8000 \
#   -e DBCONNECTOR_SECRET_KEY=... -e DBCONNECTOR_DATABASE_URL=postgresql+psycopg://... dbconnector
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
COPY setup.cfg pyproject.toml README.md ./
COPY dbconnector ./dbconnector
RUN pip install .
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py alembic.ini ./

RUN useradd --system --uid 10001 --home-dir /app dbconnector \
    && mkdir -p /data && chown dbconnector /data
USER dbconnector
VOLUME ["/data"]
EXPOSE 8000

# The same check the container platform makes: 200 from /admin/ok.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/admin/ok' % os.environ.get('PORT', '8000'), timeout=2)"

CMD ["dbconnector", "serve"]
