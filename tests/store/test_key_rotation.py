"""Rotating DBCONNECTOR_SECRET_KEY: tokens by key id, stored secrets re-sealed by `keys rotate`.

Instances here share one SQLite metadata database, each built with its own key list, as the
instances of a rolling restart do (tests/live/test_key_rotation_served.py does it with gunicorn
and PostgreSQL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from dbconnector.cli import main
from dbconnector.lib.keys import jwt_key, key_id
from dbconnector.lib.roles import Role
from dbconnector.store.secrets import SecretBox
from dbconnector.store.tables import connections
from tests.support.app import Caller

OLD = "old-secret-key-0123456789-abcdefghij"
NEW = "new-secret-key-9876543210-zyxwvutsrq"
BAD_TOKEN = {"error": "Bad Token"}


@pytest.fixture
def shared(make_env, tmp_path, migrated_template):  # type: ignore[no-untyped-def]
    """make(secret, *previous): an Env on one shared metadata database, with that key list."""
    import shutil

    database = tmp_path / "shared.db"
    shutil.copy(migrated_template, database)
    url = f"sqlite:///{database}"

    def make(secret: str, *previous: str):  # type: ignore[no-untyped-def]
        return make_env(database_url=url, secret_key=secret, previous_secret_keys=previous)

    make.url = url  # type: ignore[attr-defined]
    return make


def header(token: str) -> dict:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def refresh(caller: Caller):  # type: ignore[no-untyped-def]
    return caller.post("/v1/auth/refresh", {"refresh_token": caller.refresh_token})


def test_tokens_name_their_key_by_an_id_that_is_not_the_key(env):
    kid = header(env.owner.token)["kid"]
    assert kid == key_id("test-secret-key-for-dbconnector-tests")
    assert len(kid) == 16 and "test-secret" not in kid
    assert kid not in jwt_key("test-secret-key-for-dbconnector-tests")
    assert header(env.owner.refresh_token)["kid"] == kid


def test_old_tokens_verify_on_an_instance_with_the_new_key_until_the_old_key_is_dropped(shared):
    old = shared(OLD)
    user = old.user(Role.READ)
    path = f"/v1/users/{user.userid}"
    rotated = shared(NEW, OLD)
    on_rotated = Caller(rotated.client, user.token)
    answer = on_rotated.get(path)
    assert answer.status_code == 200 and answer.get_json()[0]["ID"] == user.userid
    # Refreshing an old-key pair on the new instance gives a new-key pair.
    on_rotated.refresh_token = user.refresh_token
    response = refresh(on_rotated)
    assert response.status_code == 200, response.get_json()
    fresh = response.get_json()
    assert header(fresh["authToken"])["kid"] == key_id(NEW)
    assert header(fresh["refreshToken"])["kid"] == key_id(NEW)
    # Once the old key is gone, a still-unexpired old-key token is a Bad Token; new ones work.
    new_only = shared(NEW)
    old_token = old.anon.login("user1@example.org", "User-Password-1").token
    assert Caller(new_only.client, old_token).get(path).get_json() == BAD_TOKEN
    assert Caller(new_only.client, old_token).get(path).status_code == 401
    answer = Caller(new_only.client, fresh["authToken"]).get(path)
    assert answer.status_code == 200 and answer.get_json()[0]["ID"] == user.userid


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(claims: dict, secret: str, headers: dict | None) -> str:
    """An HS256 token signed by hand, so its header may hold what PyJWT would refuse to write."""
    head = {"alg": "HS256", "typ": "JWT", **(headers or {})}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(jwt_key(secret).encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.parametrize(
    "headers, status",
    [
        (None, 200),  # issued before key ids: the current key verifies it
        ({"kid": "no-such-key-id00"}, 401),
        ({"kid": 12}, 401),
        ({"kid": ["x"]}, 401),
    ],
)
def test_token_without_a_kid_uses_the_current_key_and_an_unknown_kid_is_bad(env, headers, status):
    claims = jwt.decode(env.owner.token, options={"verify_signature": False})
    token = _forged(claims, "test-secret-key-for-dbconnector-tests", headers)
    response = Caller(env.client, token).get("/v1/users")
    assert response.status_code == status
    if status == 401:
        assert response.get_json() == BAD_TOKEN
    else:
        assert any(user["Username"] == "owner@boston.gov" for user in response.get_json())


def test_a_kid_of_a_listed_key_does_not_accept_another_keys_signature(shared):
    rotated = shared(NEW, OLD)
    claims = jwt.decode(rotated.owner.token, options={"verify_signature": False})
    forged = _forged(claims, "attacker-key-000000000000000000000", {"kid": key_id(OLD)})
    response = Caller(rotated.client, forged).get("/v1/users")
    assert response.status_code == 401 and response.get_json() == BAD_TOKEN


@pytest.mark.parametrize("segment", ["!!!", base64.urlsafe_b64encode(b"[1]").decode(), "e30"])
def test_malformed_token_headers_are_bad_tokens(env, segment):
    _, claims, signature = env.owner.token.split(".")
    response = Caller(env.client, f"{segment}.{claims}.{signature}").get("/v1/users")
    assert response.status_code == 401 and response.get_json() == BAD_TOKEN


@pytest.fixture
def keys_cli(monkeypatch, shared):  # type: ignore[no-untyped-def]
    """keys_cli(command, secret, *previous) -> (exit code, output) of `dbconnector keys ...`."""
    monkeypatch.setenv("DBCONNECTOR_DATABASE_URL", shared.url)
    monkeypatch.delenv("DBCONNECTOR_SECRET_KEY_FILE", raising=False)
    monkeypatch.delenv("DBCONNECTOR_PREVIOUS_SECRET_KEYS_FILE", raising=False)

    def run(command: str, secret: str, *previous: str) -> tuple[int, str]:
        monkeypatch.setenv("DBCONNECTOR_SECRET_KEY", secret)
        monkeypatch.setenv("DBCONNECTOR_PREVIOUS_SECRET_KEYS", ",".join(previous))
        result = CliRunner().invoke(main, ["keys", command], catch_exceptions=False)
        return result.exit_code, result.output

    return run


CONN = {"driver": "postgresql", "host": "db.internal", "database": "x", "password": "conn-pw-123"}


def test_rotate_reseals_every_row_and_the_old_key_can_then_go(shared, keys_cli):
    old = shared(OLD)
    tokens = [old.connection(CONN, name=f"c{n}") for n in range(3)]
    rotated = shared(NEW, OLD)
    rotated.connection(CONN, name="made-after")  # sealed with the new key
    before = [rotated.owner.get(f"/v1/connections/{token}").get_json() for token in tokens]
    assert all(json.loads(r[0]["ConnectionString"]) == CONN for r in before)

    code, output = keys_cli("status", NEW, OLD)
    assert code == 0, output
    assert (
        f"connection strings: 1 on the current key ({key_id(NEW)}), "
        f"3 on previous key 1 ({key_id(OLD)})" in output
    )
    assert OLD not in output and NEW not in output

    code, output = keys_cli("rotate", NEW, OLD)
    assert code == 0, output
    assert "connection strings: 3 re-encrypted with the current key" in output
    assert "4 on the current key" in output and "0 on previous key 1" in output
    code, output = keys_cli("rotate", NEW, OLD)  # resumable: nothing left to do
    assert code == 0 and "0 re-encrypted" in output and "4 on the current key" in output

    new_only = shared(NEW)
    after = [new_only.owner.get(f"/v1/connections/{token}").get_json() for token in tokens]
    assert after == before
    code, output = keys_cli("status", NEW)
    assert code == 0 and f"4 on the current key ({key_id(NEW)})" in output


def test_status_changes_nothing(shared, keys_cli):
    old = shared(OLD)
    old.connection(CONN, name="one")
    engine = old.services.engine
    with engine.connect() as conn:
        before = conn.execute(select(connections.c.secret)).scalars().all()
    code, output = keys_cli("status", NEW, OLD)
    assert code == 0 and "0 on the current key" in output and "1 on previous key 1" in output
    with engine.connect() as conn:
        assert conn.execute(select(connections.c.secret)).scalars().all() == before


def test_rotate_reports_rows_no_listed_key_opens_and_fails(shared, keys_cli):
    old = shared(OLD)
    old.connection(CONN, name="lost")
    old.connection(CONN, name="kept")
    stranger = SecretBox("a-key-nobody-lists-0123456789abc").seal(json.dumps(CONN))
    with old.services.engine.begin() as conn:
        conn.execute(
            update(connections).where(connections.c.name == "lost").values(secret=stranger)
        )
    code, output = keys_cli("rotate", NEW, OLD)
    assert code == 1
    assert "1 re-encrypted" in output and "1 sealed with no listed key" in output
    assert "rotation is incomplete" in output


def test_a_row_rewritten_while_rotating_is_left_to_the_next_run(shared, keys_cli):
    """An instance re-saves a connection string between rotate's read and its update: rotate
    must not overwrite it with the stale one, and says to run again."""
    from dbconnector.store import rotation

    old = shared(OLD)
    token = old.connection(CONN, name="busy")
    changed = {**CONN, "password": "changed-meanwhile"}

    class Busy(SecretBox):
        def key_index(self, ciphertext: str) -> int | None:
            response = old.owner.patch(f"/v1/connections/{token}", {"connectionString": changed})
            assert response.status_code == 200, response.get_json()
            return super().key_index(ciphertext)

    (tally,) = rotation.rotate(old.services.engine, Busy(NEW, [OLD]))
    assert (tally.resealed, tally.changed_meanwhile) == (0, 1)
    record = shared(NEW, OLD).owner.get(f"/v1/connections/{token}").get_json()[0]
    assert json.loads(record["ConnectionString"]) == changed
    code, output = keys_cli("rotate", NEW, OLD)
    assert code == 0 and "1 re-encrypted" in output


def test_an_instance_that_lists_the_new_key_as_previous_reads_what_new_ones_write(shared):
    """The runbook's first pass: OLD current, NEW previous, beside an instance already on NEW."""
    accepting, switched = shared(OLD, NEW), shared(NEW, OLD)
    token = switched.connection(CONN, name="sealed-with-new")
    fresh = switched.anon.login("owner@boston.gov", "Owner-Password-1")
    assert header(fresh.token)["kid"] == key_id(NEW)
    answer = Caller(accepting.client, fresh.token).get(f"/v1/connections/{token}")
    assert answer.status_code == 200, answer.get_json()
    assert json.loads(answer.get_json()[0]["ConnectionString"]) == CONN
    assert header(accepting.owner.token)["kid"] == key_id(OLD)  # it still signs with OLD
