"""Target-database failures -> clean JSON errors.

A statement the database refused is a 400 with the database's own words about it (its first line,
without driver tracebacks, DB-Lib noise or byte-string reprs). A target that cannot be reached is a
503 that names the kind of failure but never the host, port, user or password. As a last line of
defence every message is scrubbed of the connection string's host, user and password values and
of MySQL's 'user'@'host' pairs. The full error goes to the log (without the connection string).
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..errors import ApiError, TargetError, TargetUnavailable
from .base import Target

log = logging.getLogger(__name__)

_USER_AT_HOST = re.compile(r"'[^'\s]*'@'[^'\s]*'")
_REASONS = [
    (re.compile(r"timed? ?out|timeout", re.I), "the connection timed out"),
    (re.compile(r"refused", re.I), "the connection was refused"),
    (
        re.compile(
            r"password|authentication|login failed|access denied|not permitted to log", re.I
        ),
        "the login was refused",
    ),
    (
        re.compile(r"unknown database|database .* does not exist|cannot open database", re.I),
        "the database does not exist",
    ),
    (
        re.compile(
            r"translate host|name or service|nodename|unknown host|getaddrinfo|resolve", re.I
        ),
        "the host name could not be resolved",
    ),
    (re.compile(r"unable to open database file", re.I), "the database file cannot be opened"),
]
MAX_MESSAGE = 1000


def scrub(message: str, target: Target) -> str:
    spec = target.spec
    secrets = [
        str(spec.get(key))
        for key in ("password", "host", "server", "user", "username")
        if spec.get(key) and len(str(spec.get(key))) >= 3
    ]
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    message = _USER_AT_HOST.sub("'***'@'***'", message)
    message = " ".join(message.split())  # one line: no tracebacks, no embedded newlines
    return message[:MAX_MESSAGE]


def connect_failure(exc: BaseException, target: Target) -> ApiError:
    """Connecting failed: say what kind of failure, never where."""
    raw = str(getattr(exc, "orig", None) or exc)
    log.warning(
        "connection %s (%s): cannot connect: %s",
        target.token,
        target.driver.name,
        scrub(raw, target),
    )
    if isinstance(exc, PoolTimeout):
        reason = "no pooled connection became free in time"
    else:
        reason = next(
            (text for pattern, text in _REASONS if pattern.search(raw)), "it is unreachable"
        )
    return TargetUnavailable(f"Cannot connect to the target database: {reason}")


def statement_failure(exc: BaseException, target: Target) -> ApiError:
    """A statement failed: the database's words, cleaned; a timeout says so plainly."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    driver = target.driver
    if driver.is_timeout(orig):
        return TargetError(
            f"The statement was cancelled after {target.statement_timeout:g} s (statement timeout)"
        )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return TargetUnavailable("The connection to the target database was lost")
    message = scrub(driver.message(orig), target) if not isinstance(orig, SQLAlchemyError) else ""
    # By name and id: a connToken is a credential half, and no log line carries one.
    log.info(
        "connection %r (id %s, %s): statement failed: %s",
        target.name,
        target.connection_id,
        driver.name,
        message,
    )
    return TargetError(message or "The target database refused the statement")
