"""JSON-only request bodies, security headers on every answer, CORS only for configured origins."""

from __future__ import annotations

import pytest

from tests.conftest import OWNER

LOGIN = f'{{"username": "{OWNER[0]}", "password": "{OWNER[1]}"}}'


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_body_that_is_not_json_gets_415_and_does_nothing(env, content_type):
    response = env.client.post("/v1/auth", data=LOGIN, content_type=content_type)
    assert response.status_code == 415
    assert response.get_json() == {"error": "Content-Type must be application/json"}
    before = env.owner.get("/v1/users").get_json()
    response = env.client.post(
        "/v1/users",
        data='{"username": "x@example.org", "password": "Password-123", "role": 1}',
        content_type=content_type,
        headers={"Authorization": f"Bearer {env.owner.token}"},
    )
    assert response.status_code == 415
    assert env.owner.get("/v1/users").get_json() == before


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
def test_json_content_types_are_accepted(env, content_type):
    response = env.client.post("/v1/auth", data=LOGIN, content_type=content_type)
    assert response.status_code == 200 and "authToken" in response.get_json()


def test_a_body_without_content_type_is_read_as_json(env):
    response = env.client.post("/v1/auth", data=LOGIN)
    assert response.status_code == 200 and "authToken" in response.get_json()


@pytest.mark.parametrize("path", ["/admin/ok", "/v1/users", "/nowhere"])
def test_every_answer_carries_the_security_headers(env, path):
    response = env.owner.get(path)
    assert response.mimetype == "application/json"
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # plain HTTP
    assert "Access-Control-Allow-Origin" not in headers


def test_hsts_over_https(env):
    response = env.client.get("/admin/ok", base_url="https://api.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_cors_is_off_unless_configured(env):
    response = env.client.options(
        "/v1/select/sqlite",
        headers={"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_cors_for_a_configured_origin_only(make_env):
    env = make_env(cors_origins=("https://app.example.org",))
    preflight = {"Access-Control-Request-Method": "POST"}
    good = env.client.options(
        "/v1/auth", headers={"Origin": "https://app.example.org", **preflight}
    )
    assert good.status_code == 204
    assert good.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "Authorization" in good.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in good.headers
    bad = env.client.options("/v1/auth", headers={"Origin": "https://evil.example", **preflight})
    assert "Access-Control-Allow-Origin" not in bad.headers
    assert "Access-Control-Allow-Methods" not in bad.headers
    call = env.client.post(
        "/v1/auth",
        data=LOGIN,
        content_type="application/json",
        headers={"Origin": "https://app.example.org"},
    )
    assert call.status_code == 200
    assert call.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "Origin" in call.headers.get_all("Vary")


def test_a_patch_body_that_is_not_json_gets_415_and_changes_nothing(env):
    user = env.user(1)
    before = env.owner.get(f"/v1/users/{user.userid}").get_json()
    response = env.owner.patch(
        f"/v1/users/{user.userid}", data="ttl=5m", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.get_json() == {"error": "Content-Type must be application/json"}
    assert env.owner.get(f"/v1/users/{user.userid}").get_json() == before
