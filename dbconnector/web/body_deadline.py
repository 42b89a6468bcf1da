"""A deadline on reading a request's body: a client that sends its headers and then trickles (or
withholds) the body holds a gthread worker thread for as long as it likes, and enough of them
hold every thread. gunicorn has no body timeout, so the service keeps one.

A request with a body, served by gunicorn (which hands the app its socket), is watched from the
moment the app gets it until its body has been read. Past DBCONNECTOR_BODY_TIMEOUT a deadline
thread (lib/deadlines.py) shuts the socket's read side: the blocked read returns at once, the
caller gets 408 and the thread is free. A socket timeout would bound each recv, not the body.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from functools import partial
from typing import Any

from werkzeug.exceptions import RequestTimeout

from ..lib.deadlines import Deadlines

WATCHDOG = Deadlines("dbc-body-deadline")


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its client
        sock.shutdown(socket.SHUT_RD)


class WatchedInput:
    """wsgi.input that ends the watch once the body is read, and answers 408 if the watchdog
    cut it short."""

    def __init__(self, stream: Any, length: int | None, key: int) -> None:
        self._stream, self._left, self._key = stream, length, key
        self._fired: bool | None = None  # None while watched

    def read(self, size: int = -1) -> bytes:
        return self._seen(self._stream.read(size), size)

    def readline(self, size: int = -1) -> bytes:
        return self._seen(self._stream.readline(size), size)

    def _seen(self, data: bytes, size: int) -> bytes:
        if self._left is not None:
            self._left -= len(data)
        complete = self._left is not None and self._left <= 0
        if (complete or not data or size is None or size < 0) and self.close() and not complete:
            raise RequestTimeout()
        return data

    def close(self) -> bool:
        """End the watch (at the body's end, or the request's); whether it had fired."""
        if self._fired is None:
            self._fired = WATCHDOG.withdraw(self._key)
        return self._fired


def watch_body(environ: dict[str, Any], seconds: float) -> Callable[[], None] | None:
    """Watch this request's body read, if it has one and gunicorn gave its socket; the function
    that ends the watch (called when the request ends)."""
    sock = environ.get("gunicorn.socket")
    if sock is None or seconds <= 0:
        return None
    length_text = environ.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    length = int(length_text) if length_text.isdigit() and len(length_text) < 19 else None
    if not chunked and not length:
        return None
    key = WATCHDOG.arm(seconds, partial(_shut, sock))
    watched = WatchedInput(environ["wsgi.input"], None if chunked else length, key)
    environ["wsgi.input"] = watched
    return watched.close
