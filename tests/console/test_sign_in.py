"""Signing in to the console: ADMIN and OWNER only, with /v1/auth's password, allowlist and flood
checks; the cookie's flags; signing out, idling out and key rotation."""

from __future__ import annotations

import re

from dbconnector.console import POLICY
from dbconnector.lib.keys import KeyRing
from dbconnector.lib.roles import Role
from tests.support.app import OWNER, Caller


def test_the_owner_signs_in_and_every_page_answers(env, console_as):
    browser = console_as(env)
    for path, heading in [
        ("/console/dashboard", "Dashboard"),
        ("/console/users", "Users"),
        ("/console/connections", "Connections"),
        ("/console/jobs", "Jobs"),
        ("/console/audit", "Audit"),
    ]:
        page = browser.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f"<h1>{heading}</h1>" in html, path
        assert page.headers["Content-Security-Policy"] == POLICY
        assert "<script" not in html and "'unsafe-inline'" not in POLICY
        assert OWNER[0] in html and "Sign out" in html


def test_a_read_user_cannot_sign_in_and_gets_no_session(env, console_as):
    reader = env.user(Role.READ | Role.FULL, username="reader@example.org")
    browser = console_as(env, None)
    answer = browser.sign_in("reader@example.org", "User-Password-1")
    assert answer.status_code == 403
    assert "Not allowed." in answer.get_data(as_text=True)
    assert "sid" not in _session_fields(browser)
    page = browser.get("/console/users")
    assert page.status_code == 303 and page.headers["Location"] == "/console/"
    # a bearer token opens no console page either
    assert env.owner.get("/console/audit").status_code == 303
    owner = console_as(env)
    audit = owner.get("/console/audit?action=console.sign_in").get_data(as_text=True)
    assert "refused" in audit and f"user_id: {reader.userid}" in audit


def test_every_page_but_sign_in_needs_a_session(env, console_as):
    browser = console_as(env, None)
    values = {"user_id": "1", "token": "45826BE6-1E29-CC64-B49E-550B9610C2EA", "job_id": "x"}
    checked = 0
    for rule in env.app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in {
            "console.sign_in",
            "console.static",
        }:
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{name}>", values[name], path)
        bearer = {"Authorization": f"Bearer {env.owner.token}"}
        if "GET" in rule.methods:
            answer = browser.get(path, headers=bearer)
            assert answer.status_code == 303 and answer.headers["Location"] == "/console/", path
        if "POST" in rule.methods:
            assert browser.post(path, {"name": "x"}, headers=bearer).status_code == 403, path
        checked += 1
    assert checked >= 15


def test_wrong_passwords_disabled_users_and_outside_addresses_are_refused(env, console_as):
    env.user(Role.ADMIN, username="admin@example.org")
    for username, fields in [
        ("far@example.org", {"ipaddresses": "10.9.9.9"}),
        ("off@example.org", {"enabled": False}),
    ]:
        body = {"username": username, "password": "User-Password-1", "role": 2048, **fields}
        assert env.owner.post("/v1/users", body).status_code == 201
    browser = console_as(env, None)
    wrong = browser.sign_in("admin@example.org", "not-the-password")
    assert wrong.status_code == 401
    assert "Invalid username or password" in wrong.get_data(as_text=True)
    unknown = browser.sign_in("nobody@example.org", "not-the-password")
    assert unknown.status_code == 401
    # a refused user with the right password answers as a wrong password does, as /v1/auth does
    for refused in ("far@example.org", "off@example.org"):
        answer = browser.sign_in(refused, "User-Password-1")
        assert answer.status_code == 401
        assert "Invalid username or password" in answer.get_data(as_text=True)
    assert "sid" not in _session_fields(browser)
    assert browser.sign_in("admin@example.org", "User-Password-1").status_code == 303


def test_sign_in_counts_against_the_same_flood_limits_as_v1_auth(make_env, console_as):
    env = make_env(auth_ratelimit="3/minute")  # the OWNER's own login spent one
    browser = console_as(env, None)
    assert browser.sign_in(OWNER[0], "wrong-password").status_code == 401
    assert browser.sign_in(OWNER[0], "wrong-password").status_code == 401
    flooded = browser.sign_in(OWNER[0], OWNER[1])
    assert flooded.status_code == 429 and flooded.headers["Retry-After"]
    assert "Too many sign-in attempts" in flooded.get_data(as_text=True)
    # and the REST door shares the count
    refused = env.anon.post("/v1/auth", {"username": OWNER[0], "password": OWNER[1]})
    assert refused.get_json() == {"error": "No Data"}


def test_the_cookie_is_httponly_strict_and_secure_off_loopback(env, console_as):
    local = console_as(env, None)
    answer = local.sign_in(*OWNER)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: the docs' one exception
    for base, address in [
        ("http://console.example.org", "127.0.0.1"),
        ("https://localhost", "127.0.0.1"),
        ("http://localhost", "10.1.2.3"),  # a proxy that kept Host but is not trusted
    ]:
        remote = console_as(env, None, base_url=base, addr=address)
        assert "; Secure" in remote.sign_in(*OWNER).headers["Set-Cookie"], base


def test_sign_out_ends_the_session_on_the_server(env, console_as):
    browser = console_as(env)
    kept = browser.cookie().value
    out = browser.post("/console/sign-out")
    assert out.status_code == 303 and out.headers["Location"] == "/console/"
    replay = console_as(env, None)
    replay.client.set_cookie("dbc_console", kept, path="/console")
    assert replay.get("/console/users").status_code == 303


def test_a_session_ends_after_the_users_token_lifetime_idle(env, console_as, clock):
    env.user(Role.ADMIN, username="brief@example.org", ttl="60s")
    browser = console_as(env, "brief@example.org", "User-Password-1")
    clock.shift(50)
    assert browser.get("/console/users").status_code == 200  # activity keeps it
    clock.shift(50)
    assert browser.get("/console/users").status_code == 200
    clock.shift(61)
    assert browser.get("/console/users").status_code == 303


def test_without_a_ttl_the_idle_time_is_the_access_token_lifetime(env, console_as, clock):
    browser = console_as(env)  # the OWNER: the default 180 s
    clock.shift(179)
    assert browser.get("/console/users").status_code == 200
    clock.shift(181)
    assert browser.get("/console/users").status_code == 303


def test_a_rotated_key_keeps_signed_in_browsers(make_env, console_as, tmp_path):
    env = make_env()
    browser = console_as(env)
    kept = browser.cookie().value
    settings = env.app.config["DBC_SETTINGS"]
    rotated = make_env(
        database_url=settings.database_url,
        secret_key="a-new-secret-key-for-the-rotation-test",
        previous_secret_keys=(settings.secret_key,),
    )
    again = console_as(rotated, None)
    again.client.set_cookie("dbc_console", kept, path="/console")
    assert again.get("/console/users").status_code == 200
    stranger = make_env(
        database_url=settings.database_url, secret_key="an-unrelated-secret-key-0123456789"
    )
    other = console_as(stranger, None)
    other.client.set_cookie("dbc_console", kept, path="/console")
    assert other.get("/console/users").status_code == 303
    assert KeyRing.of("x" * 16).derived("console-session") != KeyRing.of("y" * 16).derived(
        "console-session"
    )


def _session_fields(browser) -> dict:  # type: ignore[no-untyped-def]
    cookie = browser.cookie()
    if cookie is None:
        return {}
    app = browser.client.application
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(cookie.value)


def test_the_form_counts_per_username_across_addresses_with_v1_auth(make_env, console_as):
    env = make_env(auth_ratelimit="2/minute")
    guess = {"username": "Victim@example.org", "password": "guess-guess"}
    first = console_as(env, None, addr="198.51.100.1").sign_in(guess["username"], "guess-guess")
    assert first.status_code == 401
    rest = Caller(env.client, addr="198.51.100.2").post("/v1/auth", guess)
    assert rest.get_json() == {"error": "Invalid username or password"}
    # a third address, the username's count spent by both doors (case aside)
    flooded = console_as(env, None, addr="198.51.100.3").sign_in("victim@example.org", "x")
    assert flooded.status_code == 429 and int(flooded.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts" in flooded.get_data(as_text=True)
    refused = Caller(env.client, addr="198.51.100.4").post("/v1/auth", guess)
    assert refused.get_json() == {"error": "No Data"}
