"""POST /v1/auth and /v1/auth/refresh: tokens, lifetimes, exact 401 bodies, 403s, no enumeration
and no password oracle."""

from __future__ import annotations

import jwt
import pytest

from dbconnector.lib.roles import Role
from dbconnector.store import passwords
from tests.support.app import OWNER, TEST_SECRET, Caller


def decode(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_login_returns_userid_and_both_tokens(env):
    response = env.anon.post("/v1/auth", {"username": OWNER[0], "password": OWNER[1]})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"userid", "authToken", "refreshToken"}
    assert body["userid"] == 1
    access, refresh = decode(body["authToken"]), decode(body["refreshToken"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert access["exp"] - access["iat"] == 180
    assert refresh["exp"] - refresh["iat"] == 900
    assert refresh["ajti"] == access["jti"]


def test_token_works_on_an_authenticated_endpoint(env):
    response = env.owner.get("/v1/users/1")
    assert response.status_code == 200
    assert response.get_json()[0]["Username"] == OWNER[0]


@pytest.mark.parametrize("ttl, seconds", [("90s", 90), ("3m", 180), ("600s", 600), ("1s", 1)])
def test_user_ttl_sets_auth_token_lifetime(env, ttl, seconds):
    user = env.user(Role.READ, ttl=ttl)
    access = decode(user.token)
    assert access["exp"] - access["iat"] == seconds


def test_wrong_password_and_unknown_user_give_the_same_401(env):
    wrong = env.anon.post("/v1/auth", {"username": OWNER[0], "password": "nope-nope-nope"})
    unknown = env.anon.post("/v1/auth", {"username": "ghost@nowhere", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json() == {"error": "Invalid username or password"}


def test_unknown_user_costs_one_bcrypt_check_like_a_wrong_password(env, monkeypatch):
    """Timing parity by construction: both paths run exactly one bcrypt check of the same cost."""
    calls = []
    real = passwords.bcrypt.checkpw

    def spy(password, hashed):
        calls.append(hashed[:7])  # b"$2b$04$": algorithm and cost
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", spy)
    env.anon.post("/v1/auth", {"username": OWNER[0], "password": "wrong-password"})
    env.anon.post("/v1/auth", {"username": "ghost@nowhere", "password": "wrong-password"})
    assert len(calls) == 2 and calls[0] == calls[1]


@pytest.mark.parametrize(
    "body, message",
    [
        (None, "Missing authentication payload"),
        ({}, "Missing username/email field; Missing password field"),
        ({"password": "x"}, "Missing username/email field"),
        ({"username": "x"}, "Missing password field"),
        ({"username": None, "password": "x"}, "Missing username/email field"),
        ({"username": 5, "password": "x"}, "username must be a string"),
    ],
)
def test_malformed_login_is_400_with_a_clear_error(env, body, message):
    response = env.anon.post("/v1/auth", body)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}


def test_login_body_that_is_not_json_is_400(env):
    response = env.client.post("/v1/auth", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "Malformed JSON in request body"}
    response = env.client.post("/v1/auth", data="[1, 2]", content_type="application/json")
    assert response.get_json() == {"error": "The request body must be a JSON object"}


def test_disabled_user_answers_as_a_wrong_password_does(env):
    """Right or wrong password, a disabled user gets the same answer: no password oracle."""
    user = env.user(Role.READ, username="dis@example.org")
    assert env.owner.patch(f"/v1/users/{user.userid}", {"enabled": 0}).status_code == 200
    answers = [
        env.anon.post("/v1/auth", {"username": "dis@example.org", "password": password})
        for password in ("User-Password-1", "wrong-wrong")
    ]
    assert [(a.status_code, a.get_json()) for a in answers] == [
        (401, {"error": "Invalid username or password"})
    ] * 2


def test_login_from_outside_ip_allowlist_answers_as_a_wrong_password_does(env):
    env.owner.post(
        "/v1/users",
        {
            "username": "ip@example.org",
            "password": "User-Password-1",
            "role": 1,
            "ipaddresses": "10.1.2.3, 192.168.0.0/16",
        },
    )
    outside = Caller(env.client, addr="172.16.0.9")
    answers = [
        outside.post("/v1/auth", {"username": "ip@example.org", "password": password})
        for password in ("User-Password-1", "wrong-wrong")
    ]
    assert [(a.status_code, a.get_json()) for a in answers] == [
        (401, {"error": "Invalid username or password"})
    ] * 2
    for addr in ("10.1.2.3", "192.168.44.5"):
        inside = Caller(env.client, addr=addr)
        assert inside.login("ip@example.org", "User-Password-1").token


def test_ip_allowlist_is_enforced_on_every_call_with_the_token(env):
    env.owner.post(
        "/v1/users",
        {
            "username": "ip2@example.org",
            "password": "User-Password-1",
            "role": 1,
            "ipaddresses": "10.0.0.0/8",
        },
    )
    inside = Caller(env.client, addr="10.9.9.9").login("ip2@example.org", "User-Password-1")
    assert inside.get(f"/v1/users/{inside.userid}").status_code == 200
    stolen = Caller(env.client, inside.token, addr="8.8.8.8")
    response = stolen.get(f"/v1/users/{inside.userid}")
    assert response.status_code == 403 and response.get_json() == {}


# --- 401 bodies -----------------------------------------------------------------------------


def test_missing_token_401(env):
    response = env.anon.get("/v1/users")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Missing Authentication Token"}


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer a.b.c", "Bearer"])
def test_garbage_token_401_bad_token(env, header):
    response = env.anon.get("/v1/users", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json() in (
        {"error": "Bad Token"},
        {"error": "Missing Authentication Token"},
    )
    if header != "Bearer":
        assert response.get_json() == {"error": "Bad Token"}


def test_tampered_token_401_bad_token(env):
    header, payload, signature = env.owner.token.split(".")
    forged = jwt.encode(
        {**decode(env.owner.token), "sub": "2"},
        "guess-a-32-byte-long-signing-key!!",
        algorithm="HS256",
    )
    for token in (forged, f"{header}.{payload}.{signature[:-4]}AAAA"):
        response = Caller(env.client, token).get("/v1/users")
        assert response.status_code == 401
        assert response.get_json() == {"error": "Bad Token"}


def test_token_signed_with_raw_secret_is_refused(env):
    """The signing key is derived from the secret, not the secret itself."""
    claims = decode(env.owner.token)
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    assert Caller(env.client, token).get("/v1/users").get_json() == {"error": "Bad Token"}


def test_refresh_token_cannot_be_used_as_auth_token(env):
    response = Caller(env.client, env.owner.refresh_token).get("/v1/users")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Bad Token"}


def test_expired_token_401(env, clock):
    user = env.user(Role.READ, ttl="1s")
    clock.shift(2.1)
    response = user.get(f"/v1/users/{user.userid}")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Expired Token"}


def test_a_token_verified_before_still_expires(env, clock):
    """The manager remembers verified authTokens; expiry is checked on every use all the same,
    and a remembered token still goes through revocation."""
    user = env.user(Role.READ, ttl="2s")
    path = f"/v1/users/{user.userid}"
    assert user.get(path).get_json()[0]["ID"] == user.userid  # verified, now remembered
    assert user.get(path).status_code == 200
    clock.shift(2.1)
    response = user.get(path)
    assert response.status_code == 401 and response.get_json() == {"error": "Expired Token"}
    other = env.user(Role.READ)
    assert other.get(f"/v1/users/{other.userid}").status_code == 200  # remembered
    assert env.owner.delete(f"/v1/users/{other.userid}").status_code == 200
    response = other.get(f"/v1/users/{other.userid}")
    assert response.status_code == 401 and response.get_json() == {"error": "Bad Token"}


def test_token_of_deleted_user_is_bad(env):
    user = env.user(Role.READ)
    assert env.owner.delete(f"/v1/users/{user.userid}").status_code == 200
    response = user.get(f"/v1/users/{user.userid}")
    assert response.status_code == 401 and response.get_json() == {"error": "Bad Token"}


# --- refresh --------------------------------------------------------------------------------


def refresh(caller: Caller, refresh_token: str | None = None):
    return caller.post("/v1/auth/refresh", {"refresh_token": refresh_token or caller.refresh_token})


def test_refresh_returns_a_new_pair(env):
    user = env.user(Role.READ, ttl="90s")
    response = refresh(user)
    assert response.status_code == 200
    body = response.get_json()
    assert body["userid"] == user.userid
    assert body["authToken"] != user.token and body["refreshToken"] != user.refresh_token
    access = decode(body["authToken"])
    assert access["exp"] - access["iat"] == 90  # the user's TTL still applies
    assert Caller(env.client, body["authToken"]).get(f"/v1/users/{user.userid}").status_code == 200


def test_refresh_works_with_an_expired_auth_token(env, clock):
    user = env.user(Role.READ, ttl="1s")
    clock.shift(2.1)
    assert user.get(f"/v1/users/{user.userid}").status_code == 401
    assert refresh(user).status_code == 200


def test_each_refresh_token_works_once(env):
    user = env.user(Role.READ)
    assert refresh(user).status_code == 200
    again = refresh(user)
    assert again.status_code == 401 and again.get_json() == {"error": "Bad Token"}


def test_refresh_token_must_belong_to_the_auth_token(env):
    first = env.user(Role.READ, username="pair@example.org")
    second = env.anon.login("pair@example.org", "User-Password-1")
    mixed = refresh(first, second.refresh_token)
    assert mixed.status_code == 401 and mixed.get_json() == {"error": "Bad Token"}
    other = env.user(Role.READ)
    assert refresh(other, first.refresh_token).status_code == 401
    # the refused attempts consumed nothing
    assert refresh(second).status_code == 200


def test_refresh_needs_the_auth_token_header(env):
    response = Caller(env.client).post(
        "/v1/auth/refresh", {"refresh_token": env.owner.refresh_token}
    )
    assert response.status_code == 401
    assert response.get_json() == {"error": "Missing Authentication Token"}


def test_refresh_without_refresh_token_is_400(env):
    for body in (None, {}, {"refresh_token": None}):
        response = env.owner.post("/v1/auth/refresh", body)
        assert response.status_code == 400
        assert response.get_json() == {"error": "Missing refresh token"}


def test_a_refresh_token_that_is_not_a_string_is_400(env):
    for value in (12, ["a"], {"a": 1}, True):
        response = env.owner.post("/v1/auth/refresh", {"refresh_token": value})
        assert response.status_code == 400
        assert "refresh_token" in response.get_json()["error"]
    assert refresh(env.owner, env.owner.refresh_token).status_code == 200  # still unspent


def test_refresh_with_garbage_refresh_token_is_bad_token(env):
    response = refresh(env.owner, "garbage")
    assert response.status_code == 401 and response.get_json() == {"error": "Bad Token"}


def test_expired_refresh_token_is_expired_token(make_env, clock):
    env = make_env(refresh_ttl=1)
    clock.shift(2.1)
    response = refresh(env.owner)
    assert response.status_code == 401 and response.get_json() == {"error": "Expired Token"}


def test_disabled_user_cannot_refresh(env):
    user = env.user(Role.READ)
    second = env.anon.login(user.username, "User-Password-1")
    env.owner.patch(f"/v1/users/{user.userid}", {"enabled": 0})
    response = refresh(user)
    # disabling ends outstanding refresh tokens; either way the answer is a refusal
    assert response.status_code in (401, 403)
    env.owner.patch(f"/v1/users/{user.userid}", {"enabled": 1})
    assert refresh(second).status_code == 401  # revoked, not just paused


def test_disabled_user_cannot_refresh_even_if_token_row_survived(env):
    """Disable the user behind the service's back: refresh still checks the user."""
    from sqlalchemy import update

    from dbconnector.store.tables import users

    user = env.user(Role.READ)
    with env.services.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.userid).values(enabled=False))
    response = refresh(user)
    assert response.status_code == 403 and response.get_json() == {}


def test_deleted_user_cannot_refresh(env):
    user = env.user(Role.READ)
    env.owner.delete(f"/v1/users/{user.userid}")
    response = refresh(user)
    assert response.status_code == 401 and response.get_json() == {"error": "Bad Token"}


def test_refresh_from_outside_allowlist_is_403(env):
    env.owner.post(
        "/v1/users",
        {
            "username": "ip3@example.org",
            "password": "User-Password-1",
            "role": 1,
            "ipaddresses": "10.0.0.1",
        },
    )
    inside = Caller(env.client, addr="10.0.0.1").login("ip3@example.org", "User-Password-1")
    outside = Caller(env.client, inside.token, addr="10.0.0.2")
    response = outside.post("/v1/auth/refresh", {"refresh_token": inside.refresh_token})
    assert response.status_code == 403 and response.get_json() == {}


def test_password_change_ends_refresh_tokens(env):
    user = env.user(Role.READ)
    env.owner.patch(f"/v1/users/{user.userid}", {"password": "Another-Password-2"})
    assert refresh(user).status_code == 401
    assert env.anon.login(user.username, "Another-Password-2").token


def test_forwarded_for_is_ignored_without_trusted_proxies(env):
    env.owner.post(
        "/v1/users",
        {
            "username": "fw@x",
            "password": "User-Password-1",
            "role": 1,
            "ipaddresses": "203.0.113.5",
        },
    )
    forged = Caller(env.client, addr="10.0.0.9")
    response = forged.post(
        "/v1/auth",
        {"username": "fw@x", "password": "User-Password-1"},
        headers={"X-Forwarded-For": "203.0.113.5"},
    )
    assert response.status_code == 401
    assert response.get_json() == {"error": "Invalid username or password"}


def test_forwarded_for_is_believed_for_the_trusted_hops(make_env):
    env = make_env(trusted_proxies=1)
    env.owner.post(
        "/v1/users",
        {
            "username": "fw@x",
            "password": "User-Password-1",
            "role": 1,
            "ipaddresses": "203.0.113.5",
        },
    )
    via_proxy = Caller(env.client, addr="10.0.0.9")
    body = {"username": "fw@x", "password": "User-Password-1"}
    # the load balancer appends the real client; anything the client wrote before is not trusted
    ok = via_proxy.post("/v1/auth", body, headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.5"})
    assert ok.status_code == 200
    spoofed = via_proxy.post("/v1/auth", body, headers={"X-Forwarded-For": "203.0.113.5, 10.1.1.1"})
    assert spoofed.status_code == 401


def test_a_verified_token_still_expires(env, clock):
    """Tokens are verified once and cached; the cache must not outlive the token."""
    user = env.user(Role.READ, ttl="1s")
    assert user.get(f"/v1/users/{user.userid}").status_code == 200  # verified and cached
    clock.shift(2.1)
    response = user.get(f"/v1/users/{user.userid}")
    assert response.status_code == 401 and response.get_json() == {"error": "Expired Token"}
