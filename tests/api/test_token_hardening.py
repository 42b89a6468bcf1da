"""Token hardening: refresh-token reuse revokes the user's tokens; claims carry no secrets;
algorithm confusion and tampering give exactly 401 Bad Token."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import sqlite3
import time

import jwt
import pytest
from sqlalchemy import select, update

from dbconnector.lib.keys import jwt_key
from dbconnector.lib.roles import Role
from dbconnector.store import refresh_tokens as refresh_store
from dbconnector.store.refresh_tokens import SWEEP_SECONDS
from dbconnector.store.tables import refresh_tokens, users
from tests.support.app import OWNER, TEST_SECRET, Caller, build_app

BAD_TOKEN = {"error": "Bad Token"}


def refresh(caller: Caller, refresh_token: str | None = None):
    return caller.post("/v1/auth/refresh", {"refresh_token": refresh_token or caller.refresh_token})


def paired(caller: Caller, body: dict) -> Caller:
    fresh = Caller(caller.client, body["authToken"], caller.addr)
    fresh.userid, fresh.refresh_token = body["userid"], body["refreshToken"]
    return fresh


# --- signing happens after the commit -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/auth", "/v1/auth/refresh"])
def test_tokens_are_signed_after_the_metadata_write_commits(env, monkeypatch, path):
    """Signing needs no database: done inside the write transaction, it held the metadata
    database's one write lock (SQLite) for two signatures' time on every login and refresh."""
    from dbconnector.auth.tokens import Pair

    user = env.user(Role.READ, username="signer@example.org")
    database = env.services.engine.url.database
    writable: list[bool] = []
    sign = Pair.signed

    def signed(pair: Pair) -> dict:
        other = sqlite3.connect(database, timeout=0)  # another writer, refusing to wait
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            writable.append(True)
        except sqlite3.OperationalError:  # "database is locked": a write transaction is open
            writable.append(False)
        finally:
            other.close()
        return sign(pair)

    monkeypatch.setattr(Pair, "signed", signed)
    if path == "/v1/auth":
        body = {"username": "signer@example.org", "password": "User-Password-1"}
        response = env.anon.post(path, body)
    else:
        response = refresh(user)
    assert response.status_code == 200 and set(response.get_json()) == {
        "userid",
        "authToken",
        "refreshToken",
    }
    assert writable == [True]


# --- reuse detection ------------------------------------------------------------------------


def test_reuse_of_a_spent_refresh_token_revokes_every_token_of_the_user(env):
    victim = env.user(Role.READ, username="victim@example.org")
    other_session = env.anon.login("victim@example.org", "User-Password-1")
    # The attacker refreshes first with a stolen copy and gets a working pair ...
    stolen = refresh(victim)
    assert stolen.status_code == 200
    attacker = paired(victim, stolen.get_json())
    assert attacker.get(f"/v1/users/{victim.userid}").status_code == 200
    # ... then the legitimate client presents the same (now spent) refresh token.
    reuse = refresh(victim)
    assert reuse.status_code == 401 and reuse.get_json() == BAD_TOKEN
    # Every live authToken of that user is dead, the attacker's included ...
    for caller in (attacker, other_session, victim):
        response = caller.get(f"/v1/users/{victim.userid}")
        assert response.status_code == 401 and response.get_json() == BAD_TOKEN
    execute = attacker.post("/v1/select/sqlite", {"token": "any", "table": "testTable"})
    assert execute.status_code == 401 and execute.get_json() == BAD_TOKEN
    # ... and so is every outstanding refresh token.
    for caller in (attacker, other_session):
        response = refresh(caller)
        assert response.status_code == 401 and response.get_json() == BAD_TOKEN
    # Other users are untouched; the victim can log in again and use the new pair.
    assert env.owner.get("/v1/users").status_code == 200
    again = env.anon.login("victim@example.org", "User-Password-1")
    assert again.get(f"/v1/users/{victim.userid}").status_code == 200
    assert refresh(again).status_code == 200


def test_an_unknown_refresh_token_is_not_a_reuse(env):
    """A refresh token that was never issued (or already revoked) revokes nothing."""
    user = env.user(Role.READ)
    claims = jwt.decode(user.refresh_token, options={"verify_signature": False})
    unknown = jwt.encode(
        {**claims, "jti": "00000000-0000-0000-0000-000000000000"},
        jwt_key(TEST_SECRET),
        algorithm="HS256",
    )
    response = refresh(user, unknown)
    assert response.status_code == 401 and response.get_json() == BAD_TOKEN
    assert user.get(f"/v1/users/{user.userid}").status_code == 200
    assert refresh(user).status_code == 200


def test_spent_rows_are_kept_until_expiry_then_swept(env, monkeypatch):
    user = env.user(Role.READ)
    jti = jwt.decode(user.refresh_token, options={"verify_signature": False})["jti"]
    assert refresh(user).status_code == 200
    engine = env.services.engine
    with engine.connect() as conn:
        row = conn.execute(select(refresh_tokens).where(refresh_tokens.c.jti == jti)).one()
    assert row.spent_at is not None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with engine.begin() as conn:
        conn.execute(
            update(refresh_tokens).where(refresh_tokens.c.jti == jti).values(expires_at=past)
        )
    env.anon.login(*OWNER)  # within a minute of the last sweep: the expired row stays
    with engine.connect() as conn:
        assert conn.execute(select(refresh_tokens).where(refresh_tokens.c.jti == jti)).first()
    # A minute on, issuing a token sweeps expired rows.
    monkeypatch.setattr(refresh_store, "_swept_at", [time.monotonic() - SWEEP_SECONDS])
    env.anon.login(*OWNER)
    with engine.connect() as conn:
        assert (
            conn.execute(select(refresh_tokens).where(refresh_tokens.c.jti == jti)).first() is None
        )


def test_revocation_reaches_another_instance_within_the_cache_lifetime(tmp_path, migrated_template):
    """Two app instances share one metadata database; B caches principals for 1 s."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    a = build_app(tmp_path / "a", migrated_template)
    url = a.extensions["dbconnector"].settings.database_url
    b = build_app(tmp_path / "b", migrated_template, database_url=url, cache_seconds=1.0)
    try:
        caller_a = Caller(a.test_client()).login(*OWNER)
        on_b = Caller(b.test_client(), caller_a.token)
        assert on_b.get("/v1/users").status_code == 200  # cached on B now
        assert refresh(caller_a).status_code == 200
        assert refresh(caller_a).status_code == 401  # the reuse, seen by A
        with a.extensions["dbconnector"].engine.connect() as conn:
            generation = conn.execute(select(users.c.token_generation).where(users.c.id == 1))
            assert generation.scalar() == 1
        time.sleep(1.1)  # B's cached principal (with the old generation) has expired
        response = on_b.get("/v1/users")
        assert response.status_code == 401 and response.get_json() == BAD_TOKEN
    finally:
        for app in (a, b):
            app.extensions["dbconnector"].engine.dispose()


# --- claims ---------------------------------------------------------------------------------


def test_tokens_carry_no_secrets(env):
    user = env.user(Role.FULL, username="claims@example.org", password="Claims-Password-9")
    for token in (user.token, user.refresh_token):
        claims = jwt.decode(token, options={"verify_signature": False})
        assert set(claims) <= {
            "fresh",
            "iat",
            "jti",
            "type",
            "sub",
            "nbf",
            "csrf",
            "exp",
            "ajti",
            "gen",
            "stm",
        }
        text = json.dumps(claims)
        for secret in (
            "Claims-Password-9",
            "claims@example.org",
            TEST_SECRET,
            jwt_key(TEST_SECRET),
        ):
            assert secret not in text
        assert claims["sub"] == str(user.userid)


# --- algorithm confusion and tampering ------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(claims: dict, alg: str, key: str | None = None) -> str:
    """A token with header `alg`, signed with HMAC-SHA256 under `key` (or unsigned)."""
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    if key is None:
        return f"{head}.{body}."
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _variants(env) -> dict[str, str]:
    token = env.owner.token
    claims = jwt.decode(token, options={"verify_signature": False})
    real_key = jwt_key(TEST_SECRET)
    head, body, signature = token.split(".")
    tampered = b64(json.dumps({**claims, "sub": "2"}).encode())
    return {
        "alg none": forge(claims, "none"),
        "alg None, real key": forge(claims, "None", real_key),
        "HS256 wrong key": jwt.encode(claims, "a-wrong-key-of-thirty-two-bytes!", "HS256"),
        "HS256 raw secret": jwt.encode(claims, TEST_SECRET, "HS256"),
        "RS256 header, real key": forge(claims, "RS256", real_key),
        "ES256 header, real key": forge(claims, "ES256", real_key),
        "HS512 header, real key": forge(claims, "HS512", real_key),
        "payload tampered": f"{head}.{tampered}.{signature}",
        "signature stripped": f"{head}.{body}.",
        "signature cut": f"{head}.{body}",
        "refresh token as authToken": env.owner.refresh_token,
        # Signed with the real key, but not a token this service issues:
        "no exp": jwt.encode(without(claims, "exp"), real_key, "HS256"),
        "no type": jwt.encode(without(claims, "type"), real_key, "HS256"),
        "no jti": jwt.encode(without(claims, "jti"), real_key, "HS256"),
        "numeric sub": jwt.encode({**claims, "sub": 1}, real_key, "HS256"),
    }


def without(claims: dict, name: str) -> dict:
    return {key: value for key, value in claims.items() if key != name}


VARIANTS = [
    "alg none",
    "alg None, real key",
    "HS256 wrong key",
    "HS256 raw secret",
    "RS256 header, real key",
    "ES256 header, real key",
    "HS512 header, real key",
    "payload tampered",
    "signature stripped",
    "signature cut",
    "refresh token as authToken",
    "no exp",
    "no type",
    "no jti",
    "numeric sub",
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_forged_auth_token_is_bad_token(env, variant):
    token = _variants(env)[variant]
    response = Caller(env.client, token).get("/v1/users")
    assert response.status_code == 401 and response.get_json() == BAD_TOKEN


@pytest.mark.parametrize("variant", VARIANTS)
def test_forged_token_in_refresh_is_bad_token(env, variant):
    """Forged tokens in either slot of /v1/auth/refresh; nothing is consumed by the attempt."""
    forged = _variants(env)[variant]
    as_auth = Caller(env.client, forged).post(
        "/v1/auth/refresh", {"refresh_token": env.owner.refresh_token}
    )
    assert as_auth.status_code == 401 and as_auth.get_json() == BAD_TOKEN
    if variant != "refresh token as authToken":
        as_refresh = refresh(env.owner, forged)
        assert as_refresh.status_code == 401 and as_refresh.get_json() == BAD_TOKEN
    assert refresh(env.owner).status_code == 200


def test_auth_token_as_refresh_token_is_bad_token(env):
    response = refresh(env.owner, env.owner.token)
    assert response.status_code == 401 and response.get_json() == BAD_TOKEN
    assert refresh(env.owner).status_code == 200


def test_tokens_of_a_deleted_user_are_bad_tokens(env):
    user = env.user(Role.READ)
    assert env.owner.delete(f"/v1/users/{user.userid}").status_code == 200
    for response in (user.get("/v1/users/1"), refresh(user)):
        assert response.status_code == 401 and response.get_json() == BAD_TOKEN


def test_a_password_change_ends_the_users_live_auth_tokens(env):
    user = env.user(1, password="Old-Password-1")
    assert user.get(f"/v1/users/{user.userid}").status_code == 200
    changed = env.owner.patch(f"/v1/users/{user.userid}", {"password": "New-Password-2"})
    assert changed.status_code == 200
    refused = user.get(f"/v1/users/{user.userid}")
    assert refused.status_code == 401 and refused.get_json() == {"error": "Bad Token"}
    fresh = env.anon.login(user.username, "New-Password-2")
    assert fresh.get(f"/v1/users/{user.userid}").status_code == 200


def test_signed_pairs_carry_the_header_and_claims_clients_saw_before(app):
    """Pair.signed signs through flask-jwt-extended's create_access_token and
    create_refresh_token; its tokens hold exactly the header and claims clients saw before."""
    import jwt as pyjwt

    from dbconnector.auth.tokens import new_pair
    from dbconnector.lib.keys import jwt_key, key_id

    with app.test_request_context():
        pair = new_pair(7, "90s", 3, 180, 900, "a-stamp")
        body = pair.signed()
    secret = app.config["DBC_SETTINGS"].secret_key
    key = jwt_key(secret)
    assert body["userid"] == 7
    common = {"fresh", "iat", "nbf", "sub", "type", "jti", "gen", "exp", "stm"}
    for token, kind, extra, ttl in (
        (body["authToken"], "access", set(), 90),
        (body["refreshToken"], "refresh", {"ajti"}, 900),
    ):
        assert pyjwt.get_unverified_header(token) == {
            "alg": "HS256",
            "typ": "JWT",
            "kid": key_id(secret),
        }
        claims = pyjwt.decode(token, key, algorithms=["HS256"])
        assert set(claims) == common | extra
        assert (claims["type"], claims["sub"], claims["gen"], claims["fresh"], claims["stm"]) == (
            kind,
            "7",
            3,
            False,
            "a-stamp",
        )
        assert claims["exp"] - claims["iat"] == ttl and claims["nbf"] == claims["iat"]
    access = pyjwt.decode(body["authToken"], key, algorithms=["HS256"])
    refresh = pyjwt.decode(body["refreshToken"], key, algorithms=["HS256"])
    assert access["jti"] == pair.access_jti and refresh["jti"] == pair.refresh_jti
    assert refresh["ajti"] == pair.access_jti


# --- a token is bound to its user, not only to the user's id --------------------------------


def test_a_deleted_users_token_never_authenticates_as_the_next_user(env):
    """The id is not handed out again, and the leaver's token is refused."""
    leaver, new_id = env.leaver_after_new_admin()
    assert new_id > leaver.userid
    answer = leaver.get("/v1/users")
    assert answer.status_code == 401 and answer.get_json() == {"error": "Bad Token"}


def test_a_token_is_refused_when_its_id_now_names_another_user(env):
    """Even were the id reused, the token's stamp is the leaver's, not new-admin's."""
    leaver, new_id = env.leaver_after_new_admin(same_id=True)
    assert new_id == leaver.userid
    for path in ("/v1/users", f"/v1/users/{new_id}"):
        answer = leaver.get(path)
        assert answer.status_code == 401 and answer.get_json() == {"error": "Bad Token"}
    refreshed = leaver.post("/v1/auth/refresh", {"refresh_token": leaver.refresh_token})
    assert refreshed.status_code == 401 and refreshed.get_json() == {"error": "Bad Token"}
    new_admin = env.anon.login("new-admin", "New-Admin-Pass-1")
    assert new_admin.userid == new_id
    assert new_admin.get(f"/v1/users/{new_id}").get_json()[0]["Username"] == "new-admin"
