"""HTTP rules every response and request follows, whatever the endpoint.

- Request bodies are JSON: a POST, PUT or PATCH carrying a body with another Content-Type gets
  415. This also shuts out the cross-site requests a browser sends without a CORS preflight
  (form posts and text/plain). A body with no Content-Type at all is read as JSON. The console's
  pages post HTML forms instead, each guarded by its session's CSRF token (console/session.py).
- Security headers on every answer (added by envelope.Envelope, below Flask): the API serves
  JSON only, so nothing may frame it, run scripts from it, sniff it as HTML, cache it or leak a
  Referer. The /v1/docs page alone sets its own Content-Security-Policy and caching. HSTS when
  the request came over HTTPS (directly, or through trusted proxies: DBCONNECTOR_TRUSTED_PROXIES).
- CORS is off unless DBCONNECTOR_CORS_ORIGINS lists exact origins. Tokens travel in the
  Authorization header, never in cookies, so credentials are never allowed.
"""

from __future__ import annotations

from flask import Flask, Response, request

from ..errors import ApiError

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Blueprints that take HTML form posts (and check CSRF tokens themselves).
FORM_BLUEPRINTS = frozenset({"console"})
# Constants, valid as written: they are appended to the WSGI header list as they are, with no
# per-value check (see envelope.py for why that matters).
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
_NO_STORE = ("Cache-Control", "no-store")
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
_CORS_METHODS = "GET, POST, PATCH, DELETE"
_CORS_HEADERS = "Authorization, Content-Type, X-Request-ID"


def security_headers(headers: list[tuple[str, str]], https: bool) -> list[tuple[str, str]]:
    """An answer's WSGI headers plus the security headers: Cache-Control: no-store and the
    JSON-only Content-Security-Policy unless the view chose its own (the /v1/docs page), and
    HSTS when the request came over HTTPS."""
    extra = list(_SECURITY_HEADERS)
    chosen = {name.lower() for name, _ in headers}
    if "cache-control" not in chosen:
        extra.append(_NO_STORE)
    if "content-security-policy" not in chosen:
        extra.append(_CSP)
    if https:
        extra.append(_HSTS)
    return headers + extra


class UnsupportedMediaType(ApiError):
    status = 415


def init_app(app: Flask) -> None:
    """Content types, security headers and CORS for DBCONNECTOR_CORS_ORIGINS."""
    allowed = frozenset(app.config["DBC_SETTINGS"].cors_origins)

    @app.before_request
    def _json_bodies_only() -> Response | None:
        if allowed and request.method == "OPTIONS" and _preflight():
            return _preflight_response(allowed)
        environ = request.environ
        if (
            environ["REQUEST_METHOD"] in _BODY_METHODS
            and environ.get("CONTENT_TYPE")
            and _has_body(environ)
            and not _is_json(request.mimetype)
            and request.blueprint not in FORM_BLUEPRINTS
        ):
            raise UnsupportedMediaType("Content-Type must be application/json")
        return None

    if allowed:  # no hook at all when CORS is off

        @app.after_request
        def _cors(response: Response) -> Response:
            origin = request.headers.get("Origin")
            if origin in allowed:
                headers = response.headers
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
                headers.add("Vary", "Origin")
            return response


def _has_body(environ: dict) -> bool:
    # Read from the WSGI environ: werkzeug's parsed headers cost more than the check itself.
    length = environ.get("CONTENT_LENGTH", "")
    return (length not in ("", "0")) or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "")


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _preflight() -> bool:
    return "Access-Control-Request-Method" in request.headers and "Origin" in request.headers


def _preflight_response(allowed: frozenset[str]) -> Response:
    response = Response(status=204)
    if request.headers.get("Origin") in allowed:
        response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response
