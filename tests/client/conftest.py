"""The client's tests call a real served instance (gunicorn, two workers) over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dbconnector_client import Client

from tests.support.app import OWNER


@pytest.fixture(scope="module")
def service(served):  # type: ignore[no-untyped-def]
    # Grants are cached per worker for DBCONNECTOR_CACHE_SECONDS; a revoke must show at once.
    return served(DBCONNECTOR_CACHE_SECONDS="0")


class Recorder:
    """Every answer a client received: (method, path, status, JSON body or None), and the
    refresh tokens it presented."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, int, Any]] = []
        self.refresh_tokens: list[str] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        try:
            body = response.json()
        except ValueError:
            body = None
        self.answers.append((request.method, request.url.path, response.status_code, body))
        if request.url.path == "/v1/auth/refresh":
            self.refresh_tokens.append(json.loads(request.content)["refresh_token"])

    def statuses(self) -> list[int]:
        return [status for _, _, status, _ in self.answers]


@pytest.fixture
def make_client(service) -> Iterator[Callable[..., tuple[Client, Recorder]]]:  # type: ignore[no-untyped-def]
    """make_client(username, password, **options) -> (Client, Recorder of its answers);
    `tokens=(authToken, refreshToken)` makes a password-less client from that pair."""
    made: list[tuple[Client, httpx.Client]] = []

    def make(
        username: str | None = OWNER[0], password: str | None = OWNER[1], **options: Any
    ) -> tuple[Client, Recorder]:
        recorder = Recorder()
        base_url = options.pop("base_url", f"http://127.0.0.1:{service.port}")
        http = httpx.Client(base_url=base_url, timeout=30, event_hooks={"response": [recorder]})
        pair = options.pop("tokens", None)
        if pair is None:
            client = Client(base_url, username, password, http=http, **options)
        else:
            client = Client.from_tokens(base_url, *pair, http=http, **options)
        made.append((client, http))
        return client, recorder

    yield make
    for client, http in made:
        client.close()
        http.close()
