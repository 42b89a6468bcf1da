"""Heartbeat and the JSON bodies of generic HTTP errors: never HTML, never a stack trace."""

from __future__ import annotations

from sqlalchemy import event


def test_heartbeat_is_empty_object_without_auth_or_database(env):
    statements = []
    event.listen(env.services.engine, "before_cursor_execute", lambda *a: statements.append(a))
    response = env.client.get("/admin/ok")
    assert response.status_code == 200
    assert response.get_json() == {}
    assert statements == []  # no metadata-database round trip


def test_heartbeat_is_never_flood_limited(make_env):
    env = make_env(ratelimit="1/minute", auth_ratelimit="1/minute")
    for _ in range(20):
        assert env.client.get("/admin/ok").status_code == 200


def test_unknown_path_is_json_404(env):
    response = env.client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not Found"}
    assert response.mimetype == "application/json"


def test_wrong_method_is_json_405_with_allow(env):
    response = env.client.put("/v1/auth", json={})
    assert response.status_code == 405
    assert response.get_json() == {"error": "Method Not Allowed"}
    assert "POST" in response.headers["Allow"]


def test_body_too_large_is_json_413(make_env):
    env = make_env(max_body_bytes=2048)
    response = env.client.post("/v1/auth", data="x" * 5000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "Request body too large"}


def test_unexpected_error_is_json_500_without_details(env, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret detail: password=hunter2 host=db.internal")

    monkeypatch.setattr("dbconnector.store.users.list_page", boom)
    response = env.owner.get("/v1/users")
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal Server Error"}
    assert b"hunter2" not in response.data and b"db.internal" not in response.data


def test_responses_are_not_cacheable(env):
    response = env.client.get("/admin/ok")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
