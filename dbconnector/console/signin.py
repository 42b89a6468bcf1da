"""Signing in and out, and the check every other page passes first."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for
from flask_limiter import RateLimitExceeded

from ..auth import login
from ..errors import Forbidden, Unauthorized
from ..lib.roles import is_admin
from ..store.audit import REFUSED
from . import session
from .pages import NOT_ALLOWED, bp, page, retry_after, services

PUBLIC = {"console.sign_in", "console.static"}


@bp.before_request
def _signed_in() -> Any:
    if request.endpoint in PUBLIC:
        return None
    signed = session.current()
    if signed is None:
        if request.method == "GET":
            return redirect(url_for("console.sign_in"), code=303)
        raise Forbidden("console: a form post without a session")
    found, _ = signed
    g.console_session, g.console_csrf = found, found.csrf
    if request.method == "POST":
        session.check_csrf(found.csrf)
    return None


@bp.app_context_processor
def _shared() -> dict[str, Any]:
    return {"csrf_field": session.CSRF_FIELD, "csrf_token": g.get("console_csrf", "")}


@bp.route("/", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method == "GET":
        if session.current() is not None:
            return redirect(url_for("console.dashboard"), code=303)
        return _form()
    session.check_csrf(session.sign_in_token())
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    try:
        login.count_attempt()
    except RateLimitExceeded as flooded:
        body, _ = _form("Too many sign-in attempts: try again shortly.", username)
        return body, 429, {"Retry-After": retry_after(flooded)}
    svc = services()
    try:
        user = login.check_password(username, password)
    except Unauthorized as refused:
        svc.audit("console.sign_in", outcome=REFUSED)
        return _form(refused.message, username, 401)
    if not is_admin(user.role):
        svc.audit("console.sign_in", outcome=REFUSED, user_id=user.id)
        return _form(NOT_ALLOWED, username, 403)
    login.keep_rehash(user, password)
    session.begin(user)
    svc.audit("console.sign_in", user_id=user.id)
    return redirect(url_for("console.dashboard"), code=303)


@bp.post("/sign-out")
def sign_out() -> Any:
    session.end(g.console_session)
    services().audit("console.sign_out", user_id=g.principal.id)
    return redirect(url_for("console.sign_in"), code=303)


def _form(error: str | None = None, username: str = "", status: int = 200) -> Any:
    return page(
        "sign_in.html",
        status,
        error=error,
        username=username,
        sign_in_csrf=session.sign_in_token(),
    )
