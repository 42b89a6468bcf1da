"""The console's blueprint and what every page shares: rendering, form parsing, error pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded
from marshmallow import Schema

from ..api.schemas import load
from ..app_state import EXTENSION, Services
from ..errors import ApiError, Forbidden
from ..lib.roles import Role, rank

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE = 50
NOT_ALLOWED = "Not allowed."
ROLE_NAMES = {int(role): role.name for role in Role}


def services() -> Services:
    """The app's services (create_app keeps them in the app's extensions)."""
    return current_app.extensions[EXTENSION]


def role_name(role: int) -> str:
    """OWNER, ADMIN, ... for one bit; the bits joined with + for a combination."""
    return "+".join(name for bit, name in sorted(ROLE_NAMES.items(), reverse=True) if role & bit)


def assignable_roles() -> list[tuple[int, str]]:
    """The roles the signed-in admin may give (none above its own), highest first."""
    mine = rank(g.principal.role)
    return [(bit, name) for bit, name in sorted(ROLE_NAMES.items(), reverse=True) if bit <= mine]


def page(template: str, code: int = 200, **context: Any) -> tuple[str, int]:
    """A rendered page and its HTTP status."""
    return render_template(f"console/{template}", **context), code


def parse(schema: Schema, form: dict[str, Any]) -> dict[str, Any]:
    """A form's fields through the REST API's schema: the same checks and messages."""
    return load(schema, {key: value for key, value in form.items() if value is not None})


def number(name: str) -> int:
    """A whole-number query argument (page, before); 0 when absent or malformed."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def done(message: str, endpoint: str, **values: Any) -> Response:
    """After a change: say what happened on the next page (post/redirect/get)."""
    flash(message)
    return redirect(url_for(endpoint, **values), code=303)


def attempt(action: Callable[[], Response], again: Callable[[str], tuple[str, int]]) -> Any:
    """Run a form's action; on a refusal show the form again with the reason (a 403's reason
    is for the log only, as in the API)."""
    try:
        return action()
    except Forbidden:
        return again(NOT_ALLOWED)[0], 403
    except ApiError as exc:
        return again(exc.message)[0], exc.status


@bp.app_template_filter("role_name")
def _role_name(role: int) -> str:
    return role_name(role)


def retry_after(flooded: RateLimitExceeded) -> str:
    """The Retry-After of the answer Flask-Limiter's breach hook made (auth/limiter.py)."""
    response = flooded.get_response()
    return response.headers.get("Retry-After") or str(flooded.limit.limit.get_expiry())


@bp.errorhandler(RateLimitExceeded)
def _flooded(exc: RateLimitExceeded) -> Any:
    # A page, not the JSON answer the breach hook made for the REST API.
    body, _ = page("error.html", message="Too many requests: try again shortly.")
    return body, 429, {"Retry-After": retry_after(exc)}


@bp.errorhandler(ApiError)
def _refused(exc: ApiError) -> Any:
    message = NOT_ALLOWED if isinstance(exc, Forbidden) else exc.message
    return page("error.html", exc.status, message=message)
