"""Structured logs: one JSON line per request, and audit lines for admin changes and statements.

Every line is a JSON object on stdout (DBCONNECTOR_LOG_FORMAT=json, the default; `text` for a
terminal). Request lines carry the request id (a caller's `X-Request-ID` when it is short and
plain, else a new one; returned in the response either way), the user id, the endpoint's route
(`/v1/connections/<token>`, never the path itself: paths hold connTokens), the connection's name,
the status, the duration and the row count. Nothing here ever logs a body, a bound value, a
token, a password or a connection string: audit lines name what was done to which id, and
statement lines carry the /query text before its args are substituted, or for the other
endpoints the statement's shape (table, fields, filter keys, sort), never its values.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import sys
import threading
import time
from typing import Any

import orjson
from flask import Request, Response, g, request

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # fullmatch: "$" would allow a "\n"
_FIELDS = "dbc"  # the LogRecord attribute holding a line's structured fields

request_log = logging.getLogger("dbconnector.request")
audit_log = logging.getLogger("dbconnector.audit")


class JsonFormatter(logging.Formatter):
    # The last whole second formatted, as one tuple so threads never pair a second with another
    # second's text: strftime runs once per second, not per line.
    _last: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        extra: dict[str, Any] = getattr(record, _FIELDS, None) or {}
        if record.exc_info:
            # Operators need the trace; callers never see it (errors.py answers them).
            extra = {**extra, "exception": self.formatException(record.exc_info)}
        return self.line(
            record.created, record.levelname.lower(), record.name, record.getMessage(), extra
        )

    @classmethod
    def line(cls, created: float, level: str, logger: str, message: str, fields: dict) -> str:
        """One JSON line: time, level, logger and message, then `fields`."""
        second = int(created)
        last = cls._last
        if last[0] != second:
            last = cls._last = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        line: dict[str, Any] = {
            "ts": f"{last[1]}.{int((created - second) * 1000):03d}Z",
            "level": level,
            "logger": logger,
            "message": message,
        }
        line.update(fields)
        try:
            return orjson.dumps(line, default=str).decode()
        except TypeError:
            # orjson refuses a lone surrogate (a caller's "\ud800" in a /query statement) and
            # integers beyond 64 bits; the line must still be written, and write_info's direct
            # path has no handleError to swallow this.
            return json.dumps(line, default=str)


def write_info(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """An INFO line of `message` and `fields` on `logger`, if it logs INFO.

    Where the service's own JSON handler is the only place the line can go (production), the
    line is formatted and queued at once: the logging machinery around one record (the record
    itself, the logger and handler chain, two locks) is a large share of a heartbeat, and every
    call writes a request line (bench/README.md). Anywhere else (a test's capture, an operator's
    extra handler or filter, text format) it goes through logging as usual.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    sink = _sole_json_sink(logger)
    if sink is None:
        logger.info(message, extra={_FIELDS: fields})
    else:
        sink.queue(JsonFormatter.line(time.time(), "info", logger.name, message, fields))


def _sole_json_sink(logger: logging.Logger) -> BatchingStreamHandler | None:
    """The handler an INFO record of `logger` would reach, when it reaches exactly one and that
    is our BatchingStreamHandler with the JSON format and no filters, and `logger` filters
    nothing. As logging.Logger.handle does, only the first logger's own filters and `disabled`
    count; every handler up the chain counts, to the first logger that does not propagate."""
    if logger.disabled or logger.filters:
        return None
    handlers: list[logging.Handler] = []
    node: logging.Logger | None = logger
    while node is not None:
        handlers.extend(node.handlers)
        node = node.parent if node.propagate else None  # type: ignore[assignment]
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is BatchingStreamHandler
        and type(handler.formatter) is JsonFormatter
        and not handler.filters
        and handler.level <= logging.INFO
    ):
        return handler
    return None


FLUSH_SECONDS = 0.2


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines in batches: one write per FLUSH_SECONDS instead of one per line.

    Each write is a system call that gives up the GIL, and under gunicorn's threads taking it
    back costs far more than the write itself, with a request line per call (bench/README.md
    has the numbers). A line at WARNING or
    above is written at once with everything pending, so an error is never held back; a worker
    killed by SIGKILL loses at most the last FLUSH_SECONDS of lines (a normal exit writes them:
    logging.shutdown flushes every handler).
    """

    def __init__(self, stream: Any, interval: float = FLUSH_SECONDS) -> None:
        super().__init__(stream)
        self.interval = interval
        self._pending: list[str] = []
        self._flusher_pid = 0  # the process whose flusher thread runs (none after a fork)

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock around emit.
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._add(line, at_once=record.levelno >= logging.WARNING)

    def queue(self, line: str) -> None:
        """A line already formatted, written with the next batch (write_info's path)."""
        with self.lock:  # type: ignore[union-attr]
            self._add(line + self.terminator, at_once=False)

    def _add(self, line: str, at_once: bool) -> None:  # under self.lock
        self._pending.append(line)
        if at_once or len(self._pending) >= 1000:
            self._write()
        elif self._flusher_pid != os.getpid():
            self._flusher_pid = os.getpid()
            threading.Thread(
                target=self._flush_every_interval, name="log-flush", daemon=True
            ).start()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def _write(self) -> None:
        if not self._pending:
            return
        text, self._pending = "".join(self._pending), []
        # A closed or full stream must not break the request that logged (as logging itself
        # never raises into callers by default).
        with contextlib.suppress(Exception):
            self.stream.write(text)
            self.stream.flush()

    def _flush_every_interval(self) -> None:
        pid = os.getpid()
        while self._flusher_pid == pid:
            time.sleep(self.interval)
            self.flush()


def configure_logging(level: str, form: str) -> None:
    """Root logging to stdout, as JSON lines or as text; idempotent (tests build many apps)."""
    # Neither format shows where a line was logged from or the multiprocessing process name, so
    # the stack walk and the lookup that collect them for every record are switched off (the
    # logging HOWTO's "Optimization" section); with two lines per request the stack walk was a
    # measurable cost. These switches are process-wide: the thread and process ids stay on
    # (under a microsecond together), because gunicorn's own log format prints %(process)d and
    # fails on every worker-side line without it.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "dbc", False)), None)
    if handler is None:
        handler = BatchingStreamHandler(sys.stdout)
        handler.dbc = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(
        JsonFormatter()
        if form == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )


# Set on the WSGI environ by envelope.Envelope as each request arrives.
REQUEST_ID = "dbc.request_id"
STARTED = "dbc.started"


def usable_request_id(given: str | None) -> str | None:
    """A caller's X-Request-ID when it is short and plain (safe to echo and log), else None."""
    return given if given and _REQUEST_ID.fullmatch(given) else None


def new_request_id() -> str:
    """32 hex digits. A correlation id, not a secret: the process's PRNG (reseeded in every
    forked worker) rather than os.urandom, a system call on every request."""
    return f"{random.getrandbits(128):032x}"


def log_request(
    req: Request, noted: dict[str, Any], response: Response, seconds: float | None
) -> None:
    """The request line: ids, route and outcome, never a path, a body or a value. `noted` is
    what the request set on flask.g (its __dict__: a missing name costs no AttributeError)."""
    if not request_log.isEnabledFor(logging.INFO):
        return
    principal = noted.get("principal")
    fields = {
        "request_id": req.environ.get(REQUEST_ID),
        "method": req.method,
        "endpoint": req.url_rule.rule if req.url_rule else None,
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
        "user_id": principal.id if principal else None,
        "connection": noted.get("dbc_connection"),
        "rows": noted.get("dbc_rows"),
        "streamed": response.is_streamed or None,
    }
    write_info(request_log, "request", fields)


def note_target(connection_name: str) -> None:
    """The connection this request uses, for its request line."""
    g.dbc_connection = connection_name


def note_rows(count: int) -> None:
    g.dbc_rows = count


def auditing() -> bool:
    """Whether audit lines are written (DBCONNECTOR_LOG_LEVEL INFO or lower): callers skip
    building a line's fields otherwise."""
    return audit_log.isEnabledFor(logging.INFO)


# Set on flask.g by a door other than the REST API (the console), for its audit lines.
VIA = "dbc_via"


def audit(action: str, **fields: Any) -> dict[str, Any]:
    """An audit line: who (the caller) did `action`, through which door (`via`: api or
    console), with ids and shapes only, never values. Returns the line."""
    principal = g.get("principal")
    line = {
        "action": action,
        "request_id": request.environ.get(REQUEST_ID),
        "actor_id": principal.id if principal else None,
        "via": g.get(VIA, "api"),
        **fields,
    }
    write_info(audit_log, "audit", line)
    return line
