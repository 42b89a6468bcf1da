"""A browser stand-in for the console on the Flask test client: its own cookie jar, and form
posts that carry the CSRF token of the last page it read. conftest.py hands it out
(`console_as`)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


class ConsoleClient:
    def __init__(self, app: Flask, addr: str = "127.0.0.1", base_url: str = "http://localhost"):
        self.client = app.test_client()
        self.addr = addr
        self.base_url = base_url
        self.csrf = ""

    def get(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        response = self.client.get(path, **self._where(kwargs))
        found = TOKEN.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = dict(data or {})
        if csrf and "csrf_token" not in form:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form, **self._where(kwargs))

    def sign_in(self, username: str, password: str):  # type: ignore[no-untyped-def]
        self.get("/console/")
        return self.post("/console/", {"username": username, "password": password})

    def cookie(self) -> Any:
        return self.client.get_cookie("dbc_console", path="/console")

    def _where(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        environ = dict(kwargs.pop("environ_base", {}) or {})
        environ.setdefault("REMOTE_ADDR", self.addr)
        return {
            "environ_base": environ,
            "base_url": kwargs.pop("base_url", self.base_url),
            **kwargs,
        }
