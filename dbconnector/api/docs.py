"""GET /v1/docs: Swagger UI over /v1/openapi.json, served from the assets of the swagger-ui-py
package (the service runs on a private network: no CDN).

The page has its own Content-Security-Policy: scripts, styles, fetches and fonts from this
origin only, images also as data: URIs (Swagger UI's icons), nothing may frame it. The default
policy of every other answer (default-src 'none') would stop the page from running at all.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, Response

from .responses import responds

bp = Blueprint("docs", __name__)

PAGE = Path(__file__).resolve().parent / "docs_page"


def _package_folder(name: str) -> Path:
    """Where an installed package lives, found without importing it (swagger_ui's own code,
    a handler for each web framework, is not needed here)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the {name} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


SWAGGER_UI = _package_folder("swagger_ui") / "static"
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# Versioned by the installed package, not by URL: browsers revalidate after an hour.
ASSET_CACHE = "public, max-age=3600"
HTML = "text/html"
CSS = "text/css"
JAVASCRIPT = "text/javascript"
_TEXT = {"type": "string"}
_SCRIPTS = {"swagger-ui-bundle.js": SWAGGER_UI, "docs.js": PAGE}


def _file(folder: Path, name: str, mimetype: str, cache: str = ASSET_CACHE) -> Response:
    response = Response((folder / name).read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = cache
    return response


@responds(_TEXT, media=HTML)
@bp.get("/v1/docs")
def docs_page() -> Response:
    """Interactive API documentation (Swagger UI): "Authorize" with an authToken to try calls."""
    response = _file(PAGE, "index.html", HTML, cache="no-cache")
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


@responds(_TEXT, media=CSS)
@bp.get("/v1/docs/swagger-ui.css")
def docs_style() -> Response:
    """Swagger UI's style sheet, for /v1/docs."""
    return _file(SWAGGER_UI, "swagger-ui.css", CSS)


@responds(_TEXT, media=JAVASCRIPT)
@bp.get("/v1/docs/swagger-ui-bundle.js", defaults={"name": "swagger-ui-bundle.js"})
@bp.get("/v1/docs/docs.js", defaults={"name": "docs.js"})
def docs_script(name: str) -> Response:
    """Swagger UI, and the script that starts it on /v1/docs."""
    return _file(_SCRIPTS[name], name, JAVASCRIPT)
