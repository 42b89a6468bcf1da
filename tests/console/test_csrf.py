"""Every state-changing console form carries its session's CSRF token: without it, or with
another session's, the answer is 403 and nothing changes."""

from __future__ import annotations

from tests.support.app import OWNER


def test_sign_out_without_this_sessions_token_changes_nothing(env, console_as):
    browser = console_as(env)
    other = console_as(env)
    assert browser.post("/console/sign-out", csrf=False).status_code == 403
    assert browser.post("/console/sign-out", {"csrf_token": other.csrf}).status_code == 403
    assert browser.get("/console/dashboard").status_code == 200  # still signed in
    assert browser.post("/console/sign-out").status_code == 303
    assert browser.get("/console/dashboard").status_code == 303


def test_the_sign_in_form_needs_its_token_too(env, console_as):
    browser = console_as(env, None)
    browser.get("/console/")
    form = {"username": OWNER[0], "password": OWNER[1]}
    assert browser.post("/console/", form, csrf=False).status_code == 403
    assert browser.post("/console/", form).status_code == 303
