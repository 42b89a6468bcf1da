"""A rolling key rotation, live: two gunicorn-served instances on one PostgreSQL metadata database.

Both start on the old key; one is restarted with a new current key and the old one as previous,
then the other; callers holding old tokens see no 401 and every connection call answers as
before; `dbconnector keys rotate` re-seals every row; the old key is dropped and everything still
works, but a token signed with the removed key is a Bad Token. No key reaches a log.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dbconnector.lib.keys import key_id
from dbconnector.lib.roles import Role
from dbconnector.store.seed import build_demo_target
from tests.support.servers import Service

pytestmark = pytest.mark.live

OWNER = ("rotation-owner@example.org", "Rotation-Owner-Password-1")
USER = ("rotation-user@example.org", "Rotation-User-Password-1")
BAD_TOKEN = {"error": "Bad Token"}


def kid(token: str) -> str:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["kid"]


class Rollout:
    """Instances started and restarted with a key list, all on one metadata database."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path, self.database_url = tmp_path, database_url
        self.logs: list[Path] = []
        self.running: list[Service] = []

    def start(self, name: str, current: str, *previous: str) -> Service:
        data_dir = self.tmp_path / name
        data_dir.mkdir()
        service = Service(data_dir, **self.keys(current, *previous))
        self.logs.append(service.log_path)
        self.running.append(service)
        return service

    def keys(self, current: str, *previous: str) -> dict[str, str]:
        return {
            "DBCONNECTOR_ENV": "production",
            "DBCONNECTOR_DATABASE_URL": self.database_url,
            "DBCONNECTOR_SQLITE_ROOTS": str(self.tmp_path),  # the target beside the data dirs
            "DBCONNECTOR_SECRET_KEY": current,
            "DBCONNECTOR_PREVIOUS_SECRET_KEYS": ",".join(previous),
            "DBCONNECTOR_OWNER_USERNAME": OWNER[0],
            "DBCONNECTOR_OWNER_PASSWORD": OWNER[1],
            "DBCONNECTOR_ACCESS_TTL": "600",
            "DBCONNECTOR_BCRYPT_ROUNDS": "4",
            "DBCONNECTOR_WORKERS": "1",
            "DBCONNECTOR_CACHE_SECONDS": "0",
            "DBCONNECTOR_DEMO": "0",  # `make test` exports DBCONNECTOR_DEMO=1
        }

    def restart(self, service: Service, name: str, current: str, *previous: str) -> Service:
        service.stop()
        self.running.remove(service)
        return self.start(name, current, *previous)

    def keys_command(self, command: str, current: str, *previous: str) -> str:
        env = {**os.environ, **self.keys(current, *previous)}
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dbconnector"), "keys", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop_all(self) -> None:
        for service in self.running:
            service.stop()


@pytest.fixture
def rollout(tmp_path, fresh_postgres_url):  # type: ignore[no-untyped-def]
    made = Rollout(tmp_path, fresh_postgres_url)
    yield made
    made.stop_all()


def test_rolling_rotation_keeps_callers_working_then_drops_the_old_key(rollout, tmp_path):
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    first = rollout.start("first", old)
    second = rollout.start("second", old)
    # Before: the OWNER makes a connection and a READ user; the user holds an old-key pair.
    owner = first.login(*OWNER)
    target = tmp_path / "target.db"
    build_demo_target(target)
    status, body = first.call(
        "POST",
        "/v1/connection",
        {"name": "demo", "connectionString": {"driver": "sqlite", "database": str(target)}},
        owner,
    )
    assert status == 201, body
    conn_token = body["connToken"]
    status, body = first.call(
        "POST",
        "/v1/users",
        {"username": USER[0], "password": USER[1], "role": int(Role.READ)},
        owner,
    )
    assert status == 201, body
    user_id = body["id"]
    assert first.call("POST", f"/v1/connection/{conn_token}/user/{user_id}", None, owner)[0] == 201
    status, pair = second.call("POST", "/v1/auth", {"username": USER[0], "password": USER[1]})
    assert status == 200 and kid(pair["authToken"]) == key_id(old)
    select = {"token": conn_token, "table": "testTable"}

    def calls(service: Service, user_token: str, owner_token: str) -> list:
        """Every connection call the two callers make, as (status, body); a connection record's
        use counters (Count, LastUse) move with every call, so they are left out."""
        answers = [
            service.call("POST", "/v1/select/sqlite", select, user_token),
            service.call("GET", f"/v1/connections/{conn_token}", None, user_token),
            service.call("GET", f"/v1/connections/{conn_token}", None, owner_token),
            service.call("GET", f"/v1/users/{user_id}/connections", None, owner_token),
        ]
        for _, body in answers[1:]:
            for record in body if isinstance(body, list) else []:
                record.pop("Count", None)
                record.pop("LastUse", None)
        return answers

    before = calls(second, pair["authToken"], owner)
    assert [status for status, _ in before] == [200] * 4
    assert len(before[0][1]) == 8 and before[1][1] == calls(first, pair["authToken"], owner)[1][1]

    # One instance restarted with the new key, the old one as previous: old tokens keep working
    # on both, and every connection call answers as before.
    second = rollout.restart(second, "second-rotated", new, old)
    assert calls(second, pair["authToken"], owner) == before
    assert calls(first, pair["authToken"], owner) == before
    status, fresh = second.call(
        "POST", "/v1/auth/refresh", {"refresh_token": pair["refreshToken"]}, pair["authToken"]
    )
    assert status == 200, fresh
    assert kid(fresh["authToken"]) == kid(fresh["refreshToken"]) == key_id(new)
    new_owner = second.login(*OWNER)
    assert kid(new_owner) == key_id(new)
    assert calls(second, fresh["authToken"], new_owner) == before

    # Then the other; only now may anything be sealed with the new key.
    first = rollout.restart(first, "first-rotated", new, old)
    assert calls(first, fresh["authToken"], new_owner) == before
    assert calls(first, pair["authToken"], owner) == before  # still unexpired, still fine

    status_text = rollout.keys_command("status", new, old)
    assert f"1 on previous key 1 ({key_id(old)})" in status_text
    rotated = rollout.keys_command("rotate", new, old)
    assert "connection strings: 1 re-encrypted with the current key" in rotated
    status_text = rollout.keys_command("status", new, old)
    assert f"1 on the current key ({key_id(new)})" in status_text
    assert f"0 on previous key 1 ({key_id(old)})" in status_text
    assert calls(first, pair["authToken"], owner) == before

    # The old key dropped: everything still works with new tokens; old-key tokens are Bad Token.
    first = rollout.restart(first, "first-new-only", new)
    second = rollout.restart(second, "second-new-only", new)
    for service in (first, second):
        assert calls(service, fresh["authToken"], new_owner) == before
        for old_token in (pair["authToken"], owner):
            assert service.call("POST", "/v1/select/sqlite", select, old_token) == (401, BAD_TOKEN)
            assert service.call("GET", "/v1/users", None, old_token) == (401, BAD_TOKEN)
    assert f"1 on the current key ({key_id(new)})" in rollout.keys_command("status", new)

    # No key, and no token, in any instance's log or in the key commands' output.
    rollout.stop_all()
    rollout.running.clear()
    text = "".join(path.read_text(errors="replace") for path in rollout.logs)
    assert "/v1/select/" in text  # the logs did record the calls
    for secret in (old, new, pair["authToken"], fresh["authToken"], owner, new_owner):
        assert secret not in text and secret not in status_text + rotated
        assert secret.split(".")[-1] not in text
