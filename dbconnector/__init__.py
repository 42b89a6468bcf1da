"""DBConnector: a JSON REST gateway to SQL databases on a private network."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import console
from .app_state import EXTENSION, Services
from .auth import limiter, token_manager
from .config import Settings
from .drivers.pools import PoolRegistry
from .execution.jobs import worker as workers
from .execution.transfers.pump import transfer
from .lib.ttl_cache import TTLCache
from .store.connections import ConnectionStore
from .store.db import make_engine
from .store.epoch import SharedEpoch
from .store.secrets import SecretBox
from .store.usage import UsageRecorder
from .telemetry import requestlog
from .web import error_handlers, http_policy, jsonio, middleware

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: settings from the environment unless given, extensions, blueprints."""
    settings = (settings or Settings.from_env()).validated()
    requestlog.configure_logging(settings.log_level, settings.log_format)
    app = Flask("dbconnector", static_folder=None)
    app.config["DBC_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.url_map.strict_slashes = False
    jsonio.init_app(app)
    middleware.init_app(app)  # inside ProxyFix: it must see the client's scheme
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )

    box = SecretBox.of(settings.key_ring)
    engine = make_engine(settings.database_url, settings.pool_size)
    app.extensions[EXTENSION] = Services(
        settings=settings,
        engine=engine,
        flood=limiter.init_app(app, settings),
        box=box,
        connections=ConnectionStore(box),
        principals=TTLCache(settings.cache_seconds),
        targets=TTLCache(settings.cache_seconds),
        pools=PoolRegistry(settings),
        usage=UsageRecorder(engine, settings.usage_flush_seconds),
        epoch=SharedEpoch(settings.data_dir),
    )
    token_manager.init_app(app, settings.key_ring, settings.access_ttl, settings.refresh_ttl)
    error_handlers.init_app(app)
    _register_blueprints(app)
    console.init_app(app)
    app.extensions[EXTENSION].flood.limit_views(app)
    http_policy.init_app(app)
    workers.install(app.extensions[EXTENSION], {"transfer": transfer})
    return app


def _register_blueprints(app: Flask) -> None:
    from .api import admin, auth, connections, docs, execute, jobs, openapi, users

    for module in (admin, auth, users, connections, execute, jobs, openapi, docs):
        app.register_blueprint(module.bp)
