"""A console session lasts only while its user may still use the console: a disable, a demotion,
a new password or a deletion ends it at once, whichever door made the change."""

from __future__ import annotations

import pytest

from dbconnector.lib.roles import Role

CHANGES = {
    "disabled": {"enabled": False},
    "demoted": {"role": int(Role.FULL)},
    "given a new password": {"password": "Another-Password-2"},
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_session_of_a_changed_admin_stops_at_once(make_env, console_as, change):
    env = make_env(cache_seconds=5.0)  # the principal cache must not delay it
    env.user(Role.ADMIN, username="admin@example.org")
    browser = console_as(env, "admin@example.org", "User-Password-1")
    assert browser.get("/console/users").status_code == 200
    answer = env.owner.patch("/v1/users/admin@example.org", CHANGES[change])
    assert answer.status_code == 200, answer.get_json()
    page = browser.get("/console/users")
    assert page.status_code == 303 and page.headers["Location"] == "/console/"
    assert browser.post("/console/users/new", {"username": "x@example.org"}).status_code == 403


def test_a_disabled_users_session_stops_even_when_disabled_in_the_console(env, console_as):
    env.user(Role.ADMIN, username="admin@example.org")
    admin = console_as(env, "admin@example.org", "User-Password-1")
    owner = console_as(env)
    users = env.owner.get("/v1/users").get_json()
    admin_id = next(u["ID"] for u in users if u["Username"] == "admin@example.org")
    form = {"username": "admin@example.org", "role": "2048", "ipaddresses": "", "ttl": ""}
    assert owner.post(f"/console/users/{admin_id}", form).status_code == 303  # Enabled unticked
    assert env.owner.get(f"/v1/users/{admin_id}").get_json()[0]["Enabled"] is False
    assert admin.get("/console/dashboard").status_code == 303


def test_a_deleted_users_session_ends(env, console_as):
    env.user(Role.ADMIN, username="admin@example.org")
    admin = console_as(env, "admin@example.org", "User-Password-1")
    assert env.owner.delete("/v1/users/admin@example.org").status_code == 200
    assert admin.get("/console/dashboard").status_code == 303


def test_pages_spend_the_users_rest_limit_and_a_flood_answers_a_page(make_env, console_as):
    env = make_env(ratelimit="4/minute")
    admin = env.user(Role.ADMIN, username="admin@example.org")
    browser = console_as(env, "admin@example.org", "User-Password-1")  # its dashboard: one
    assert browser.get("/console/users").status_code == 200
    assert admin.get(f"/v1/users/{admin.userid}").status_code == 200  # the same count: three
    assert browser.get("/console/jobs").status_code == 200
    flooded = browser.get("/console/users")
    assert flooded.status_code == 429 and int(flooded.headers["Retry-After"]) > 0
    assert flooded.mimetype == "text/html"
    assert "Too many requests: try again shortly." in flooded.get_data(as_text=True)
    assert admin.get(f"/v1/users/{admin.userid}").get_json() == {"error": "No Data"}
