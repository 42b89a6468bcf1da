"""One HTTP exchange with the service: JSON in and out, flood answers waited out, connection
errors retried with backoff for idempotent calls only, refusals raised as typed exceptions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from .errors import Flooded, ServiceUnavailable, error_for

log = logging.getLogger("dbconnector_client")

NO_DATA = {"error": "No Data"}
BACKOFF_START = 0.2
BACKOFF_MAX = 5.0


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


class Transport:
    def __init__(
        self,
        http: httpx.Client,
        max_retries: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.max_retries = max_retries
        self._sleep = sleep

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        token: str = "",
        idempotent: bool = False,
        raw: bool = False,
    ) -> tuple[int, Any]:
        """(status, decoded JSON body, or with `raw` the text as sent) of a successful answer;
        raises on anything else except a 401, which is returned so the caller may renew its
        token and try again."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        failures = 0
        floods = 0
        while True:
            try:
                response = self.http.request(
                    method, path, json=body, params=params, headers=headers
                )
            except httpx.TransportError as exc:
                if not idempotent or failures >= self.max_retries:
                    reason = f"Cannot reach the service ({type(exc).__name__})"
                    raise ServiceUnavailable(0, reason) from None
                self._sleep(min(BACKOFF_MAX, BACKOFF_START * 2**failures))
                failures += 1
                continue
            decoded = _decode(response)
            if decoded == NO_DATA and response.status_code in (200, 429):
                wait = _retry_after(response)
                if floods >= self.max_retries:
                    raise Flooded(response.status_code, NO_DATA["error"], wait)
                log.info("flooded on %s; waiting %.1f s", path, wait)
                self._sleep(wait)
                floods += 1
                continue
            if response.is_success and raw:
                return response.status_code, response.text
            if response.is_success or response.status_code == 401:
                return response.status_code, decoded
            raise error_for(response.status_code, decoded)


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
