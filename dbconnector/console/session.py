"""Signing in to the console and the session every page checks.

The browser holds Flask's signed cookie session (key: the key ring's "console-session" key,
previous keys accepted through SECRET_KEY_FALLBACKS, so a rotation keeps sessions) carrying a
random id; the server holds the session's row (store/console_sessions.py) with its CSRF token.
Each request checks the row (idle time: the user's token lifetime, at most 15 minutes) and the
user's current standing (enabled, ADMIN or OWNER, address on its allowlist, token generation
unchanged), and counts against the user's flood limit, as a REST call does.

The cookie is HttpOnly, SameSite=Strict, and Secure unless the page was asked for over plain
HTTP on a loopback address (a browser on the server itself: docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import secrets

from flask import Flask, Request, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..auth.clientip import client_address, is_allowed
from ..auth.guard import Principal, load_principal, principal_of
from ..auth.tokens import parse_ttl
from ..errors import Forbidden
from ..store import console_sessions
from ..store.console_sessions import ConsoleSession
from ..store.db import read, utcnow, write
from ..store.users import User
from ..telemetry.requestlog import VIA
from .pages import services

COOKIE = "dbc_console"
MAX_IDLE_SECONDS = 900
CSRF_FIELD = "csrf_token"


class ConsoleCookies(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure except on plain HTTP to a loopback address."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return not plain_loopback(request)


def plain_loopback(req: Request) -> bool:
    """Plain HTTP between a browser and a server both on loopback (the same machine, or an SSH
    tunnel's end): the one case where the cookie cannot be Secure and need not be."""
    if req.scheme != "http" or not _loopback(req.remote_addr or ""):
        return False
    host = req.host.rsplit(":", 1)[0] if not req.host.endswith("]") else req.host
    return host == "localhost" or _loopback(host.strip("[]"))


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def configure(app: Flask) -> None:
    ring = app.config["DBC_SETTINGS"].key_ring
    keys = ring.derived("console-session")
    app.secret_key = keys[0]
    app.config.update(
        SECRET_KEY_FALLBACKS=list(keys[1:]),
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    app.session_interface = ConsoleCookies()


def idle_seconds(user: User) -> int:
    """The user's token lifetime, at most 15 minutes."""
    return min(MAX_IDLE_SECONDS, parse_ttl(user.ttl) or services().settings.access_ttl)


def begin(user: User) -> Principal:
    """A new session for a user whose password and standing were checked."""
    svc = services()
    cookie_id, now = secrets.token_urlsafe(32), utcnow()
    with write(svc.engine) as conn:
        console_sessions.end_idle(conn, now - dt.timedelta(seconds=MAX_IDLE_SECONDS))
        console_sessions.add(
            conn,
            cookie_id,
            now=now,
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            generation=user.token_generation,
            idle_seconds=idle_seconds(user),
        )
    session.clear()
    session["sid"] = cookie_id
    return attach(principal_of(user))


def attach(principal: Principal) -> Principal:
    """Make `principal` the caller of this request, as the REST API's guard does."""
    g.principal = principal
    g.setdefault(VIA, "console")
    return principal


def current() -> tuple[ConsoleSession, Principal] | None:
    """The signed-in session and its user, or None (and the session ended) when there is none
    or it may no longer be used."""
    cookie_id = session.get("sid")
    if not isinstance(cookie_id, str):
        return None
    svc = services()
    with read(svc.engine) as conn:
        found = console_sessions.get(conn, cookie_id)
    if found is None:
        session.clear()
        return None
    now = utcnow()
    principal = load_principal(found.user_id)
    if (
        now - found.seen_at > dt.timedelta(seconds=found.idle_seconds)
        or principal is None
        or not standing(principal, found)
    ):
        end(found)
        return None
    with write(svc.engine) as conn:
        console_sessions.touch(conn, found.id, now)
    attach(principal)
    svc.flood.check_user()
    return found, principal


def standing(principal: Principal, found: ConsoleSession) -> bool:
    """Still enabled, still ADMIN or OWNER, calling from an allowed address, and with no new
    password since signing in."""
    return (
        principal.enabled
        and principal.admin
        and principal.token_generation == found.generation
        and is_allowed(client_address(), principal.ipaddresses)
    )


def end(found: ConsoleSession) -> None:
    with write(services().engine) as conn:
        console_sessions.end(conn, found.id)
    session.clear()


def sign_in_token() -> str:
    """The CSRF token of the sign-in form, kept in the (not yet signed-in) cookie session."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(expected: str | None) -> None:
    """403, before anything changes, unless the form carries this session's token."""
    given = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("console: a form without its session's CSRF token")
