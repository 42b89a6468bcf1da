"""JSON-only request bodies, security headers on every answer, CORS only for configured origins."""

from __future__ import annotations

import sqlite3

import pytest

from dbconnector.drivers.base import FETCH_ROWS
from tests.support.app import OWNER

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


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/admin/ok", 200),
        ("get", "/v1/users", 200),
        ("get", "/nowhere", 404),
        ("delete", "/admin/ok", 405),
        ("get", "/admin/metrics", 200),  # text/plain, built outside the JSON provider
        ("get", "/v1/openapi.json", 200),
    ],
)
def test_every_kind_of_answer_carries_each_header_once(env, method, path, status):
    response = getattr(env.owner, method)(path)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get_all(name) == [value], name
    assert len(response.headers.get_all("X-Request-ID")) == 1
    assert "Strict-Transport-Security" not in response.headers


def test_a_refused_body_and_a_streamed_answer_carry_the_headers(env, tmp_path):
    refused = env.client.post("/v1/auth", data=LOGIN, content_type="text/plain")
    assert refused.status_code == 415
    path = tmp_path / "big.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE big (id INTEGER PRIMARY KEY)")
        db.executemany("INSERT INTO big VALUES (?)", [(i,) for i in range(FETCH_ROWS + 10)])
    token = env.connection({"driver": "sqlite", "database": str(path)})
    streamed = env.owner.post(
        "/v1/select/sqlite", json={"token": token, "table": "big", "fields": ["id"]}
    )
    assert streamed.status_code == 200 and streamed.is_streamed
    assert len(streamed.get_json()) == FETCH_ROWS + 10
    for response in (refused, streamed):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get_all(name) == [value], name


def test_hsts_when_a_trusted_proxy_says_https(make_env):
    env = make_env(trusted_proxies=1)
    response = env.client.get("/admin/ok", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = make_env().client.get("/admin/ok", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers  # no proxy is trusted


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
