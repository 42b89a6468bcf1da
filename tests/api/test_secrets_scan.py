"""No password, connection-string credential or token in clear in any log line, error body or
file on disk.

A full workflow (logins good and bad, refresh and refresh reuse, users and connections CRUD with
distinctive secrets, execution calls that succeed and fail, an unreachable target) runs against
the app with every logger at DEBUG, and against a gunicorn-served instance whose stdout and stderr
go to a file. Then the captured logs, every response body that is not supposed to carry the
secret, and every file in the data dir (but the secret key file) are searched for each secret.
The scan is generic: whatever the service logs is scanned.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dbconnector.lib.roles import Role
from dbconnector.store.seed import build_demo_target
from tests.support.app import OWNER, Caller
from tests.support.servers import Service

UNREACHABLE_PORT = 8599  # in this suite's port range; nothing listens there


@dataclass
class Secrets:
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    found_tokens: list[str] = field(default_factory=list)
    # The service's secret keys (current and previous), never to be shown anywhere either.
    keys: list[str] = field(default_factory=list)

    @property
    def previous_key(self) -> str:
        return f"PreviousKey-{self.tag}-0123456789"

    @property
    def user_password(self) -> str:
        return f"UserPw-{self.tag}-first"

    @property
    def user_password2(self) -> str:
        return f"UserPw-{self.tag}-second"

    @property
    def wrong_password(self) -> str:
        return f"WrongPw-{self.tag}"

    @property
    def conn_password(self) -> str:
        return f"ConnPw-{self.tag}-first"

    @property
    def conn_password2(self) -> str:
        return f"ConnPw-{self.tag}-second"

    def passwords(self) -> list[str]:
        return [
            self.user_password,
            self.user_password2,
            self.wrong_password,
            self.conn_password,
            self.conn_password2,
        ]

    def all(self, owner_password: str) -> list[str]:
        """Every secret, and for tokens also their signatures (a log might print only a part)."""
        tokens = [part for token in self.found_tokens for part in (token, token.split(".")[2])]
        return [*self.passwords(), owner_password, *tokens, *self.keys]


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    text: str
    reveals: bool  # a body that carries a secret by design: issued tokens, an admin's view


# send(method, path, body, token, raw) -> (status, text)
Send = Callable[[str, str, Any, "str | None", "str | None"], tuple[int, str]]


class Workflow:
    def __init__(self, send: Send, secrets: Secrets, owner_password: str, target: Path):
        self.send = send
        self.secrets = secrets
        self.owner_password = owner_password
        self.target = target
        self.exchanges: list[Exchange] = []

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: str | None = None,
        reveals: bool = False,
    ) -> tuple[int, Any]:
        status, text = self.send(method, path, body, token, raw)
        self.exchanges.append(Exchange(method, path, status, text, reveals))
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            for key in ("authToken", "refreshToken"):
                if key in parsed:
                    self.secrets.found_tokens.append(parsed[key])
        return status, parsed

    def login(self, username: str, password: str) -> dict[str, Any]:
        status, body = self.call(
            "POST", "/v1/auth", {"username": username, "password": password}, reveals=True
        )
        assert status == 200, body
        return body

    def run(self) -> None:
        s = self.secrets
        owner = self.login(OWNER[0], self.owner_password)["authToken"]
        # logins that fail, with a secret in the attempt
        for username in (OWNER[0], "nobody@example.org"):
            status, _ = self.call(
                "POST", "/v1/auth", {"username": username, "password": s.wrong_password}
            )
            assert status == 401
        # users CRUD
        username = f"scan-{s.tag}@example.org"
        user = {"username": username, "password": s.user_password, "role": int(Role.FULL)}
        status, body = self.call("POST", "/v1/users", user, owner)
        assert status == 201, body
        user_id = body["id"]
        assert self.call("POST", "/v1/users", user, owner)[0] == 400  # duplicate
        bad = {**user, "username": "x@example.org", "role": "boss"}
        assert self.call("POST", "/v1/users", bad, owner)[0] == 400
        assert (
            self.call("PATCH", f"/v1/users/{user_id}", {"password": s.user_password2}, owner)[0]
            == 200
        )
        assert self.call("GET", f"/v1/users/{user_id}", None, owner)[0] == 200
        assert self.call("GET", "/v1/users", None, owner)[0] == 200
        pair = self.login(username, s.user_password2)
        # connections CRUD with credentials
        unreachable = {
            "driver": "postgresql",
            "host": "127.0.0.1",
            "port": UNREACHABLE_PORT,
            "database": "postgres",
            "user": f"svc-{s.tag}",
            "password": s.conn_password,
        }
        status, body = self.call(
            "POST",
            "/v1/connections",
            {"name": f"pg-{s.tag}", "connectionString": unreachable},
            owner,
        )
        assert status == 201, body
        pg_token = body["connToken"]
        status, body = self.call(
            "POST",
            "/v1/connections",
            {
                "name": f"lite-{s.tag}",
                "connectionString": {"driver": "sqlite", "database": str(self.target)},
            },
            owner,
        )
        assert status == 201, body
        lite_token = body["connToken"]
        bad_string = {**unreachable, "bogus": s.conn_password}
        status, _ = self.call(
            "POST", "/v1/connections", {"name": "bad", "connectionString": bad_string}, owner
        )
        assert status == 400
        url_string = f"postgresql://svc:{s.conn_password}@127.0.0.1:{UNREACHABLE_PORT}/postgres"
        status, _ = self.call(
            "POST", "/v1/connections", {"name": "url", "connectionString": url_string}, owner
        )
        assert status == 400
        changed = {**unreachable, "password": s.conn_password2}
        status, _ = self.call(
            "PATCH", f"/v1/connections/{pg_token}", {"connectionString": changed}, owner
        )
        assert status == 200
        for token in (pg_token, lite_token):
            assert (
                self.call("POST", f"/v1/connections/{token}/users/{user_id}", None, owner)[0] == 201
            )
        # what an admin is shown by design (credentials included)
        self.call("GET", "/v1/connections", None, owner, reveals=True)
        self.call("GET", f"/v1/connections/{pg_token}", None, owner, reveals=True)
        self.call("GET", f"/v1/users/{user_id}/connections", None, owner, reveals=True)
        # what the user is shown: masked
        auth = pair["authToken"]
        assert self.call("GET", f"/v1/connections/{pg_token}", None, auth)[0] == 200
        assert self.call("GET", f"/v1/users/{user_id}/connections", None, auth)[0] == 200
        # execution: success, statement error, unreachable target, malformed bodies
        select = {"token": lite_token, "table": "testTable"}
        assert self.call("POST", "/v1/select/sqlite", select, auth)[0] == 200
        # (a /query statement's text is audited by design, so no secret goes into one here)
        query = {"token": lite_token, "statement": "SELECT nothing FROM nowhere"}
        assert self.call("POST", "/v1/query/sqlite", query, auth)[0] == 400
        status, _ = self.call(
            "POST", "/v1/select/postgresql", {"token": pg_token, "table": "t"}, auth
        )
        assert status >= 400
        raw = f'{{"token": "{lite_token}", "password": "{s.wrong_password}"'
        assert self.call("POST", "/v1/select/sqlite", None, auth, raw=raw)[0] == 400
        # refresh, then a reuse of the spent refresh token revokes the user's tokens
        status, fresh = self.call(
            "POST",
            "/v1/auth/refresh",
            {"refresh_token": pair["refreshToken"]},
            auth,
            reveals=True,
        )
        assert status == 200
        status, _ = self.call(
            "POST", "/v1/auth/refresh", {"refresh_token": pair["refreshToken"]}, auth
        )
        assert status == 401
        assert self.call("GET", f"/v1/users/{user_id}", None, fresh["authToken"])[0] == 401
        # a token in the wrong place, and garbage tokens
        assert self.call("GET", "/v1/users", None, pair["refreshToken"])[0] == 401
        assert self.call("GET", "/v1/users", None, auth + "x")[0] == 401
        assert self.call("GET", "/admin/metrics")[0] == 200
        # clean up
        assert self.call("DELETE", f"/v1/connections/{pg_token}", None, owner)[0] == 200
        assert self.call("DELETE", f"/v1/users/{user_id}", None, owner)[0] == 200


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Each secret found, with a little context to show where it was."""
    found = []
    for secret in secrets:
        at = text.find(secret)
        if at >= 0:
            context = text[max(0, at - 120) : at].replace(secret, "<secret>")
            found.append(f"{secret[:12]}... after: {context!r}")
    return found


def scan(workflow: Workflow, log_text: str, data_dir: Path) -> list[str]:
    secrets = workflow.secrets.all(workflow.owner_password)
    assert len(workflow.secrets.found_tokens) >= 6  # the scan did see real tokens
    found = [f"log: {hit}" for hit in leaks(log_text, secrets)]
    for exchange in workflow.exchanges:
        if not exchange.reveals:
            for hit in leaks(exchange.text, secrets):
                found.append(f"{exchange.method} {exchange.path} {exchange.status}: {hit}")
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and path.name != "secret_key":
            content = path.read_bytes().decode("latin-1")
            found.extend(f"{path.name}: {hit}" for hit in leaks(content, secrets))
    return found


def assert_metadata_holds_only_hashes_and_ciphertext(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
        sealed = [row[0] for row in conn.execute("SELECT secret FROM connections")]
    assert hashes and all(value.startswith("$2b$") and len(value) == 60 for value in hashes)
    assert sealed and all(value.startswith("gAAAAA") for value in sealed)  # Fernet tokens


# --- in process, every logger at DEBUG ------------------------------------------------------


@pytest.fixture
def debug_logs() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))  # message, arguments and any traceback

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    yield lines
    logging.getLogger().removeHandler(handler)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_no_secret_in_logs_bodies_or_data_dir(make_env, tmp_path, debug_logs, capfd):
    secrets = Secrets()
    env = make_env(log_level="DEBUG", previous_secret_keys=(secrets.previous_key,))
    secrets.keys += [env.services.settings.secret_key, secrets.previous_key]
    for name in list(logging.root.manager.loggerDict):  # loggers the app created since
        logging.getLogger(name).setLevel(logging.DEBUG)
    data_dir = env.services.settings.data_dir
    target = tmp_path / "target.db"  # beside the data dir: a target is never inside it
    build_demo_target(target)

    def send(method: str, path: str, body: Any, token: str | None, raw: str | None):
        caller = Caller(env.client, token)
        if raw is not None:
            response = caller.call(method, path, data=raw, content_type="application/json")
        else:
            response = caller.call(method, path, json=body)
        return response.status_code, response.get_data(as_text=True)

    workflow = Workflow(send, secrets, OWNER[1], target)
    workflow.run()
    env.services.usage.close()  # flush buffered usage, as a stopping worker does
    for handler in logging.getLogger().handlers:  # and the batched log lines
        handler.flush()
    captured = capfd.readouterr()
    log_text = "\n".join(debug_logs) + captured.out + captured.err
    assert "sqlalchemy.engine" in log_text  # DEBUG really reached the libraries' loggers
    assert scan(workflow, log_text, data_dir) == []
    assert_metadata_holds_only_hashes_and_ciphertext(data_dir / "dbconnector.db")


# --- gunicorn, stdout and stderr to a file --------------------------------------------------


def test_no_secret_in_gunicorn_output_or_data_dir(tmp_path):
    secrets = Secrets()
    owner_password = f"OwnerPw-{secrets.tag}"
    data_dir = tmp_path / "data"
    target = tmp_path / "target.db"
    build_demo_target(target)
    service = Service(
        tmp_path,
        # No key from the environment: the service makes its own key file in the data dir.
        unset=("DBCONNECTOR_DATABASE_URL", "DBCONNECTOR_SECRET_KEY"),
        DBCONNECTOR_OWNER_USERNAME=OWNER[0],
        DBCONNECTOR_OWNER_PASSWORD=owner_password,
        DBCONNECTOR_DEMO="1",
        DBCONNECTOR_LOG_LEVEL="DEBUG",
        DBCONNECTOR_BCRYPT_ROUNDS="4",
        DBCONNECTOR_CONNECT_TIMEOUT="2",
        DBCONNECTOR_WORKERS="1",
        DBCONNECTOR_ACCESS_LOG="1",  # gunicorn's own access lines too
        DBCONNECTOR_THREADS="2",
        DBCONNECTOR_PREVIOUS_SECRET_KEYS=secrets.previous_key,
    )
    port = service.port
    try:

        def send(method: str, path: str, body: Any, token: str | None, raw: str | None):
            data = (
                raw.encode()
                if raw is not None
                else (json.dumps(body).encode() if body is not None else None)
            )
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()

        workflow = Workflow(send, secrets, owner_password, target)
        workflow.run()
    finally:
        service.stop(graceful=True)
    log_text = service.log_path.read_text()
    secrets.keys += [(data_dir / "secret_key").read_text().strip(), secrets.previous_key]
    # the log did capture the requests (whatever its format) and the startup
    assert "/v1/auth/refresh" in log_text and "/v1/select/sqlite" in log_text
    assert scan(workflow, log_text, data_dir) == []
    assert "Boston2021" not in log_text  # the demo password is published, but is not logged
    assert_metadata_holds_only_hashes_and_ciphertext(data_dir / "dbconnector.db")
