"""Every state-changing console form carries its session's CSRF token: without it, or with
another session's, the answer is 403 and nothing changes."""

from __future__ import annotations

import pytest

from dbconnector.lib.roles import Role
from tests.support.app import OWNER

NEW_USER = {
    "username": "mallory@example.org",
    "password": "Mallory-Password-1",
    "role": "2048",
    "enabled": "1",
}


def _users(env) -> list[str]:  # type: ignore[no-untyped-def]
    return [user["Username"] for user in env.owner.get("/v1/users").get_json()]


@pytest.mark.parametrize("token", ["missing", "empty", "another session's"])
def test_a_form_without_this_sessions_token_changes_nothing(env, console_as, token):
    browser = console_as(env)
    other = console_as(env)  # the same OWNER, in another browser
    form = dict(NEW_USER)
    if token == "empty":
        form["csrf_token"] = ""
    elif token == "another session's":
        form["csrf_token"] = other.csrf
        assert other.csrf and other.csrf != browser.csrf
    before = _users(env)
    answer = browser.post("/console/users/new", form, csrf=token != "missing")
    assert answer.status_code == 403
    assert "Not allowed." in answer.get_data(as_text=True)
    assert _users(env) == before
    # the same form with its own token goes through
    assert browser.post("/console/users/new", NEW_USER).status_code == 303
    assert "mallory@example.org" in _users(env)


def test_every_state_changing_form_checks_the_token(env, console_as):
    user = env.user(Role.READ, username="kept@example.org")
    token = env.connection(name="kept-connection")
    env.grant(token, user)
    browser = console_as(env)
    posts = [
        "/console/users/new",
        f"/console/users/{user.userid}",
        f"/console/users/{user.userid}/delete",
        f"/console/users/{user.userid}/grants",
        f"/console/users/{user.userid}/grants/{token}/revoke",
        "/console/connections/new",
        f"/console/connections/{token}",
        f"/console/connections/{token}/test",
        f"/console/connections/{token}/delete",
        f"/console/connections/{token}/grants",
        f"/console/connections/{token}/grants/{user.userid}/revoke",
        "/console/jobs/00000000-0000-0000-0000-000000000000/cancel",
        "/console/jobs/00000000-0000-0000-0000-000000000000/delete",
        "/console/sign-out",
    ]
    for path in posts:
        assert browser.post(path, {"name": "x"}, csrf=False).status_code == 403, path
    assert "kept@example.org" in _users(env)
    granted = env.owner.get(f"/v1/connection/{token}/users").get_json()
    assert [row["Username"] for row in granted] == ["kept@example.org"]
    assert browser.get("/console/users").status_code == 200  # still signed in


def test_a_post_without_a_session_is_refused(env, console_as):
    stranger = console_as(env, None)
    stranger.get("/console/")  # a sign-in form's token is not a session's
    assert stranger.post("/console/users/new", NEW_USER).status_code == 403
    assert "mallory@example.org" not in _users(env)


def test_the_sign_in_form_needs_its_token_too(env, console_as):
    browser = console_as(env, None)
    browser.get("/console/")
    form = {"username": OWNER[0], "password": OWNER[1]}
    assert browser.post("/console/", form, csrf=False).status_code == 403
    assert browser.post("/console/", form).status_code == 303
