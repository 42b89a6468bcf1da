"""An app on a migrated SQLite metadata database, and callers that hold tokens: what most tests
build on. conftest.py hands these out as fixtures (app, env, make_env); tests import the
classes from here for their type only, never from conftest."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from dbconnector import Settings, create_app
from dbconnector.auth.roles import Role
from dbconnector.store.db import make_engine
from dbconnector.store.seed import ensure_user

TEST_SECRET = "test-secret-key-for-dbconnector-tests"
OWNER = ("owner@boston.gov", "Owner-Password-1")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    base = {
        "env": "test",
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "bcrypt_rounds": 4,
        "ratelimit": "100000/minute",
        "auth_ratelimit": "100000/minute",
        "cache_seconds": 0.0,
        "usage_flush_seconds": 0.0,
        "connect_timeout": 3.0,
        "statement_timeout": 10.0,
        # No job worker threads unless a test asks: most tests queue no job, and the jobs tests
        # drive workers step by step (tests/execution/) or start them (tests/live/).
        "job_workers": 0,
        # Test targets live in pytest's temp dirs, beside (never inside) each app's data dir.
        "sqlite_roots": (Path(tempfile.gettempdir()).resolve(),),
    }
    base.update(overrides)
    return Settings(**base).validated()


class Caller:
    """Calls the API through the Flask test client as one client address, with a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None = None, addr: str = "127.0.0.1"):
        self.client = client
        self.token = token
        self.addr = addr
        self.userid: int | None = None
        self.refresh_token: str | None = None

    def call(self, method: str, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.open(
            path,
            method=method,
            json=json,
            headers=headers,
            environ_base={"REMOTE_ADDR": self.addr},
            **kwargs,
        )

    def get(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("DELETE", path, **kwargs)

    def login(self, username: str, password: str) -> Caller:
        response = self.post("/v1/auth", {"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        caller = Caller(self.client, body["authToken"], self.addr)
        caller.userid = body["userid"]
        caller.refresh_token = body["refreshToken"]
        return caller


class Env:
    """An app plus helpers to make users and connections through the API as the OWNER."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.anon = Caller(self.client)
        self.owner = self.anon.login(*OWNER)
        self._count = 0

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app.extensions["dbconnector"]

    def user(self, role: int, password: str = "User-Password-1", **fields: Any) -> Caller:
        """Create a user with `role` (via the API, as OWNER) and log in as it."""
        self._count += 1
        username = fields.pop("username", f"user{self._count}@example.org")
        body = {"username": username, "password": password, "role": int(role), **fields}
        response = self.owner.post("/v1/users", body)
        assert response.status_code == 201, response.get_json()
        caller = self.anon.login(username, password)
        caller.username = username  # type: ignore[attr-defined]
        return caller

    def connection(self, connection_string: dict | str | None = None, **fields: Any) -> str:
        self._count += 1
        body = {
            "name": fields.pop("name", f"conn{self._count}"),
            "connectionString": connection_string
            if connection_string is not None
            else {"host": "db.internal", "port": 1433, "user": "svc", "password": "s3cret!"},
            **fields,
        }
        response = self.owner.post("/v1/connection", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["connToken"]

    def leaver_after_new_admin(self, same_id: bool = False) -> tuple[Caller, int]:
        """A user `leaver` logs in and is deleted, then `new-admin` (ADMIN) is created: leaver's
        caller, still holding its token, and new-admin's id. With same_id, new-admin's row then
        takes leaver's id, as a database that hands ids out again would."""
        leaver = self.user(Role.READ, username="leaver")
        assert self.owner.delete(f"/v1/users/{leaver.userid}").status_code == 200
        body = {"username": "new-admin", "password": "New-Admin-Pass-1", "role": int(Role.ADMIN)}
        made = self.owner.post("/v1/users", body)
        assert made.status_code == 201, made.get_json()
        new_id = self.anon.login("new-admin", "New-Admin-Pass-1").userid
        if same_id:
            engine = self.app.extensions["dbconnector"].engine
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM refresh_tokens WHERE user_id = :id"), {"id": new_id})
                conn.execute(
                    text("UPDATE users SET id = :old WHERE id = :new"),
                    {"old": leaver.userid, "new": new_id},
                )
            new_id = leaver.userid
        return leaver, new_id

    def grant(self, token: str, user: Caller) -> None:
        response = self.owner.post(f"/v1/connection/{token}/user/{user.userid}")
        assert response.status_code == 201, response.get_json()


def build_app(tmp_path: Path, template: Path, **overrides: Any) -> Flask:
    """An app whose data dir is tmp_path/data, so target files can sit beside it in tmp_path."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    db_path = data_dir / "dbconnector.db"
    if "database_url" not in overrides:
        shutil.copy(template, db_path)
        overrides["database_url"] = f"sqlite:///{db_path}"
    settings = make_settings(data_dir, **overrides)
    engine = make_engine(settings.database_url)
    ensure_user(engine, settings, OWNER[0], OWNER[1], int(Role.OWNER))
    engine.dispose()
    return create_app(settings)
